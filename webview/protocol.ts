// Messages between the extension and its webview panels: one discriminated union per direction,
// keyed on `type`, each message carrying `v` (this protocol's version). Both sides handle them
// with an exhaustive switch; a message that fails `parseDashboardMessage` is an error shown to
// the user, never silently dropped. Pure types and checks: bundled into the webview and the host.
import type { TrainerEvent } from '../src/core/engine/protocol';
import type { RunStatus } from '../src/core/run/run-state';

export const WEBVIEW_PROTOCOL_VERSION = 1;

/** The run header of the dashboard: everything it shows that is not a chart. */
export interface RunHeader {
  id: string;
  /** Model folder name, for the title. */
  model: string;
  method: string;
  params?: number;
  trainableParams?: number;
  status: RunStatus;
  step: number;
  maxSteps: number;
  loss?: number;
  evalLoss?: number;
  tokensPerS?: number;
  etaMs?: number;
  /** Live: the buttons pause/resume/stop/save apply. */
  live: boolean;
  /** Ended with a checkpoint to continue from (stopped, interrupted): "Resume from Checkpoint" is offered. */
  canResume?: boolean;
  /** Live, but another window controls it: the controls are shown disabled, with Take Control. */
  readOnly?: boolean;
  /** Live-run notes (core/run/live-notes.ts): "controlled by another window", "not responding (…)". */
  notes?: string[];
  error?: { message: string; hint: string };
}

/** The answers to the run's sample prompts at one step, decoded by the host. */
export interface SampleRow {
  step: number;
  answers: { text: string; stop: 'eos' | 'length' }[];
}

export interface RunChoice {
  id: string;
  label: string;
}

export type HostToDashboard =
  | { v: number; type: 'init'; run: RunHeader; events: TrainerEvent[]; runs: RunChoice[]; samplePrompts?: string[]; samples?: SampleRow[] }
  | { v: number; type: 'events'; run: RunHeader; events: TrainerEvent[]; samples?: SampleRow[] }
  | { v: number; type: 'compare'; runId: string | null; label: string; events: TrainerEvent[] }
  | { v: number; type: 'error'; message: string };

export type DashboardControl = 'pause' | 'resume' | 'stop' | 'save';

export type DashboardToHost =
  | { v: number; type: 'ready' }
  | { v: number; type: 'control'; command: DashboardControl }
  | { v: number; type: 'compare'; runId: string | null }
  /** Open the run in the playground (a paused run saves a checkpoint first). */
  | { v: number; type: 'tryInPlayground' }
  /** Continue the ended run from its last checkpoint (the Resume from Checkpoint command). */
  | { v: number; type: 'resumeFromCheckpoint' }
  /** Control the run from this window (the window that controls it is gone or hung). */
  | { v: number; type: 'takeControl' };

/** What the panel keeps in getState/setState and its serializer restores. */
export interface DashboardState {
  runId: string;
  xAxis: 'step' | 'tokens';
  smoothing: number;
  compareRunId: string | null;
}

const CONTROLS: readonly DashboardControl[] = ['pause', 'resume', 'stop', 'save'];

export class WebviewProtocolError extends Error {}

/** Checks a message from the dashboard; throws WebviewProtocolError saying what is wrong. */
export function parseDashboardMessage(m: unknown): DashboardToHost {
  if (typeof m !== 'object' || m === null) throw new WebviewProtocolError(`dashboard message is not an object: ${JSON.stringify(m)}`);
  const o = m as Record<string, unknown>;
  if (o.v !== WEBVIEW_PROTOCOL_VERSION) throw new WebviewProtocolError(`dashboard message version ${String(o.v)} is not ${WEBVIEW_PROTOCOL_VERSION}; reload the window`);
  const type = o.type as DashboardToHost['type'];
  switch (type) {
    case 'ready':
      return { v: WEBVIEW_PROTOCOL_VERSION, type };
    case 'control':
      if (!CONTROLS.includes(o.command as DashboardControl)) throw new WebviewProtocolError(`unknown dashboard control ${JSON.stringify(o.command)}`);
      return { v: WEBVIEW_PROTOCOL_VERSION, type, command: o.command as DashboardControl };
    case 'compare':
      if (o.runId !== null && typeof o.runId !== 'string') throw new WebviewProtocolError('compare: runId must be a run id or null');
      return { v: WEBVIEW_PROTOCOL_VERSION, type, runId: o.runId as string | null };
    case 'tryInPlayground':
    case 'resumeFromCheckpoint':
    case 'takeControl':
      return { v: WEBVIEW_PROTOCOL_VERSION, type };
    default: {
      const never: never = type;
      throw new WebviewProtocolError(`unknown dashboard message type ${JSON.stringify(never)}`);
    }
  }
}

