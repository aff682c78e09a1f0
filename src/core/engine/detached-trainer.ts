// tuner-train run so that it does not belong to the window that started it: its own session and
// process group (spawn's `detached`: setsid on Linux and macOS, DETACHED_PROCESS on Windows),
// stdout appended straight to the run's events.jsonl and stderr to trainer.log (no pipe to the
// extension host that could break), and commands through its control channel
// (control-channel.ts). The window reads the files from a byte offset and connects to the
// channel; closing or reloading the window leaves the trainer training, and the next window
// attaches to it the same way (DetachedTrainer.attach) from where the files were read.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

import { ControlClient, ControlError, controlAddress, TAKE_CONTROL_LINE, type ControlMessage, type ControlRole } from './control-channel';
import { FileTail, trimPartialLine } from './file-tail';
import { identify, isSameTrainer, type ProcessIdentity } from './process-identity';
import { judgeTrainer, LoopTracker, modifiedMs, type TrainerHealth } from './trainer-health';
import {
  formatCommand,
  formatSetCommand,
  parseTrainerEvent,
  ProtocolError,
  type ErrorEvent,
  type LearningRateChange,
  type TrainerCommandType,
  type TrainerEvent,
} from './protocol';
import { findTrainerBinary, trainerEnv, type TrainerExit } from './trainer-client';
import * as l10n from '@vscode/l10n';

const STDERR_TAIL_BYTES = 16 * 1024;
/** How often the trainer is checked: alive (an attached one, not this process's child), and heard from lately. */
const ALIVE_POLL_MS = 500;
const CONNECT_RETRY_MS = 50;

/** The files of one run the trainer writes (RunRecord's paths). */
export interface RunFiles {
  runDir: string;
  planPath: string;
  eventsFile: string;
  logFile: string;
}

export interface DetachedStartOptions extends RunFiles {
  resumeDir?: string;
  startPaused?: boolean;
  layerNorms?: boolean;
  binary?: string;
  env?: NodeJS.ProcessEnv;
  /** Its own session and process group, outliving this process (default true). */
  detached?: boolean;
  /** tuner-train --heartbeat-ms (default: the trainer's, 5000). */
  heartbeatMs?: number;
}

export interface AttachOptions extends RunFiles {
  identity: ProcessIdentity;
  /** Byte offset in events.jsonl to continue from (the end of what the caller has read). */
  eventsOffset: number;
  /** The heartbeat interval its last heartbeat announced (trainer-health.ts heartbeatInterval), if any. */
  heartbeatMs?: number;
  /** The run's events read so far: the training loop's pace and last liveness (trainer-health.ts LoopTracker). */
  history?: readonly TrainerEvent[];
}

