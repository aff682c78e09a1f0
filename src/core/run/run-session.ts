// One live trainer process of a run: starts tuner-train on the run's plan (detached from the
// window: it writes events.jsonl and trainer.log itself and takes commands on its control
// channel, engine/detached-trainer.ts), or attaches to one a previous window started; follows
// its events, keeps the run's snapshot, and steers it.
//
// Two ways to drive it:
//  - free: the trainer runs on its own; pause/resume/step/save/stop are passed through.
//  - lockstep (the debugger): the trainer starts paused and is sent one `step` at a time, so a
//    breakpoint decided on step N's event stops the run exactly after step N, never a step later.
//    The trainer's own paused events between steps are bookkeeping; the session's status says
//    whether the user sees the run paused.
import type { ControlRole } from '../engine/control-channel';
import { DetachedTrainer } from '../engine/detached-trainer';
import type { TrainerHealth } from '../engine/trainer-health';
import type { TrainerExit } from '../engine/trainer-client';
import type { LearningRateChange, TrainerCommandType, TrainerEvent } from '../engine/protocol';
import { BreakpointChecker, NO_BREAKPOINTS, type BreakpointHit, type BreakpointSettings } from './breakpoints';
import type { RunRecord } from './run-store';
import { RunStateTracker, type RunSnapshot } from './run-state';
import * as l10n from '@vscode/l10n';

export type DriveMode = 'free' | 'lockstep';

/** Why a lockstep run stopped: the debugger's "stopped" reasons. */
export type StopReason = { reason: 'entry' | 'pause' | 'step' } | { reason: 'breakpoint'; hit: BreakpointHit };

export interface RunSessionOptions {
  mode: DriveMode;
  /** Checkpoint folder to continue from. */
  resumeFrom?: string;
  /** Lockstep only: wait for the user before the first step. */
  stopOnEntry?: boolean;
  breakpoints?: BreakpointSettings;
  /** tuner-train --heartbeat-ms (default: the trainer's). */
  heartbeatMs?: number;
  /** tuner-train to run (default: findTrainerBinary). */
  binary?: string;
  env?: NodeJS.ProcessEnv;
  /** The trainer outlives this process (default true); false keeps it in this process's group (the CLI). */
  detached?: boolean;
}

export interface RunSessionListener {
  onEvent?(e: TrainerEvent, snapshot: RunSnapshot): void;
  onStderr?(text: string): void;
  /** Lockstep: the run is now paused for the user. */
  onStopped?(why: StopReason): void;
  onExit?(exit: TrainerExit, snapshot: RunSnapshot): void;
  /** This window now controls the run, or only watches it (another window controls it); `refused`: a command it sent was not taken. */
  onRole?(role: ControlRole, refused?: string): void;
  /** The trainer stopped answering (no heartbeat for a while), or answers again (trainer-health.ts). */
  onHealth?(health: TrainerHealth): void;
}

export class RunSession {
  readonly tracker = new RunStateTracker();
  readonly exited: Promise<TrainerExit>;
  private readonly proc: DetachedTrainer;
  private readonly listeners: RunSessionListener[] = [];
  private readonly checker: BreakpointChecker;
  /** Lockstep: whether the user wants the run to go on. */
  private wantRunning: boolean;
  /** How the trainer is driven now: a free run can be put under the debugger (enterLockstep). */
  private driveMode: DriveMode;
  private singleStep = false;
  /** Lockstep: the trainer sits between steps waiting for a command. */
  private trainerIdle = false;
  private pendingHit: BreakpointHit | undefined;
  private ended = false;
  private detached = false;
  private readonly reattached: boolean = false;

