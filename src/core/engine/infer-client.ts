// Runs the inference worker (src/core/infer/worker-main.ts) as a child process and speaks its
// protocol (infer-protocol.ts): typed requests, token streams, cancel, dispose. The worker is
// forked, never loaded here, so a native fault or an out-of-memory ends only the child: every
// request waiting on it is rejected with a `worker_exited` error naming the exit code or
// signal, listeners get the same error event, and the next request starts a fresh worker.
import { fork, type ChildProcess } from 'node:child_process';
import * as readline from 'node:readline';

import {
  formatInferRequest,
  INFER_PROTOCOL_VERSION,
  InferProtocolError,
  parseInferEvent,
  type DoneEvent,
  type GenerateRequest,
  type InferErrorEvent,
  type InferEvent,
  type InferRequestBody,
  type LoadedEvent,
  type LoadRequest,
  type PrefillEvent,
  type ReadyEvent,
  type TokenEvent,
} from './infer-protocol';
import * as l10n from '@vscode/l10n';
import { l10nEnv } from '../l10n-bundle';

/** A failed request or a lost worker: the code, message and hint of the error event. */
export class InferenceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
    /** The request it answers, null for a worker-wide failure. */
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'InferenceError';
  }

  static from(e: InferErrorEvent): InferenceError {
    return new InferenceError(e.code, e.message, e.hint, e.id);
  }
}

/**
 * Variables the worker may see: where temporary files go, how libraries are found (CUDA later),
 * Tuner's own engine switches. Nothing else of the host's environment (API keys, tokens) is passed.
 */
export const WORKER_ENV_PASS_THROUGH = ['PATH', 'TMPDIR', 'TEMP', 'TMP', 'SystemRoot', 'LD_LIBRARY_PATH', 'CUDA_VISIBLE_DEVICES', 'TUNER_CPU_LIMIT'];

/** The worker's environment: the pass-through variables, `extra`, and ELECTRON_RUN_AS_NODE under Electron (the VS Code extension host). */
export function workerEnv(parent: NodeJS.ProcessEnv = process.env, extra: NodeJS.ProcessEnv = {}, electron = process.versions.electron !== undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of WORKER_ENV_PASS_THROUGH) if (parent[k] !== undefined) env[k] = parent[k];
  // process.execPath is the editor's own binary there; this makes it run the script as Node.
  if (electron) env.ELECTRON_RUN_AS_NODE = '1';
  return { ...env, ...extra };
}

export interface InferenceClientOptions {
  /** dist/infer-worker.js (bundled), or out/src/core/infer/worker-main.js (tests). */
  workerPath: string;
  /** Variables added to the worker's environment (see workerEnv). */
  env?: NodeJS.ProcessEnv;
  /** The Node.js (or Electron) binary; default process.execPath. */
  execPath?: string;
  /** The worker's stderr (its log for humans), as it arrives. */
  onStderr?: (text: string) => void;
  /** How long dispose() waits for a clean exit before SIGKILL. */
  shutdownGraceMs?: number;
}

export type LoadOptions = Omit<LoadRequest, 'version' | 'type' | 'id'>;
export type GenerateOptions = Omit<GenerateRequest, 'version' | 'type' | 'id'>;
export type StreamEvent = TokenEvent | PrefillEvent;

/** One generation in flight: iterate it for tokens (and prefill progress), await `done` for the end. */
export interface Generation extends AsyncIterable<StreamEvent> {
  readonly id: string;
  /** The `done` event; rejects with an InferenceError when the request fails or the worker dies. */
  readonly done: Promise<DoneEvent>;
  /** Stops it within one token; `done` then resolves with reason "cancelled". */
  cancel(): void;
}

interface Pending {
  onEvent(e: InferEvent): void;
  fail(e: InferenceError): void;
}

const STDERR_TAIL_CHARS = 4000;

/** One worker process and its open requests. */
class WorkerProcess {
  readonly ready: Promise<ReadyEvent>;
  readonly exited: Promise<void>;
  readonly pending = new Map<string, Pending>();
  private stderrTail = '';
  private ended = false;

