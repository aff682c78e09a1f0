// Is a detached trainer alive, hung, or gone? The window that follows it is not its parent (it
// may have been started by a window since closed), so it judges from two things: the registry's
// process identity (run.json: pid + start time + command line, process-identity.ts) says whether
// the run's trainer process still exists, and the trainer's heartbeat events (every interval_ms,
// also while paused or at a breakpoint) say whether it still runs and can write its events. A
// process that is there but has written nothing for several intervals is stopped or hung
// (SIGSTOP, a full disk, a frozen machine): the window says so rather than show a run that
// silently stands still. Heartbeats say nothing about progress; steps do. Since the heartbeat
// has a thread of its own, it also carries the training loop's own liveness (`loop_idle_ms`: how
// long ago the loop stepped or checked for commands): a loop that hangs or deadlocks while the
// heartbeat goes on counts as not responding once that silence is longer than any step could
// legitimately take (loopSilenceLimitMs).
import * as fs from 'node:fs';

import { formatDuration } from '../units';
import type { TrainerEvent } from './protocol';
import * as l10n from '@vscode/l10n';

/** Heartbeats missed before a trainer counts as not responding. */
export const MISSED_HEARTBEATS = 3;
/** Added to the wait: timers, a busy disk or a loaded machine delay a heartbeat a little. */
export const HEARTBEAT_SLACK_MS = 2000;

/** A training loop may be silent for this many median steps (a slow step, an evaluation, a save) ... */
export const LOOP_SILENT_STEPS = 10;
/** ... and never less than this: a first slow step, a loaded machine, a checkpoint on a slow disk. */
export const LOOP_SILENCE_FLOOR_MS = 60_000;
/** Steps whose times make the median (the latest ones: the run's pace now). */
export const STEP_TIMES_KEPT = 200;

export type TrainerHealth =
  /** The trainer process is there and wrote an event (a heartbeat, a step) lately, or sends no heartbeats to judge by. */
  | { state: 'alive' }
  /**
   * The process is there but silent for `silentMs`: stopped, hung or unable to write (`silent`:
   * 'trainer', no line at all), or its heartbeat goes on while the training loop itself has done
   * nothing for that long ('loop': a hung or deadlocked step).
   */
  | { state: 'unresponsive'; silentMs: number; silent?: 'trainer' | 'loop' }
  /** No process is the run's trainer any more (it ended, or its pid now names another process). */
  | { state: 'gone' };

export interface HealthInputs {
  /** process-identity.ts isSameTrainer: the registry's pid is still this run's trainer. */
  processIsTrainer: boolean;
  /** When the trainer last wrote to events.jsonl (an event's arrival, or the file's mtime on reattach). */
  lastSignMs: number | undefined;
  /** The heartbeat interval the trainer announced; undefined for a trainer that sends none. */
  heartbeatMs: number | undefined;
  nowMs: number;
  /** What the last heartbeat said of the training loop; absent when it said nothing (an older trainer). */
  loop?: LoopSigns;
}

/** The training loop's liveness as the last heartbeat told it, and the pace it has shown. */
export interface LoopSigns {
  /** The last heartbeat's loop_idle_ms. */
  idleMs: number;
  /** The last heartbeat's state: a paused loop checks for commands every 200 ms. */
  paused: boolean;
  /** The latest steps' times in ms (step events' `ms`), oldest first. */
  stepMs: readonly number[];
}

/** How long a trainer with this heartbeat interval may be silent before it counts as not responding. */
export function silenceLimitMs(heartbeatMs: number): number {
  return MISSED_HEARTBEATS * heartbeatMs + HEARTBEAT_SLACK_MS;
}

/**
 * How long the training loop may be silent before the run counts as not responding: while paused
 * it polls every 200 ms, so the floor alone; while training, LOOP_SILENT_STEPS median steps and at
 * least the floor; undefined (not judged) while training before any step time is known, since the
 * first step of a large model on a CPU may legitimately take minutes.
 */
export function loopSilenceLimitMs(loop: Pick<LoopSigns, 'paused' | 'stepMs'>): number | undefined {
  if (loop.paused) return LOOP_SILENCE_FLOOR_MS;
  if (loop.stepMs.length === 0) return undefined;
  return Math.max(LOOP_SILENT_STEPS * median(loop.stepMs), LOOP_SILENCE_FLOOR_MS);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function judgeTrainer(x: HealthInputs): TrainerHealth {
  if (!x.processIsTrainer) return { state: 'gone' };
  if (x.heartbeatMs === undefined || x.lastSignMs === undefined) return { state: 'alive' };
  const silentMs = Math.max(0, x.nowMs - x.lastSignMs);
  if (silentMs > silenceLimitMs(x.heartbeatMs)) return { state: 'unresponsive', silentMs, silent: 'trainer' };
  if (x.loop) {
    const limit = loopSilenceLimitMs(x.loop);
    // The loop's silence goes on while no newer heartbeat has come (up to the limit above).
    const loopSilentMs = x.loop.idleMs + silentMs;
    if (limit !== undefined && loopSilentMs > limit) return { state: 'unresponsive', silentMs: loopSilentMs, silent: 'loop' };
  }
  return { state: 'alive' };
}

/**
 * Follows the loop signs in a run's events as they come (a window that reattaches feeds it the
 * history from events.jsonl first). Every event but a heartbeat is written by the loop itself, so
 * it says the loop ran just then.
 */
export class LoopTracker {
  private readonly stepMs: number[] = [];
  private beat: { idleMs: number; paused: boolean } | undefined;

  note(e: TrainerEvent): void {
    if (e.type === 'heartbeat') {
      this.beat = e.loop_idle_ms === undefined ? undefined : { idleMs: e.loop_idle_ms, paused: e.state === 'paused' };
      return;
    }
    if (this.beat) this.beat.idleMs = 0;
    if (e.type === 'step') {
      this.stepMs.push(e.ms);
      if (this.stepMs.length > STEP_TIMES_KEPT) this.stepMs.shift();
    }
  }

  /** Undefined until a heartbeat told of the loop (trainers older than loop_idle_ms never do). */
  signs(): LoopSigns | undefined {
    return this.beat && { ...this.beat, stepMs: this.stepMs };
  }
}

export function loopSigns(events: readonly TrainerEvent[]): LoopSigns | undefined {
  const t = new LoopTracker();
  for (const e of events) t.note(e);
  return t.signs();
}

/** The interval of the last heartbeat among `events` (the trainer's current segment announces it). */
export function heartbeatInterval(events: readonly TrainerEvent[]): number | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'heartbeat') return e.interval_ms;
    if (e.type === 'start') return undefined; // this segment has not beaten yet
  }
  return undefined;
}

/** When a file was last written (ms), or undefined. */
export function modifiedMs(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** "not responding (no heartbeat for 42 s)" / "(training loop silent for 3 min)": how the views say it. */
export function describeHealth(h: TrainerHealth): string | undefined {
  if (h.state !== 'unresponsive') return undefined;
  const d = formatDuration(Math.round(h.silentMs / 1000));
  return h.silent === 'loop' ? l10n.t('not responding (training loop silent for {0})', d) : l10n.t('not responding (no heartbeat for {0})', d);
}