  /**
   * Starts the trainer, or (`attached`) follows one already running, whose earlier events
   * (`history`) it folds into the snapshot first.
   */
  constructor(
    readonly record: RunRecord,
    readonly options: RunSessionOptions,
    attached?: { trainer: DetachedTrainer; history: TrainerEvent[] },
  ) {
    this.checker = new BreakpointChecker(options.breakpoints ?? NO_BREAKPOINTS);
    this.wantRunning = !(options.mode === 'lockstep' && options.stopOnEntry);
    this.driveMode = options.mode;
    if (attached) {
      this.reattached = true;
      this.proc = attached.trainer;
      this.tracker.applyAll(attached.history);
    } else {
      this.proc = DetachedTrainer.launch({
        runDir: record.dir,
        planPath: record.planFile,
        eventsFile: record.eventsFile,
        logFile: record.logFile,
        resumeDir: options.resumeFrom,
        startPaused: options.mode === 'lockstep',
        // The debugger's Variables view shows them; a free run does not pay for them.
        layerNorms: options.mode === 'lockstep',
        binary: options.binary,
        env: options.env,
        detached: options.detached,
        heartbeatMs: options.heartbeatMs,
      });
      record.setTrainer(this.proc.identity);
    }
    this.proc.onRole((role, refused) => {
      for (const l of this.listeners) l.onRole?.(role, refused);
    });
    this.proc.onHealth((health) => {
      for (const l of this.listeners) l.onHealth?.(health);
    });
    this.proc.onStderr((text) => {
      for (const l of this.listeners) l.onStderr?.(text);
    });
    this.proc.onEvent((e) => this.onEvent(e));
    this.exited = this.proc.exited.then(
      (exit) => this.onExit(exit),
      (err: Error) => this.onExit({ code: null, signal: null, events: this.proc.events, stderrTail: err.message, protocolError: undefined }),
    );
  }

  get snapshot(): RunSnapshot {
    return this.tracker.snapshot;
  }

  get mode(): DriveMode {
    return this.driveMode;
  }

  /**
   * Puts a free run under the debugger (attaching to a live run): from the trainer's next pause
   * between steps on, it is sent one step at a time, so breakpoints stop on their step. A run the
   * user had paused stays paused and is announced as stopped.
   */
  enterLockstep(breakpoints: BreakpointSettings): void {
    if (this.driveMode === 'lockstep' || this.ended || this.detached) return;
    this.checker.settings = breakpoints;
    this.driveMode = 'lockstep';
    if (this.snapshot.status === 'paused') {
      this.wantRunning = false;
      this.trainerIdle = true;
      this.announceStop({ reason: 'pause' });
      return;
    }
    this.wantRunning = true;
    this.send('pause'); // its `paused` event hands the next step to lockstep()
  }

