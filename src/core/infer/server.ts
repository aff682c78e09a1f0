// The inference worker's request handling, apart from the process it runs in: lines in, event
// lines out. Load, generate and unload run one at a time in arrival order (a worker holds one
// model, and its KV cache serves one conversation); cancel and shutdown act at once. Every
// request gets an answer: `loaded`, `done` or `unloaded`, or an `error` naming it.
import {
  formatInferEvent,
  InferProtocolError,
  parseInferRequest,
  type GenerateRequest,
  type InferEventBody,
  type LoadRequest,
  type UnloadRequest,
} from '../engine/infer-protocol';
import { errorEvent, InferFailure } from './errors';
import { generate } from './generation-loop';
import { ModelSlot, type EngineProbe } from './model-slot';
import * as l10n from '@vscode/l10n';

type Job = LoadRequest | GenerateRequest | UnloadRequest;

const now = (): number => performance.now();
const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class InferenceServer {
  private readonly queue: Job[] = [];
  private slot?: ModelSlot;
  /** Ids of load / generate / unload requests not answered yet. */
  private readonly open = new Set<string>();
  /** Generate ids whose cancel was read, with when. */
  private readonly cancels = new Map<string, number>();
  private pumping?: Promise<void>;
  private closing = false;

  constructor(
    private readonly write: (line: string) => void,
    private readonly engine: EngineProbe,
  ) {}

  emit(event: InferEventBody): void {
    this.write(formatInferEvent(event));
  }

  sendReady(): void {
    this.emit({ type: 'ready', pid: process.pid, engine_version: this.engine.addon?.version() ?? null, inference: typeof this.engine.addon?.inferLoad === 'function' });
  }

  /** One stdin line. */
  onLine(line: string): void {
    if (line.trim() === '') return;
    let request;
    try {
      request = parseInferRequest(line);
    } catch (e) {
      const pe = e instanceof InferProtocolError ? e : new InferProtocolError(String(e), line);
      const hint = pe.code === 'unknown_quant' ? l10n.t('Use one of f32, f16, bf16, q8_0, q4_0, int8, nf4.') : l10n.t('Fix the request; docs/inference-protocol.md lists every request and field.');
      // An id already in use must not be answered for: the reply would look like the other request's.
      this.emit({ type: 'error', id: pe.id !== null && !this.open.has(pe.id) ? pe.id : null, code: pe.code, message: pe.message, hint });
      return;
    }
    switch (request.type) {
      case 'cancel':
        if (this.open.has(request.id) && !this.cancels.has(request.id)) this.cancels.set(request.id, now());
        return;
      case 'shutdown':
        void this.shutdown();
        return;
      default:
        if (this.closing) {
          this.emit({ type: 'error', id: request.id, code: 'shutting_down', message: l10n.t('{0} {1} arrived after shutdown', request.type, request.id), hint: l10n.t('Start a new worker.') });
          return;
        }
        if (this.open.has(request.id)) {
          this.emit({ type: 'error', id: null, code: 'bad_request', message: l10n.t('request id "{0}" is already in use by a request not answered yet', request.id), hint: l10n.t('Give every request its own id.') });
          return;
        }
        this.open.add(request.id);
        this.queue.push(request);
        this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
    }
  }

  /** End of input: runs what is queued to its end, then frees the model. */
  async drain(): Promise<void> {
    while (this.pumping) await this.pumping;
    this.closing = true;
    this.slot?.free();
    this.slot = undefined;
  }

  /** Cancels what runs, answers what waits, frees the model. Resolves when nothing runs any more. */
  async shutdown(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) {
      if (job.type === 'generate') {
        this.cancels.set(job.id, now());
        await this.run(job); // answered "done", reason cancelled
      } else {
        this.answerError(job.id, new InferFailure('shutting_down', l10n.t('{0} {1} was not run: the worker is shutting down', job.type, job.id), l10n.t('Start a new worker.')));
      }
    }
    for (const id of this.open) this.cancels.set(id, now());
    await this.pumping;
    this.slot?.free();
    this.slot = undefined;
  }

  private async pump(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) await this.run(job);
  }

  private answerError(id: string, e: unknown): void {
    this.open.delete(id);
    this.cancels.delete(id);
    this.emit(errorEvent(e, id));
  }

  private async run(job: Job): Promise<void> {
    try {
      if (job.type === 'load') this.load(job);
      else if (job.type === 'unload') this.unload(job);
      else await this.generate(job);
    } catch (e) {
      this.answerError(job.id, e);
    } finally {
      this.open.delete(job.id);
      this.cancels.delete(job.id);
    }
  }

  private load(req: LoadRequest): void {
    // One model per worker: the old one goes first, so two never sit in memory together.
    this.slot?.free();
    this.slot = undefined;
    const { slot, loaded } = ModelSlot.load(this.engine, req, now);
    this.slot = slot;
    this.emit(loaded);
  }

  private unload(req: UnloadRequest): void {
    this.slot?.free();
    this.slot = undefined;
    this.emit({ type: 'unloaded', id: req.id });
    this.emitMemory(req.id);
  }

  private async generate(req: GenerateRequest): Promise<void> {
    const start = now();
    const cancelledAt = () => this.cancels.get(req.id);
    if (cancelledAt() !== undefined) {
      const zero = { prompt_tokens: 0, cached_tokens: 0, prompt_ms: 0, prompt_tokens_per_s: null, time_to_first_token_ms: null, generated_tokens: 0, decode_ms: 0, tokens_per_s: null, total_ms: 0, cancel_ms: Math.max(0, now() - (cancelledAt() as number)) };
      this.emit({ type: 'done', id: req.id, reason: 'cancelled', text: '', stop: null, timings: zero });
      return;
    }
    const slot = this.slot;
    if (!slot) throw new InferFailure('no_model', l10n.t('generate {0}: no model is loaded', req.id), l10n.t('Send a load request first (a crashed worker forgets its model: load it again).'));
    const prompt = slot.builder.build(req.prompt);
    try {
      await generate(slot.generationModel(), req, prompt, { emit: (e) => this.emit(e), cancelledAt, pause, now }, start);
    } catch (e) {
      // A native call failed part-way: what the cache holds is unknown.
      slot.cache.clear();
      throw e;
    }
    this.emitMemory(req.id);
  }

  private emitMemory(id: string | null): void {
    const info = this.slot?.info;
    this.emit({
      type: 'memory',
      id,
      resident_bytes: process.memoryUsage.rss(),
      peak_resident_bytes: process.resourceUsage().maxRSS * 1024,
      weight_bytes: info?.weightBytes ?? 0,
      kv_cache_bytes: info?.kvCacheBytes ?? 0,
    });
  }
}