/** Checks a message from the host (the webview's side of the same rule). */
export function parseHostMessage(m: unknown): HostToDashboard {
  if (typeof m !== 'object' || m === null) throw new WebviewProtocolError('host message is not an object');
  const o = m as Record<string, unknown>;
  if (o.v !== WEBVIEW_PROTOCOL_VERSION) throw new WebviewProtocolError(`host message version ${String(o.v)} is not ${WEBVIEW_PROTOCOL_VERSION}`);
  const type = o.type as HostToDashboard['type'];
  switch (type) {
    case 'init':
    case 'events':
      if (typeof o.run !== 'object' || o.run === null || !Array.isArray(o.events)) throw new WebviewProtocolError(`${type}: needs run and events`);
      return m as HostToDashboard;
    case 'compare':
      if (!Array.isArray(o.events)) throw new WebviewProtocolError('compare: needs events');
      return m as HostToDashboard;
    case 'error':
      if (typeof o.message !== 'string') throw new WebviewProtocolError('error: needs message');
      return m as HostToDashboard;
    default: {
      const never: never = type;
      throw new WebviewProtocolError(`unknown host message type ${JSON.stringify(never)}`);
    }
  }
}

// ---- The playground panel (webview/playground, src/vscode/playground-panel.ts) ----
// The page names models by catalog id only, never by path: the host resolves ids against the
// catalog it built, so a message cannot make it load or open an arbitrary file.

export type PlaygroundSide = 0 | 1;
export type PlaygroundQuant = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'int8' | 'nf4';

export interface ModelChoice {
  id: string;
  kind: 'model' | 'adapter' | 'checkpoint' | 'merged';
  label: string;
  description: string;
  group: string;
  /** The folder shown in the tooltip (the adapter for adapters). */
  path: string;
  /** A PEFT adapter on a base model (merge applies). */
  adapter: boolean;
  runId?: string;
  baseId?: string;
  problem?: { message: string; hint: string };
}

export interface ExportChoice {
  path: string;
  kind: 'gguf' | 'modelfile' | 'merged';
  runId?: string;
  bytes: number;
}

export interface LoadedInfo {
  modelId: string;
  quant: PlaygroundQuant;
  loadMs: number;
  residentBytes: number;
  weightBytes: number;
  kvCacheBytes: number;
  contextLength: number;
  kernel: string;
  architecture: string;
  chatTemplate: 'override' | 'model' | 'default';
}

export interface SideStatus {
  side: PlaygroundSide;
  phase: 'empty' | 'loading' | 'ready' | 'error';
  modelId?: string;
  quant?: PlaygroundQuant;
  loaded?: LoadedInfo;
  error?: { message: string; hint: string };
  /** The memory estimate does not fit: loading waits for "load anyway". */
  memoryWarning?: string;
}

export interface GenerationStats {
  reason: 'eos' | 'stop' | 'length' | 'cancelled';
  promptTokens: number;
  cachedTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number | null;
  tokensPerS: number | null;
  totalMs: number;
  stop: string | null;
  /** For a stopped generation: from the worker reading Stop to the generation ending. */
  cancelMs?: number;
}

export interface ExportJobStatus {
  id: string;
  kind: 'merge' | 'gguf' | 'ollama';
  /** What is exported, e.g. "run 20261123-151512 · checkpoint step 40". */
  source: string;
  phase: 'running' | 'done' | 'failed' | 'cancelled';
  message: string;
  /** The file or folder written (relative to the workspace), when done. */
  out?: string;
  hint?: string;
}

export interface PlaygroundHistoryEntry {
  mode: 'chat' | 'text';
  text: string;
  system?: string;
  at: number;
}

