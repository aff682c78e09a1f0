// One side of the playground: one inference worker holding one model. The worker starts when a
// model is picked, stays warm while the panel is open (generations reuse the KV cache of the
// shared prompt prefix), and is shut down with the panel. A worker that dies (a native fault,
// out of memory) turns the side into an error with the worker's hint; loading again starts a
// fresh one. Statuses are reported through `onStatus`, so the page always shows the truth.
import type { QuantName } from '../engine/infer-addon';
import { InferenceClient, InferenceError, type Generation, type LoadOptions } from '../engine/infer-client';
import type { InferEvent } from '../engine/infer-protocol';
import type { LoadedInfo, PlaygroundSide, SideStatus } from '../../../webview/protocol';
import type { CatalogEntry } from './catalog';
import * as l10n from '@vscode/l10n';

export interface SideOptions {
  workerPath: string;
  onStatus(status: SideStatus): void;
  onStderr?(text: string): void;
}

export function errorInfo(e: unknown): { message: string; hint: string } {
  if (e instanceof InferenceError) return { message: e.message, hint: e.hint };
  return { message: e instanceof Error ? e.message : String(e), hint: l10n.t('See the Tuner log (Tuner: Show Log) for details.') };
}

export class Side {
  private client?: InferenceClient;
  private unlisten?: () => void;
  private loadSeq = 0;
  status: SideStatus;
  entry?: CatalogEntry;
  private readonly running = new Set<Generation>();

  constructor(
    readonly index: PlaygroundSide,
    private readonly o: SideOptions,
  ) {
    this.status = { side: index, phase: 'empty' };
  }

  private set(status: Omit<SideStatus, 'side'>): void {
    this.status = { side: this.index, ...status };
    this.o.onStatus(this.status);
  }

  /** Shows a refusal (memory, a missing file) without touching what is loaded. */
  refuse(modelId: string, quant: QuantName, problem: { message: string; hint: string } | undefined, memoryWarning?: string): void {
    this.set({ ...this.status, modelId, quant, error: problem, memoryWarning, phase: problem ? 'error' : this.status.phase });
  }

  get residentBytes(): number {
    return this.status.loaded?.residentBytes ?? 0;
  }

  get pid(): number | undefined {
    return this.client?.pid;
  }

  private ensureClient(): InferenceClient {
    if (this.client) return this.client;
    const client = new InferenceClient({ workerPath: this.o.workerPath, onStderr: this.o.onStderr });
    this.unlisten = client.onEvent((e) => this.onWorkerEvent(e));
    this.client = client;
    return client;
  }

  private onWorkerEvent(e: InferEvent): void {
    if (e.type === 'memory' && this.status.loaded && e.weight_bytes > 0) {
      this.set({ ...this.status, loaded: { ...this.status.loaded, residentBytes: e.resident_bytes } });
    } else if (e.type === 'error' && e.id === null && (e.code === 'worker_exited' || e.code === 'protocol_error' || e.code === 'worker_failed')) {
      // The worker is gone and its model with it.
      this.set({ phase: 'error', modelId: this.status.modelId, quant: this.status.quant, error: { message: e.message, hint: e.hint } });
    }
  }

  /** Loads `entry` in `quant` (the worker frees the old model first). Resolves with the new status. */
  async load(entry: CatalogEntry, quant: QuantName, contextLength?: number): Promise<SideStatus> {
    const seq = ++this.loadSeq;
    this.entry = entry;
    this.set({ phase: 'loading', modelId: entry.id, quant });
    const opts: LoadOptions = { model: entry.modelDir, quant };
    if (entry.adapterDir) opts.adapter = entry.adapterDir;
    if (contextLength !== undefined) opts.context_length = contextLength;
    try {
      const loaded = await this.ensureClient().load(opts);
      if (seq !== this.loadSeq) return this.status; // a newer load took over
      const info: LoadedInfo = {
        modelId: entry.id,
        quant: loaded.model.quant,
        loadMs: loaded.load_ms,
        residentBytes: loaded.resident_bytes,
        weightBytes: loaded.weight_bytes,
        kvCacheBytes: loaded.kv_cache_bytes,
        contextLength: loaded.model.context_length,
        kernel: loaded.model.kernel,
        architecture: loaded.model.architecture,
        chatTemplate: loaded.model.chat_template,
      };
      this.set({ phase: 'ready', modelId: entry.id, quant, loaded: info });
    } catch (e) {
      if (seq === this.loadSeq) this.set({ phase: 'error', modelId: entry.id, quant, error: errorInfo(e) });
    }
    return this.status;
  }

  /** Starts a generation on the loaded model; throws when none is loaded. */
  generate(options: Parameters<InferenceClient['generate']>[0]): Generation {
    if (this.status.phase !== 'ready' || !this.client) {
      throw new InferenceError('no_model', this.status.phase === 'loading' ? l10n.t('the model is still loading') : l10n.t('no model is loaded on this side'), l10n.t('Pick a model and press Load, then send the prompt again.'));
    }
    const g = this.client.generate(options);
    this.running.add(g);
    void g.done.then(
      () => this.running.delete(g),
      () => this.running.delete(g),
    );
    return g;
  }

  /** Stops every generation of this side within one token. */
  cancelAll(): void {
    for (const g of this.running) g.cancel();
  }

  /** Shuts the worker down; the side is empty afterwards. */
  async unload(): Promise<void> {
    this.loadSeq++;
    const client = this.client;
    this.client = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
    this.entry = undefined;
    this.set({ phase: 'empty' });
    await client?.dispose();
  }

  async dispose(): Promise<void> {
    this.loadSeq++;
    const client = this.client;
    this.client = undefined;
    this.unlisten?.();
    await client?.dispose();
  }
}