/** tuner-train's default heartbeat interval (native TrainOptions::heartbeat_ms). */
export const DEFAULT_HEARTBEAT_MS = 5000;

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function readTail(file: string, bytes: number): string {
  try {
    const size = fileSize(file);
    const fd = fs.openSync(file, 'r');
    try {
      const n = Math.min(bytes, size);
      const buf = Buffer.alloc(n);
      fs.readSync(fd, buf, 0, n, size - n);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

export class DetachedTrainer {
  /** Events read since this object was made (launch: the new process's; attach: after the offset). */
  readonly events: TrainerEvent[] = [];
  readonly exited: Promise<TrainerExit>;
  readonly address: string;
  identity: ProcessIdentity | undefined;
  private child: ChildProcess | undefined;
  private client: ControlClient | undefined;
  private pending: string[] = [];
  private readonly eventTail: FileTail;
  private readonly logTail: FileTail;
  private readonly listeners: ((e: TrainerEvent) => void)[] = [];
  private readonly stderrListeners: ((text: string) => void)[] = [];
  private readonly roleListeners: ((role: ControlRole, refused?: string) => void)[] = [];
  private readonly healthListeners: ((h: TrainerHealth) => void)[] = [];
  private alivePoll: NodeJS.Timeout | undefined;
  /** When the trainer was last heard from (an event line arrived; on attach, events.jsonl's mtime). */
  private lastSignMs: number | undefined;
  private heartbeatMs: number | undefined;
  private readonly loop = new LoopTracker();
  private healthNow: TrainerHealth = { state: 'alive' };
  private protocolError: ProtocolError | undefined;
  private ended = false;
  private detachedFromWindow = false;
  private resolveExit!: (x: TrainerExit) => void;

  private constructor(
    private readonly files: RunFiles,
    eventsOffset: number,
    logOffset: number,
  ) {
    this.address = controlAddress(files.runDir);
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.eventTail = new FileTail(files.eventsFile, eventsOffset, (lines) => this.onLines(lines));
    this.logTail = new FileTail(files.logFile, logOffset, (lines) => {
      const text = lines.join('\n') + '\n';
      for (const l of this.stderrListeners) l(text);
    });
  }

  /** Starts tuner-train on the run's plan, detached unless `opts.detached === false`. */
  static launch(opts: DetachedStartOptions): DetachedTrainer {
    const binary = opts.binary ?? findTrainerBinary(opts.env ?? process.env);
    // A line cut short by a killed trainer would run into the first line of this one.
    const trimmed = trimPartialLine(opts.eventsFile);
    if (trimmed.removed) fs.appendFileSync(opts.logFile, `tuner: dropped an unfinished last line of events.jsonl (${trimmed.removed.length} characters) before starting\n`);
    const t = new DetachedTrainer(opts, trimmed.size, fileSize(opts.logFile));
    const args = ['--plan', opts.planPath, '--control', t.address];
    if (opts.resumeDir) args.push('--resume', opts.resumeDir);
    if (opts.startPaused) args.push('--start-paused');
    if (opts.layerNorms) args.push('--layer-norms');
    if (opts.heartbeatMs !== undefined) args.push('--heartbeat-ms', String(opts.heartbeatMs));
    const out = fs.openSync(opts.eventsFile, 'a');
    const err = fs.openSync(opts.logFile, 'a');
    try {
      t.child = spawn(binary, args, {
        cwd: opts.runDir,
        env: trainerEnv(opts.env ?? process.env),
        stdio: ['ignore', out, err],
        detached: opts.detached ?? true,
        windowsHide: true,
      });
    } finally {
      fs.closeSync(out);
      fs.closeSync(err);
    }
    const child = t.child;
    if (opts.detached ?? true) child.unref();
    t.identity = child.pid !== undefined ? identify(child.pid) : undefined;
    child.once('error', (e) => t.finish(null, null, e.message));
    child.once('exit', (code, signal) => t.finish(code, signal));
    t.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    t.lastSignMs = Date.now();
    t.begin();
    return t;
  }

  /**
   * Follows a trainer started by another window (or before a reload): undefined when `identity`
   * no longer names the run's trainer (it ended, or the pid now belongs to another process).
   */
  static attach(opts: AttachOptions): DetachedTrainer | undefined {
    if (!isSameTrainer(opts.identity, opts.planPath)) return undefined;
    const t = new DetachedTrainer(opts, opts.eventsOffset, fileSize(opts.logFile));
    t.identity = opts.identity;
    t.heartbeatMs = opts.heartbeatMs;
    for (const e of opts.history ?? []) t.loop.note(e);
    t.lastSignMs = modifiedMs(opts.eventsFile);
    t.begin();
    return t;
  }

  get pid(): number | undefined {
    return this.identity?.pid;
  }

  /** This window's part: controller (commands go through), observer (another window steers), or not yet connected. */
  get role(): ControlRole | undefined {
    return this.client?.role;
  }

  /** Where events.jsonl has been read up to: every event before this byte has been delivered, none after. */
  get eventsOffset(): number {
    return this.eventTail.position;
  }

  onEvent(l: (e: TrainerEvent) => void): void {
    this.listeners.push(l);
  }

  /** alive, not responding (no heartbeat for a while), or gone; changes are told to onHealth's listeners. */
  get health(): TrainerHealth {
    return this.healthNow;
  }

  onHealth(l: (h: TrainerHealth) => void): void {
    this.healthListeners.push(l);
  }

  onStderr(l: (text: string) => void): void {
    this.stderrListeners.push(l);
  }

  /** The role changed (promoted when the controlling window left), or a command was refused. */
  onRole(l: (role: ControlRole, refused?: string) => void): void {
    this.roleListeners.push(l);
  }

  send(type: TrainerCommandType): void {
    this.write(formatCommand(type));
  }

  setLearningRate(change: LearningRateChange): void {
    this.write(formatSetCommand(change));
  }

  /** A line as typed (the debug console). */
  sendRaw(text: string): void {
    this.write(text);
  }

  /**
   * Makes this window the one that controls the run (the user's choice when the window that
   * controls it is gone or hung); that window only watches it from then on. The trainer answers
   * with a `role` message (onRole). False when the channel is not connected yet.
   */
  takeControl(): boolean {
    if (this.ended || !this.client) return false;
    this.client.write(TAKE_CONTROL_LINE);
    return true;
  }

  /** Ends the trainer with a signal, only while it is still the run's trainer. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
    } else if (!this.child && this.identity && isSameTrainer(this.identity, this.files.planPath)) {
      process.kill(this.identity.pid, signal);
    }
  }

  /**
   * Lets go of the trainer, which trains on: stops reading its files, closes the control
   * connection (another window may take control), and no longer waits for its end.
   */
  async detach(): Promise<void> {
    if (this.ended || this.detachedFromWindow) return;
    this.detachedFromWindow = true;
    this.stopFollowing();
    this.child?.unref();
    this.child?.removeAllListeners();
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private begin(): void {
    this.eventTail.start();
    this.logTail.start();
    this.alivePoll = setInterval(() => this.checkAlive(), ALIVE_POLL_MS);
    this.checkAlive();
    void this.connect();
  }

  private write(line: string): void {
    if (this.ended) return;
    const text = line.endsWith('\n') ? line : `${line}\n`;
    if (!this.client) {
      this.pending.push(text); // sent once the channel answers
      return;
    }
    if (this.client.role !== 'controller') {
      throw new ControlError(l10n.t('another window controls this run; this one only shows it (close the run there, or close that window, to take control here)'));
    }
    this.client.write(text);
  }

  private async connect(): Promise<void> {
    while (!this.ended && !this.detachedFromWindow) {
      try {
        const client = await ControlClient.connect(this.address);
        if (this.ended || this.detachedFromWindow) {
          void client.close();
          return;
        }
        // Whatever answers at the address must be the run's trainer: a pipe name on Windows can
        // be taken by another process first, a socket file replaced.
        if (this.identity && client.serverPid !== this.identity.pid) {
          void client.close();
          throw new ControlError(l10n.t('the control channel at {0} is served by pid {1}, not by the run\'s trainer (pid {2})', this.address, String(client.serverPid), this.identity.pid));
        }
        this.client = client;
        client.onMessage((m) => this.onControl(m));
        for (const l of this.roleListeners) l(client.role ?? 'observer');
        const queued = this.pending;
        this.pending = [];
        if (client.role === 'controller') for (const line of queued) client.write(line);
        else if (queued.length) for (const l of this.roleListeners) l('observer', l10n.t('another window controls this run: commands sent while connecting were not delivered'));
        await client.closed;
        if (this.client === client) this.client = undefined;
        // The trainer closes the channel when it exits; check now rather than at the next poll.
        if (!this.child) this.checkAlive();
      } catch {
        await new Promise((r) => setTimeout(r, CONNECT_RETRY_MS));
        if (!this.child && !this.ended) this.checkAlive();
      }
    }
  }

  private onControl(m: ControlMessage): void {
    if (m.type === 'role') for (const l of this.roleListeners) l(m.role);
    else if (m.type === 'refused') for (const l of this.roleListeners) l(this.client?.role ?? 'observer', m.message);
  }

  /** Ends an attached trainer's session when its process is gone; tells when it stops (or starts again) answering. */
  private checkAlive(): void {
    if (this.ended || this.detachedFromWindow) return;
    // A child of this process is known alive until its 'exit'; another window's is looked up.
    const processIsTrainer = this.child ? true : !!this.identity && isSameTrainer(this.identity, this.files.planPath);
    if (!processIsTrainer) return this.finish(null, null);
    const h = judgeTrainer({ processIsTrainer, lastSignMs: this.lastSignMs, heartbeatMs: this.heartbeatMs, nowMs: Date.now(), loop: this.loop.signs() });
    const was = this.healthNow;
    this.healthNow = h;
    // A change of state is news; a longer silence is told every poll (the views show how long).
    if (h.state !== was.state || h.state === 'unresponsive') for (const l of this.healthListeners) l(h);
  }

  private onLines(lines: string[]): void {
    if (lines.length) this.lastSignMs = Date.now();
    for (const line of lines) {
      if (this.protocolError || line.trim() === '') continue;
      let event: TrainerEvent;
      try {
        event = parseTrainerEvent(line);
      } catch (e) {
        // A trainer we cannot understand must not train on unobserved: stop it (it checkpoints
        // on SIGTERM) and surface the error.
        this.protocolError = e instanceof ProtocolError ? e : new ProtocolError(String(e), line);
        this.kill('SIGTERM');
        continue;
      }
      if (event.type === 'heartbeat') this.heartbeatMs = event.interval_ms;
      this.loop.note(event);
      this.events.push(event);
      for (const l of [...this.listeners]) l(event);
    }
    if (lines.length && this.healthNow.state === 'unresponsive') this.checkAlive();
  }

  private stopFollowing(): void {
    this.eventTail.stop();
    this.logTail.stop();
    if (this.alivePoll) clearInterval(this.alivePoll);
    this.alivePoll = undefined;
  }

  private finish(code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    if (this.ended || this.detachedFromWindow) return;
    this.ended = true;
    this.stopFollowing();
    // Everything the trainer wrote is in the files by now: read it to the end.
    this.eventTail.read();
    this.logTail.read();
    void this.client?.close();
    const error = this.events.find((e): e is ErrorEvent => e.type === 'error');
    const stderrTail = spawnError ?? readTail(this.files.logFile, STDERR_TAIL_BYTES);
    this.resolveExit({ code, signal, events: this.events, error, protocolError: this.protocolError, stderrTail });
  }
}