export type HostToPlayground =
  | { v: number; type: 'init'; models: ModelChoice[]; exports: ExportChoice[]; history: PlaygroundHistoryEntry[]; sides: SideStatus[]; workspace: boolean; trusted: boolean }
  | { v: number; type: 'models'; models: ModelChoice[]; exports: ExportChoice[] }
  | { v: number; type: 'side'; status: SideStatus }
  | { v: number; type: 'prefill'; side: PlaygroundSide; genId: string; done: number; total: number }
  | { v: number; type: 'token'; side: PlaygroundSide; genId: string; text: string }
  | { v: number; type: 'done'; side: PlaygroundSide; genId: string; text: string; stats: GenerationStats }
  | { v: number; type: 'genError'; side: PlaygroundSide; genId: string; message: string; hint: string }
  | { v: number; type: 'history'; history: PlaygroundHistoryEntry[] }
  | { v: number; type: 'job'; job: ExportJobStatus }
  | { v: number; type: 'select'; picks: ({ modelId: string; quant: PlaygroundQuant } | null)[] }
  | { v: number; type: 'error'; message: string; hint?: string };

/** A prompt as the worker takes it (src/core/engine/infer-protocol.ts PromptSpec); the host checks it fully. */
export type PlaygroundPrompt = { type: 'chat'; messages: { role: 'system' | 'user' | 'assistant'; content: string }[] } | { type: 'text'; text: string };

export interface PlaygroundSampling {
  temperature: number;
  top_k: number;
  top_p: number;
  min_p: number;
  repetition_penalty: number;
  no_repeat_ngram_size: number;
  seed: number;
  max_new_tokens: number;
  stop: string[];
}

export type PlaygroundToHost =
  | { v: number; type: 'ready' }
  | { v: number; type: 'load'; side: PlaygroundSide; modelId: string; quant: PlaygroundQuant; force: boolean }
  | { v: number; type: 'unload'; side: PlaygroundSide }
  | { v: number; type: 'generate'; genId: string; requests: { side: PlaygroundSide; prompt: PlaygroundPrompt }[]; sampling: PlaygroundSampling; history: PlaygroundHistoryEntry }
  | { v: number; type: 'stop'; genId: string }
  | { v: number; type: 'copyCommand'; side: PlaygroundSide; prompt: PlaygroundPrompt; sampling: PlaygroundSampling }
  | { v: number; type: 'export'; side: PlaygroundSide; kind: 'merge' | 'gguf' | 'ollama'; ggufType: 'f16' | 'q8_0' | 'q4_0' }
  | { v: number; type: 'cancelExport'; jobId: string }
  | { v: number; type: 'openExport'; path: string }
  | { v: number; type: 'refresh' }
  | { v: number; type: 'pickFolder' }
  | { v: number; type: 'manageTrust' };

/** What the playground keeps in getState/setState and its serializer restores. */
export interface PlaygroundState {
  mode: 'chat' | 'text';
  sideBySide: boolean;
  picks: { modelId: string; quant: PlaygroundQuant }[];
  /** The models that were loaded: loaded again when the panel is restored. */
  loaded: (string | null)[];
  system: string;
  exchanges: { user: string; replies: (string | null)[]; stats?: (GenerationStats | null)[] }[];
  text: string;
  outputs: string[];
  outputStats?: (GenerationStats | null)[];
  draft: string;
  sampling: PlaygroundSampling;
  showSettings: boolean;
}

const SIDES: readonly unknown[] = [0, 1];
const QUANTS: readonly unknown[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'int8', 'nf4'];
const EXPORT_KINDS: readonly unknown[] = ['merge', 'gguf', 'ollama'];
const GGUF_TYPES: readonly unknown[] = ['f16', 'q8_0', 'q4_0'];
const SAMPLING_NUMBERS = ['temperature', 'top_k', 'top_p', 'min_p', 'repetition_penalty', 'no_repeat_ngram_size', 'seed', 'max_new_tokens'] as const;

function need(ok: boolean, what: string): void {
  if (!ok) throw new WebviewProtocolError(`playground message: ${what}`);
}

const isText = (x: unknown, max = 1_000_000): x is string => typeof x === 'string' && x.length <= max;

function checkPrompt(p: unknown): void {
  need(typeof p === 'object' && p !== null, 'prompt must be an object');
  const o = p as Record<string, unknown>;
  if (o.type === 'text') return need(isText(o.text), 'prompt.text must be a string');
  need(o.type === 'chat' && Array.isArray(o.messages) && o.messages.length <= 1000, 'prompt must be {type: "chat", messages} or {type: "text", text}');
  for (const m of o.messages as unknown[]) {
    const mo = m as Record<string, unknown>;
    need(typeof m === 'object' && m !== null && ['system', 'user', 'assistant'].includes(mo.role as string) && isText(mo.content), 'each message needs a role (system, user, assistant) and content');
  }
}

