// Runs tuner-train as a child process: parses every stdout line as a protocol event (anything
// unparseable is a ProtocolError that stops the run, never skipped), sends commands on stdin,
// and reports how the process ended. A native fault or out-of-memory ends only the child.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { findPackageRoot } from './addon';
import {
  formatCommand,
  formatSetCommand,
  type LearningRateChange,
  parseTrainerEvent,
  ProtocolError,
  type ErrorEvent,
  type TrainerCommandType,
  type TrainerEvent,
} from './protocol';
import * as l10n from '@vscode/l10n';

export const TRAINER_BINARY = process.platform === 'win32' ? 'tuner-train.exe' : 'tuner-train';

/** Where the cmake-js build puts tuner-train, relative to the package root. */
const BINARY_DIRS = [path.join('build', 'native'), path.join('build', 'native', 'Release')];

/**
 * Finds the tuner-train executable: $TUNER_NATIVE_BUILD_DIR first (a developer's own build),
 * then the package's build/native. Throws naming every place it looked.
 */
export function findTrainerBinary(env: NodeJS.ProcessEnv = process.env, packageRoot = findPackageRoot()): string {
  const dirs: string[] = [];
  if (env.TUNER_NATIVE_BUILD_DIR) dirs.push(path.resolve(env.TUNER_NATIVE_BUILD_DIR));
  if (packageRoot) dirs.push(...BINARY_DIRS.map((d) => path.join(packageRoot, d)));
  const candidates = dirs.map((d) => path.join(d, TRAINER_BINARY));
  const found = candidates.find((c) => fs.existsSync(c));
  if (!found) {
    throw new Error(
      l10n.t('tuner-train not found (looked in {0}). Run `npm run build:native`, or set TUNER_NATIVE_BUILD_DIR to the folder holding tuner-train.', candidates.join(', ') || l10n.t('no folder')),
    );
  }
  return found;
}

/**
 * What tuner-train may see of the extension host's environment: finding programs and the home
 * and temporary folders, the locale, the engine's own TUNER_* switches (TUNER_CPU_LIMIT,
 * TUNER_PROFILE), which GPUs to use, and where the dynamic loader finds libraries. The host's
 * environment also holds tokens and keys of every other tool the editor runs with; the trainer
 * has no use for them.
 */
const TRAINER_ENV_KEYS = new Set([
  'PATH', 'HOME', 'TMPDIR', 'LANG', 'LANGUAGE', 'TZ', 'LD_LIBRARY_PATH', 'CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER',
  // Windows: processes need these to start and to find their temporary folder.
  'SYSTEMROOT', 'SystemRoot', 'TEMP', 'TMP', 'USERPROFILE', 'Path',
]);
const TRAINER_ENV_PREFIXES = ['TUNER_', 'LC_'];

/** The environment tuner-train starts with: the variables of `from` it needs, nothing else. */
export function trainerEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(from)) {
    if (value !== undefined && (TRAINER_ENV_KEYS.has(key) || TRAINER_ENV_PREFIXES.some((p) => key.startsWith(p)))) env[key] = value;
  }
  return env;
}

export interface TrainerStartOptions {
  planPath: string;
  resumeDir?: string;
  /** Wait for a command before the first step (stop on entry). */
  startPaused?: boolean;
  /** Per-layer gradient and weight norms in every step event (--layer-norms; costs a pass over the weights). */
  layerNorms?: boolean;
  binary?: string;
  /** Where the trainer's variables come from (default process.env); only trainerEnv's pass. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface TrainerExit {
  /** Exit code, null when ended by a signal. */
  code: number | null;
  /** Signal that ended the process (e.g. "SIGKILL", "SIGSEGV"), null on a normal exit. */
  signal: NodeJS.Signals | null;
  events: TrainerEvent[];
  /** The trainer's error event, if it sent one. */
  error?: ErrorEvent;
  /** Set when the trainer printed something that is not a valid event. */
  protocolError?: ProtocolError;
  /** The end of stderr (human-readable log), for error reports. */
  stderrTail: string;
}