  /** The debugger lets go: the trainer runs freely again, running or paused as the user left it. */
  leaveLockstep(): void {
    if (this.driveMode !== 'lockstep' || this.ended || this.detached) return;
    this.driveMode = 'free';
    if (this.wantRunning) this.send('resume');
    else this.setStatus('paused');
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** alive, not responding (the process is there, its heartbeats stopped), or gone. */
  get health(): TrainerHealth {
    return this.proc.health;
  }

  /** Whether this window steers the run ('controller'), only shows it ('observer'), or is still connecting. */
  get role(): ControlRole | undefined {
    return this.proc.role;
  }

  /**
   * Every event of the run up to the last one this session has delivered to its listeners (from
   * events.jsonl, earlier segments included): a view that starts from these and then listens sees
   * each event once, although the trainer may have written more to the file meanwhile.
   */
  events(): TrainerEvent[] {
    return this.record.eventsAndOffset(this.proc.eventsOffset).events;
  }

  /** Whether this session follows a trainer an earlier window started. */
  get attached(): boolean {
    return this.reattached;
  }

  /**
   * Lets the trainer train on without this window: a debugger's run that was meant to go on is
   * told to run free (nobody will send it the next step), then the control connection closes.
   */
  async detach(): Promise<void> {
    if (this.ended) return;
    if (this.driveMode === 'lockstep' && this.wantRunning && this.proc.role === 'controller') this.proc.send('resume');
    this.detached = true;
    await this.proc.detach();
  }

  get breakpoints(): BreakpointSettings {
    return this.checker.settings;
  }

  set breakpoints(b: BreakpointSettings) {
    this.checker.settings = b;
  }

  /** Adds a listener; the returned function removes it. */
  listen(l: RunSessionListener): () => void {
    this.listeners.push(l);
    return () => {
      const i = this.listeners.indexOf(l);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  pause(): void {
    if (this.driveMode === 'free') return this.send('pause');
    this.wantRunning = false;
    if (this.trainerIdle) this.announceStop({ reason: 'pause' });
  }

  resume(): void {
    if (this.driveMode === 'free') return this.send('resume');
    this.wantRunning = true;
    this.singleStep = false;
    this.setStatus('running');
    if (this.trainerIdle) this.nextStep();
  }

  /** One optimizer step, then paused again. */
  step(): void {
    if (this.driveMode === 'free') return this.send('step');
    this.wantRunning = false;
    this.singleStep = true;
    this.setStatus('running');
    if (this.trainerIdle) this.nextStep();
  }

  save(): void {
    this.send('save');
  }

  /** A new learning rate from the next step on (in lockstep too: it is read before the next step). */
  setLearningRate(change: LearningRateChange): void {
    if (!this.ended && !this.detached) this.proc.setLearningRate(change);
  }

  /** Stop = checkpoint and exit (the trainer saves before it ends). */
  stop(): void {
    this.send('stop');
  }

  /** This window controls the run from now on; the window that did only watches it (false: not connected yet). */
  takeControl(): boolean {
    return !this.ended && !this.detached && this.proc.takeControl();
  }

  /** Ends the trainer with a signal (SIGTERM also checkpoints; SIGKILL loses the steps since the last one). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.proc.kill(signal);
  }

  private send(type: TrainerCommandType): void {
    if (!this.ended && !this.detached) this.proc.send(type);
  }

  /** A line as typed in the debug console. */
  sendRaw(text: string): void {
    if (!this.ended && !this.detached) this.proc.sendRaw(text);
  }

  private nextStep(): void {
    this.trainerIdle = false;
    this.send('step');
  }

  private setStatus(status: 'running' | 'paused'): void {
    const s = this.tracker.snapshot;
    if (s.status === 'running' || s.status === 'paused') s.status = status;
  }

  private announceStop(why: StopReason): void {
    this.setStatus('paused');
    for (const l of this.listeners) l.onStopped?.(why);
  }

  private onEvent(e: TrainerEvent): void {
    // The arrival time: the ETA comes from wall time between steps, not the trainer's compute ms.
    this.tracker.apply(e, performance.now());
    if (this.driveMode === 'lockstep') this.lockstep(e);
    for (const l of this.listeners) l.onEvent?.(e, this.tracker.snapshot);
  }

  private lockstep(e: TrainerEvent): void {
    switch (e.type) {
      case 'start':
        // The trainer was started paused; it announces that with a paused event next.
        this.setStatus(this.wantRunning ? 'running' : 'paused');
        return;
      case 'step': {
        this.trainerIdle = false;
        const hit = this.checker.onStep(e);
        if (hit) {
          this.pendingHit = hit;
          this.wantRunning = false;
        }
        this.setStatus(this.wantRunning || this.singleStep || hit ? 'running' : 'paused');
        return;
      }
      case 'paused': {
        this.trainerIdle = true;
        if (this.pendingHit) {
          const hit = this.pendingHit;
          this.pendingHit = undefined;
          this.singleStep = false;
          return this.announceStop({ reason: 'breakpoint', hit });
        }
        if (this.singleStep) {
          this.singleStep = false;
          return this.announceStop({ reason: 'step' });
        }
        if (this.wantRunning) {
          this.setStatus('running');
          return this.nextStep();
        }
        const first = this.tracker.snapshot.step === (this.tracker.snapshot.start?.step ?? 0);
        return this.announceStop({ reason: first ? 'entry' : 'pause' });
      }
      case 'resumed':
        this.setStatus(this.wantRunning ? 'running' : 'paused');
        return;
      case 'error': {
        const hit = this.checker.onError(e);
        if (hit) for (const l of this.listeners) l.onStopped?.({ reason: 'breakpoint', hit });
        return;
      }
      default:
        return;
    }
  }

  private onExit(exit: TrainerExit): TrainerExit {
    this.ended = true;
    this.record.setTrainer(undefined);
    const s = this.tracker.snapshot;
    if (exit.protocolError) {
      s.status = 'failed';
      s.error = { version: 1, type: 'error', code: 'protocol', message: exit.protocolError.message, hint: l10n.t('The trainer and the extension disagree on the protocol: rebuild tuner-train (npm run build:native).') };
    } else if (s.status !== 'done' && s.status !== 'stopped' && s.status !== 'failed') {
      // No ending event: the process died (kill -9, a native crash, out of memory).
      const how = exit.signal ? l10n.t('was ended by {0}', exit.signal) : exit.code !== null ? l10n.t('exited with code {0}', exit.code) : l10n.t('ended while this window was not watching it');
      s.status = s.start ? 'interrupted' : 'failed';
      s.error = {
        version: 1,
        type: 'error',
        code: 'trainer_died',
        message: l10n.t('tuner-train {0} at step {1}{2}', how, s.step, exit.stderrTail ? `: ${exit.stderrTail.trim().split('\n').slice(-1)[0]}` : ''),
        hint: s.lastCheckpoint ? l10n.t('Resume continues from the checkpoint at step {0}.', s.lastCheckpoint.step) : l10n.t('No checkpoint was saved; start the run again (set save_interval to checkpoint regularly).'),
      };
    }
    s.etaMs = undefined;
    for (const l of this.listeners) l.onExit?.(exit, s);
    return exit;
  }
}