  constructor(
    readonly child: ChildProcess,
    private readonly broadcast: (e: InferEvent) => void,
    onStderr: ((text: string) => void) | undefined,
  ) {
    let resolveReady!: (e: ReadyEvent) => void;
    let rejectReady!: (e: InferenceError) => void;
    this.ready = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
    this.ready.catch(() => undefined); // observed by whoever awaits it
    this.pending.set('\0ready', { onEvent: (e) => e.type === 'ready' && resolveReady(e), fail: rejectReady });

    child.stdin?.on('error', () => undefined); // EPIPE after the worker died: the exit reports it
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
      onStderr?.(text);
    });
    const lines = readline.createInterface({ input: child.stdout!, crlfDelay: Infinity });
    lines.on('line', (line) => this.onLine(line));
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        this.end(new InferenceError('worker_failed', l10n.t('the inference worker could not start: {0}', err.message), l10n.t('Check that the extension is installed completely (dist/infer-worker.js).')));
        resolve();
      });
      child.once('exit', (code, signal) => {
        const how = signal ? l10n.t('was killed by {0}', signal) : l10n.t('exited with code {0}', String(code));
        const lines = this.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean).slice(-10);
        const log = lines.length ? l10n.t(' Its last log lines: {0}', lines.join(' | ').slice(-1200)) : '';
        this.end(new InferenceError('worker_exited', l10n.t('the inference worker {0}.{1}', how, log), l10n.t('A native fault or running out of memory ends the worker, never the editor; load the model again (a smaller context, a quantized format or a smaller model needs less memory).')));
        resolve();
      });
    });
  }

  get alive(): boolean {
    return !this.ended;
  }

  send(body: InferRequestBody): void {
    if (this.ended || !this.child.stdin?.writable) throw new InferenceError('worker_exited', l10n.t('the inference worker is not running'), l10n.t('Send the request again: a new worker starts.'));
    this.child.stdin.write(formatInferRequest(body));
  }

  /** Rejects everything open with `error` and tells the listeners, once. */
  private end(error: InferenceError): void {
    if (this.ended) return;
    this.ended = true;
    const open = [...this.pending.values()];
    this.pending.clear();
    for (const p of open) p.fail(error);
    this.broadcast({ version: INFER_PROTOCOL_VERSION, type: 'error', id: null, code: error.code, message: error.message, hint: error.hint });
  }

  private onLine(line: string): void {
    if (this.ended || line.trim() === '') return;
    let event: InferEvent;
    try {
      event = parseInferEvent(line);
    } catch (e) {
      // A worker we cannot understand must not keep running unobserved.
      const pe = e instanceof InferProtocolError ? e : new InferProtocolError(String(e), line);
      this.end(new InferenceError('protocol_error', l10n.t('the inference worker sent a line this extension cannot read: {0}', pe.message), l10n.t('The worker and the extension come from different builds; rebuild with `npm run build` or reinstall.')));
      this.child.kill('SIGKILL');
      return;
    }
    this.broadcast(event);
    const id = event.type === 'ready' ? '\0ready' : event.id;
    if (id !== null) this.pending.get(id)?.onEvent(event);
  }
}

/** A queue of stream events that an async iterator drains. */
class EventStream implements AsyncIterable<StreamEvent> {
  private readonly buffered: StreamEvent[] = [];
  private waiting?: { resolve: (r: IteratorResult<StreamEvent>) => void; reject: (e: unknown) => void };
  private finished = false;
  private error?: unknown;

  push(e: StreamEvent): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value: e, done: false });
    } else this.buffered.push(e);
  }

  end(error?: unknown): void {
    this.finished = true;
    this.error = error;
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return;
    if (error === undefined) w.resolve({ value: undefined, done: true });
    else w.reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    return {
      next: () => {
        const e = this.buffered.shift();
        if (e) return Promise.resolve({ value: e, done: false });
        if (this.finished) return this.error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.error);
        return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
      },
    };
  }
}

export class InferenceClient {
  private worker?: WorkerProcess;
  private readonly listeners = new Set<(e: InferEvent) => void>();
  private nextId = 1;
  private starts = 0;
  private disposed = false;

  constructor(private readonly options: InferenceClientOptions) {}