const STDERR_TAIL_BYTES = 16 * 1024;

export type EventListener = (event: TrainerEvent) => void;

export class TrainerProcess {
  readonly events: TrainerEvent[] = [];
  readonly exited: Promise<TrainerExit>;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly listeners: EventListener[] = [];
  private readonly stderrListeners: ((text: string) => void)[] = [];
  private stderrTail = '';
  private protocolError?: ProtocolError;

  private constructor(opts: TrainerStartOptions) {
    const binary = opts.binary ?? findTrainerBinary(opts.env ?? process.env);
    const args = ['--plan', opts.planPath];
    if (opts.resumeDir) args.push('--resume', opts.resumeDir);
    if (opts.startPaused) args.push('--start-paused');
    if (opts.layerNorms) args.push('--layer-norms');
    this.child = spawn(binary, args, { cwd: opts.cwd, env: trainerEnv(opts.env ?? process.env), stdio: ['pipe', 'pipe', 'pipe'] });
    // Writing to a trainer that already exited raises EPIPE on stdin; the exit result reports it.
    this.child.stdin.on('error', () => undefined);
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
      for (const l of this.stderrListeners) l(chunk);
    });
    const lines = readline.createInterface({ input: this.child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => this.onLine(line));
    const stdoutClosed = new Promise<void>((resolve) => lines.once('close', resolve));
    const processExited = new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('exit', (code, signal) => resolve([code, signal]));
    });
    this.exited = Promise.all([processExited, stdoutClosed]).then(([[code, signal]]) => {
      const error = this.events.find((e): e is ErrorEvent => e.type === 'error');
      return { code, signal, events: this.events, error, protocolError: this.protocolError, stderrTail: this.stderrTail };
    });
  }

  static start(opts: TrainerStartOptions): TrainerProcess {
    return new TrainerProcess(opts);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }

  /** Receives the trainer's stderr (its human-readable log) as it arrives. */
  onStderr(listener: (text: string) => void): void {
    this.stderrListeners.push(listener);
  }

  /** Resolves with the first event (already seen or future) that satisfies pred; rejects if the process ends first. */
  waitFor<T extends TrainerEvent>(pred: (e: TrainerEvent) => e is T): Promise<T>;
  waitFor(pred: (e: TrainerEvent) => boolean): Promise<TrainerEvent>;
  waitFor(pred: (e: TrainerEvent) => boolean): Promise<TrainerEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.listeners.push((e) => {
        if (pred(e)) resolve(e);
      });
      this.exited.then(
        (x) => reject(new Error(l10n.t('tuner-train ended (code {0}, signal {1}) before the awaited event', String(x.code), String(x.signal)))),
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  send(type: TrainerCommandType): void {
    if (this.child.stdin.writable) this.child.stdin.write(formatCommand(type));
  }

  /** Changes the learning rate from the next step on (see LearningRateChange). */
  setLearningRate(change: LearningRateChange): void {
    const line = formatSetCommand(change);
    if (this.child.stdin.writable) this.child.stdin.write(line);
  }

  /** Writes text to the trainer's stdin as is (a debug console passing through what a user typed). */
  sendRaw(text: string): void {
    if (this.child.stdin.writable) this.child.stdin.write(text);
  }

  /** Closes stdin; the trainer keeps training (a closed stdin is not a stop). */
  closeInput(): void {
    this.child.stdin.end();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  private onLine(line: string): void {
    if (this.protocolError) return;
    if (line.trim() === '') return;
    let event: TrainerEvent;
    try {
      event = parseTrainerEvent(line);
    } catch (e) {
      // A trainer we cannot understand must not keep running unobserved: stop it (it saves a
      // checkpoint on SIGTERM) and surface the error.
      this.protocolError = e instanceof ProtocolError ? e : new ProtocolError(String(e), line);
      this.child.kill('SIGTERM');
      return;
    }
    this.events.push(event);
    for (const l of [...this.listeners]) l(event);
  }
}
