// The playground's logic, apart from VS Code: the page's messages in, host messages out. It
// keeps the catalog (the page names models by its ids), the two sides, the generations in
// flight and the export jobs. The VS Code panel (src/vscode/playground-panel.ts) only carries
// messages and supplies what needs the editor (clipboard, dialogs, trust, notifications).
import * as os from 'node:os';

import type { QuantName } from '../engine/infer-addon';
import { formatInferRequest, InferProtocolError, parseInferRequest, type PromptSpec } from '../engine/infer-protocol';
import { readModelSpec } from '../model/spec';
import {
  WEBVIEW_PROTOCOL_VERSION,
  type ExportChoice,
  type HostToPlayground,
  type ModelChoice,
  type PlaygroundPrompt,
  type PlaygroundSampling,
  type PlaygroundSide,
  type PlaygroundToHost,
} from '../../../webview/protocol';
import { InferenceError } from '../engine/infer-client';
import { adapterProblem, buildCatalog, modelFolderProblem, type Catalog, type CatalogEntry } from './catalog';
import { ExportError, ExportJob, planExport, type ExportPlan, type ExportResult, type GgufType } from './export-job';
import { renderCommand } from './command-render';
import { addToHistory, readHistory, type HistoryEntry } from './history';
import { estimateLoad, memoryWarning } from './memory';
import { samplingErrors, toSamplingRequest } from './sampling';
import { errorInfo, Side } from './side';
import * as l10n from '@vscode/l10n';

const V = WEBVIEW_PROTOCOL_VERSION;

/** What the controller needs from the editor around it. */
export interface PlaygroundHost {
  post(m: HostToPlayground): void;
  workspaceDir(): string | undefined;
  trusted(): boolean;
  readHistory(): unknown;
  writeHistory(h: HistoryEntry[]): void;
  /** Model folders the user picked by hand (kept per workspace). */
  extraModelDirs(): string[];
  addModelDir(dir: string): void;
  log(message: string): void;
  copyToClipboard(text: string): Promise<void>;
  revealPath(p: string): Promise<void>;
  pickFolder(): Promise<string | undefined>;
  manageTrust(): Promise<void>;
  /** A finished export: the editor offers to open its folder (and `ollama create`). */
  exportFinished(plan: ExportPlan, result: ExportResult): void;
}

export interface PlaygroundDeps {
  /** dist/infer-worker.js (or out/src/core/infer/worker-main.js in tests). */
  workerPath: string;
  /** tuner-export; thrown errors become the job's message. */
  exportBinary(): string;
  /** tuner-generate, for "copy as command". */
  generateBinary(): string;
  /** Writes an Ollama export's Modelfile; returns its path. */
  writeModelfile?(plan: ExportPlan): string;
  /** Memory a model may take now (default: os.freemem()). */
  availableMemory?(): number;
  cacheDir?: string;
  /** Renders a prompt to ids for "copy as command" (default: the model's tokenizer and template). */
  renderPrompt?(entry: CatalogEntry, prompt: PromptSpec): { ids: number[]; stopIds: number[] };
}

const UNTRUSTED = { get message() { return l10n.t('This workspace is in Restricted Mode'); }, get hint() { return l10n.t('The playground runs Tuner\'s native engine on the model files; trust the workspace (Manage Workspace Trust) to use it.'); } };

export class PlaygroundController {
  private catalog: Catalog = { entries: [], exports: [], problems: [] };
  readonly sides: [Side, Side];
  private readonly generations = new Map<string, { side: PlaygroundSide; cancel(): void }[]>();
  private readonly jobs = new Map<string, ExportJob>();
  private jobSeq = 0;
  private disposed = false;

  constructor(
    private readonly host: PlaygroundHost,
    private readonly deps: PlaygroundDeps,
  ) {
    const side = (i: PlaygroundSide) =>
      new Side(i, {
        workerPath: deps.workerPath,
        onStatus: (status) => this.post({ v: V, type: 'side', status }),
        onStderr: (t) => host.log(`[playground ${i === 0 ? 'A' : 'B'}] ${t.trimEnd()}`),
      });
    this.sides = [side(0), side(1)];
  }

  private post(m: HostToPlayground): void {
    if (!this.disposed) this.host.post(m);
  }

  /** Rebuilds the catalog from disk; logs what could not be read. */
  refreshCatalog(): Catalog {
    this.catalog = buildCatalog({ workspaceDir: this.host.workspaceDir(), cacheDir: this.deps.cacheDir, extraModelDirs: this.host.extraModelDirs() });
    for (const p of this.catalog.problems) this.host.log(`playground: ${p}`);
    return this.catalog;
  }

  models(): { models: ModelChoice[]; exports: ExportChoice[] } {
    return {
      models: this.catalog.entries.map((e) => ({
        id: e.id,
        kind: e.kind,
        label: e.label,
        description: e.description,
        group: e.group,
        path: e.adapterDir ?? e.modelDir,
        adapter: e.adapterDir !== undefined,
        runId: e.runId,
        baseId: e.baseId,
        problem: e.problem,
      })),
      exports: this.catalog.exports.map((x) => ({ path: x.path, kind: x.kind, runId: x.runId, bytes: x.bytes })),
    };
  }