function checkSampling(s: unknown): void {
  need(typeof s === 'object' && s !== null, 'sampling must be an object');
  const o = s as Record<string, unknown>;
  for (const k of SAMPLING_NUMBERS) need(typeof o[k] === 'number', `sampling.${k} must be a number`);
  need(Array.isArray(o.stop) && (o.stop as unknown[]).every((x) => isText(x, 1000)), 'sampling.stop must be a list of strings');
}

function checkHistory(h: unknown): void {
  const o = h as Record<string, unknown>;
  need(typeof h === 'object' && h !== null && (o.mode === 'chat' || o.mode === 'text') && isText(o.text) && typeof o.at === 'number' && (o.system === undefined || isText(o.system)), 'history must be {mode, text, at, system?}');
}

/** Checks a message from the playground page; throws WebviewProtocolError saying what is wrong. */
export function parsePlaygroundMessage(m: unknown): PlaygroundToHost {
  need(typeof m === 'object' && m !== null, `not an object: ${JSON.stringify(m)}`);
  const o = m as Record<string, unknown>;
  need(o.v === WEBVIEW_PROTOCOL_VERSION, `version ${String(o.v)} is not ${WEBVIEW_PROTOCOL_VERSION}; reload the window`);
  const type = o.type as PlaygroundToHost['type'];
  switch (type) {
    case 'ready':
    case 'refresh':
    case 'pickFolder':
    case 'manageTrust':
      break;
    case 'load':
      need(SIDES.includes(o.side) && isText(o.modelId, 10_000) && QUANTS.includes(o.quant) && typeof o.force === 'boolean', 'load needs side (0 or 1), modelId, quant and force');
      break;
    case 'unload':
      need(SIDES.includes(o.side), 'unload needs side 0 or 1');
      break;
    case 'generate':
      need(isText(o.genId, 100) && Array.isArray(o.requests) && o.requests.length >= 1 && o.requests.length <= 2, 'generate needs genId and one or two requests');
      for (const r of o.requests as Record<string, unknown>[]) {
        need(typeof r === 'object' && r !== null && SIDES.includes(r.side), 'each request needs side 0 or 1');
        checkPrompt(r.prompt);
      }
      checkSampling(o.sampling);
      checkHistory(o.history);
      break;
    case 'stop':
      need(isText(o.genId, 100), 'stop needs genId');
      break;
    case 'copyCommand':
      need(SIDES.includes(o.side), 'copyCommand needs side 0 or 1');
      checkPrompt(o.prompt);
      checkSampling(o.sampling);
      break;
    case 'export':
      need(SIDES.includes(o.side) && EXPORT_KINDS.includes(o.kind) && GGUF_TYPES.includes(o.ggufType), 'export needs side, kind (merge, gguf, ollama) and ggufType (f16, q8_0, q4_0)');
      break;
    case 'cancelExport':
      need(isText(o.jobId, 100), 'cancelExport needs jobId');
      break;
    case 'openExport':
      need(isText(o.path, 10_000), 'openExport needs path');
      break;
    default: {
      const never: never = type;
      throw new WebviewProtocolError(`unknown playground message type ${JSON.stringify(never)}`);
    }
  }
  return m as PlaygroundToHost;
}

const HOST_TYPES: readonly HostToPlayground['type'][] = ['init', 'models', 'side', 'prefill', 'token', 'done', 'genError', 'history', 'job', 'select', 'error'];

/** Checks a message from the host on the playground page: its version and a known type. */
export function parsePlaygroundHostMessage(m: unknown): HostToPlayground {
  if (typeof m !== 'object' || m === null) throw new WebviewProtocolError('host message is not an object');
  const o = m as Record<string, unknown>;
  if (o.v !== WEBVIEW_PROTOCOL_VERSION) throw new WebviewProtocolError(`host message version ${String(o.v)} is not ${WEBVIEW_PROTOCOL_VERSION}`);
  if (!HOST_TYPES.includes(o.type as HostToPlayground['type'])) throw new WebviewProtocolError(`unknown host message type ${JSON.stringify(o.type)}`);
  return m as HostToPlayground;
}