  /** Every event of every worker this client runs, and an `error` (id null) when one ends unexpectedly. Returns the unsubscribe. */
  onEvent(listener: (e: InferEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The running worker's process id. */
  get pid(): number | undefined {
    return this.worker?.alive ? this.worker.child.pid : undefined;
  }

  /** Workers started after the first (each one after a worker ended). */
  get restarts(): number {
    return Math.max(0, this.starts - 1);
  }

  /** Starts the worker if none runs; resolves with its `ready` event. */
  start(): Promise<ReadyEvent> {
    return this.ensureWorker().ready;
  }

  /** Loads a model (replacing the loaded one). */
  async load(options: LoadOptions): Promise<LoadedEvent> {
    const w = this.ensureWorker();
    await w.ready;
    const id = `load-${this.nextId++}`;
    return new Promise<LoadedEvent>((resolve, reject) => {
      w.pending.set(id, {
        onEvent: (e) => {
          if (e.type === 'loaded') resolve(e);
          else if (e.type === 'error') reject(InferenceError.from(e));
          else return;
          w.pending.delete(id);
        },
        fail: reject,
      });
      this.sendOrFail(w, id, { type: 'load', id, ...options });
    });
  }

  /** Frees the loaded model (the worker keeps running). */
  async unload(): Promise<void> {
    const w = this.worker;
    if (!w?.alive) return;
    await w.ready;
    const id = `unload-${this.nextId++}`;
    return new Promise<void>((resolve, reject) => {
      w.pending.set(id, {
        onEvent: (e) => {
          if (e.type === 'unloaded') resolve();
          else if (e.type === 'error') reject(InferenceError.from(e));
          else return;
          w.pending.delete(id);
        },
        fail: reject,
      });
      this.sendOrFail(w, id, { type: 'unload', id });
    });
  }

  /** Starts a generation; tokens stream through the returned object. */
  generate(options: GenerateOptions): Generation {
    const w = this.ensureWorker();
    const id = `gen-${this.nextId++}`;
    const stream = new EventStream();
    let settle!: { resolve: (e: DoneEvent) => void; reject: (e: InferenceError) => void };
    const done = new Promise<DoneEvent>((resolve, reject) => (settle = { resolve, reject }));
    done.catch(() => undefined); // the iterator reports the same failure
    w.pending.set(id, {
      onEvent: (e) => {
        if (e.type === 'token' || e.type === 'prefill') return stream.push(e);
        if (e.type === 'done') {
          w.pending.delete(id);
          stream.end();
          settle.resolve(e);
        } else if (e.type === 'error') {
          w.pending.delete(id);
          const err = InferenceError.from(e);
          stream.end(err);
          settle.reject(err);
        }
      },
      fail: (err) => {
        stream.end(err);
        settle.reject(err);
      },
    });
    // Sent once the worker is ready, so a request never races the worker's start.
    w.ready.then(
      () => this.sendOrFail(w, id, { type: 'generate', id, ...options }),
      () => undefined, // the pending entry was failed with the reason
    );
    return {
      id,
      done,
      cancel: () => this.cancel(id),
      [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
    };
  }

  /** Cancels a generation by id (a no-op once it ended). */
  cancel(id: string): void {
    const w = this.worker;
    if (!w?.alive || !w.pending.has(id)) return;
    void w.ready.then(() => {
      if (w.alive && w.pending.has(id)) w.send({ type: 'cancel', id });
    }, () => undefined);
  }

  /** Shuts the worker down (cancelling what runs) and waits for it to exit; SIGKILL after the grace period. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    this.worker = undefined;
    if (!w?.alive) return;
    try {
      w.send({ type: 'shutdown' });
      w.child.stdin?.end();
    } catch {
      // already gone
    }
    const grace = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), this.options.shutdownGraceMs ?? 3000).unref());
    if ((await Promise.race([w.exited.then(() => 'exited' as const), grace])) === 'timeout') {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  }

  private sendOrFail(w: WorkerProcess, id: string, body: InferRequestBody): void {
    try {
      w.send(body);
    } catch (e) {
      const p = w.pending.get(id);
      w.pending.delete(id);
      p?.fail(e instanceof InferenceError ? e : new InferenceError('worker_exited', String(e), l10n.t('Send the request again.')));
    }
  }

  private ensureWorker(): WorkerProcess {
    if (this.disposed) throw new InferenceError('disposed', l10n.t('this inference client was disposed'), l10n.t('Create a new InferenceClient.'));
    if (this.worker?.alive) return this.worker;
    const o = this.options;
    const child = fork(o.workerPath, [], {
      execPath: o.execPath ?? process.execPath,
      // The host's flags (an inspector port, a heap limit) are not the worker's.
      execArgv: [],
      env: workerEnv(process.env, { ...l10nEnv(), ...o.env }),
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    });
    this.starts++;
    this.worker = new WorkerProcess(child, (e) => {
      for (const l of [...this.listeners]) l(e);
    }, o.onStderr);
    return this.worker;
  }
}