  entry(id: string): CatalogEntry | undefined {
    return this.catalog.entries.find((e) => e.id === id) ?? this.refreshCatalog().entries.find((e) => e.id === id);
  }

  /** Handles one (already validated) message from the page. */
  async handle(m: PlaygroundToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.refreshCatalog();
        this.post({ v: V, type: 'init', ...this.models(), history: readHistory(this.host.readHistory()), sides: this.sides.map((s) => s.status), workspace: this.host.workspaceDir() !== undefined, trusted: this.host.trusted() });
        return;
      case 'refresh':
        this.refreshCatalog();
        this.post({ v: V, type: 'models', ...this.models() });
        return;
      case 'load':
        await this.load(m.side, m.modelId, m.quant, m.force);
        return;
      case 'unload':
        await this.sides[m.side].unload();
        return;
      case 'generate':
        await this.generate(m.genId, m.requests, m.sampling, m.history);
        return;
      case 'stop':
        for (const g of this.generations.get(m.genId) ?? []) g.cancel();
        return;
      case 'copyCommand':
        await this.copyCommand(m.side, m.prompt, m.sampling);
        return;
      case 'export':
        this.startExport(m.side, m.kind, m.ggufType);
        return;
      case 'cancelExport':
        this.jobs.get(m.jobId)?.cancel();
        return;
      case 'openExport': {
        // Only a path Tuner listed or wrote: the page cannot name an arbitrary one.
        const known = this.catalog.exports.some((x) => x.path === m.path) || [...this.jobs.values()].some((j) => j.plan.out === m.path);
        if (!known) throw new Error(l10n.t('{0} is not an export the playground knows', m.path));
        await this.host.revealPath(m.path);
        return;
      }
      case 'pickFolder': {
        const dir = await this.host.pickFolder();
        if (!dir) return;
        const problem = modelFolderProblem(dir);
        if (problem) {
          this.post({ v: V, type: 'error', message: problem.message, hint: problem.hint });
          return;
        }
        this.host.addModelDir(dir);
        this.refreshCatalog();
        this.post({ v: V, type: 'models', ...this.models() });
        this.post({ v: V, type: 'select', picks: [{ modelId: `model:${dir}`, quant: 'f32' }, null] });
        return;
      }
      case 'manageTrust':
        await this.host.manageTrust();
        return;
      default: {
        const never: never = m;
        throw new Error(l10n.t('unhandled playground message {0}', String(JSON.stringify(never))));
      }
    }
  }

  private refuseUntrusted(side?: PlaygroundSide): boolean {
    if (this.host.trusted()) return false;
    if (side !== undefined) this.sides[side].refuse(this.sides[side].status.modelId ?? '', this.sides[side].status.quant ?? 'f32', UNTRUSTED);
    else this.post({ v: V, type: 'error', ...UNTRUSTED });
    return true;
  }

  async load(side: PlaygroundSide, modelId: string, quant: QuantName, force: boolean): Promise<void> {
    if (this.refuseUntrusted(side)) return;
    const s = this.sides[side];
    const entry = this.entry(modelId);
    if (!entry) {
      s.refuse(modelId, quant, { message: l10n.t('this model is no longer in the list (it was moved or deleted)'), hint: l10n.t('Refresh the list and pick another model.') });
      return;
    }
    // Checked again now: a checkpoint may have been deleted since the list was made.
    const problem = entry.adapterDir ? adapterProblem(entry.adapterDir, entry.modelDir) : modelFolderProblem(entry.modelDir);
    if (problem) {
      s.refuse(modelId, quant, problem);
      return;
    }
    if (!force) {
      try {
        const estimate = estimateLoad(readModelSpec(entry.modelDir), quant);
        const available = (this.deps.availableMemory?.() ?? os.freemem()) + s.residentBytes;
        const warning = memoryWarning(estimate, available, quant);
        if (warning) {
          s.refuse(modelId, quant, undefined, warning);
          return;
        }
      } catch (e) {
        s.refuse(modelId, quant, errorInfo(e));
        return;
      }
    }
    await s.load(entry, quant);
  }

  /** The worker's generate request for `prompt`, checked by the worker protocol's own parser. */
  private request(genId: string, prompt: PlaygroundPrompt, sampling: PlaygroundSampling): { prompt: PromptSpec; max_new_tokens: number; stop?: string[]; sampling: ReturnType<typeof toSamplingRequest> } {
    const errors = Object.values(samplingErrors(sampling));
    if (errors.length > 0) throw new InferenceError('bad_request', errors.join('; '), l10n.t('Fix the highlighted sampling settings.'));
    const body = { prompt, max_new_tokens: sampling.max_new_tokens, sampling: toSamplingRequest(sampling), ...(sampling.stop.length > 0 ? { stop: sampling.stop } : {}) };
    try {
      parseInferRequest(formatInferRequest({ type: 'generate', id: genId, ...body }));
    } catch (e) {
      throw new InferenceError('bad_request', e instanceof InferProtocolError ? e.message : String(e), l10n.t('The prompt or a setting is not what the inference worker accepts.'));
    }
    return body as ReturnType<PlaygroundController['request']>;
  }

  async generate(genId: string, requests: { side: PlaygroundSide; prompt: PlaygroundPrompt }[], sampling: PlaygroundSampling, history: HistoryEntry): Promise<void> {
    if (this.refuseUntrusted()) {
      for (const r of requests) this.post({ v: V, type: 'genError', side: r.side, genId, ...UNTRUSTED });
      return;
    }
    const h = addToHistory(readHistory(this.host.readHistory()), history);
    this.host.writeHistory(h);
    this.post({ v: V, type: 'history', history: h });
    const running: { side: PlaygroundSide; cancel(): void }[] = [];
    this.generations.set(genId, running);
    // Both sides start before either is awaited: they generate together, in two processes.
    const all = requests.map(async ({ side, prompt }) => {
      try {
        const g = this.sides[side].generate(this.request(genId, prompt, sampling));
        running.push({ side, cancel: () => g.cancel() });
        for await (const e of g) {
          if (e.type === 'token') this.post({ v: V, type: 'token', side, genId, text: e.text });
          else this.post({ v: V, type: 'prefill', side, genId, done: e.done, total: e.total });
        }
        const d = await g.done;
        const t = d.timings;
        this.post({
          v: V,
          type: 'done',
          side,
          genId,
          text: d.text,
          stats: { reason: d.reason, promptTokens: t.prompt_tokens, cachedTokens: t.cached_tokens, generatedTokens: t.generated_tokens, timeToFirstTokenMs: t.time_to_first_token_ms, tokensPerS: t.tokens_per_s, totalMs: t.total_ms, stop: d.stop, ...(t.cancel_ms !== undefined ? { cancelMs: t.cancel_ms } : {}) },
        });
      } catch (e) {
        this.post({ v: V, type: 'genError', side, genId, ...errorInfo(e) });
      }
    });
    await Promise.all(all);
    this.generations.delete(genId);
  }

  /** The tuner-generate line for the prompt on `side` (also copied to the clipboard). */
  async copyCommand(side: PlaygroundSide, prompt: PlaygroundPrompt, sampling: PlaygroundSampling): Promise<string | undefined> {
    const s = this.sides[side];
    const entry = s.entry;
    if (s.status.phase !== 'ready' || !entry) {
      this.post({ v: V, type: 'error', message: l10n.t('Load a model first'), hint: l10n.t('The command line names the loaded model, its format and the prompt\'s token ids.') });
      return undefined;
    }
    const line = renderCommand(entry, s.status.quant ?? 'f32', prompt, sampling, this.deps);
    await this.host.copyToClipboard(line);
    return line;
  }

  startExport(side: PlaygroundSide, kind: 'merge' | 'gguf' | 'ollama', ggufType: GgufType): ExportJob | undefined {
    if (this.refuseUntrusted()) return undefined;
    const id = `export-${++this.jobSeq}`;
    const s = this.sides[side];
    const entry = s.status.modelId ? this.entry(s.status.modelId) : undefined;
    const fail = (message: string, hint: string) => this.post({ v: V, type: 'job', job: { id, kind, source: entry?.label ?? l10n.t('no model'), phase: 'failed', message, hint } });
    if (!entry) {
      fail(l10n.t('pick a model on this side first'), l10n.t('Merge and export act on the model picked on the side whose button you press.'));
      return undefined;
    }
    let plan: ExportPlan;
    let binary: string;
    try {
      plan = planExport(entry, kind, ggufType, this.host.workspaceDir());
      binary = this.deps.exportBinary();
    } catch (e) {
      const err = e instanceof ExportError ? e : new ExportError('export_failed', (e as Error).message, l10n.t('See the Tuner log.'));
      fail(err.message, err.hint);
      return undefined;
    }
    const job = new ExportJob({ binary, id, plan, workspaceDir: this.host.workspaceDir()!, writeModelfile: this.deps.writeModelfile, onStatus: (st) => this.post({ v: V, type: 'job', job: st }) });
    this.jobs.set(id, job);
    this.host.log(`playground: ${kind} ${plan.source} -> ${plan.out}`);
    job.result.then(
      (result) => {
        this.refreshCatalog();
        this.post({ v: V, type: 'models', ...this.models() });
        this.host.exportFinished(plan, result);
      },
      (e: unknown) => this.host.log(`playground: ${kind} ${plan.source} ended: ${(e as Error).message}`),
    );
    return job;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const j of this.jobs.values()) j.cancel();
    await Promise.all(this.sides.map((s) => s.dispose()));
  }
}
