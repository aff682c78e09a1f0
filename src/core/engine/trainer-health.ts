// Is a detached trainer alive, hung, or gone? The window that follows it is not its parent (it
// may have been started by a window since closed), so it judges from two things: the registry's
// process identity (run.json: pid + start time + command line, process-identity.ts) says whether
// the run's trainer process still exists, and the trainer's heartbeat events (every interval_ms,
// also while paused or at a breakpoint) say whether it still runs and can write its events. A
// process that is there but has written nothing for several intervals is stopped or hung
// (SIGSTOP, a full disk, a frozen machine): the window says so rather than show a run that
// silently stands still. Heartbeats say nothing about progress; steps do.
import * as fs from 'node:fs';

import { formatDuration } from '../units';
import type { TrainerEvent } from './protocol';

/** Heartbeats missed before a trainer counts as not responding. */
export const MISSED_HEARTBEATS = 3;
/** Added to the wait: timers, a busy disk or a loaded machine delay a heartbeat a little. */
export const HEARTBEAT_SLACK_MS = 2000;

export type TrainerHealth =
  /** The trainer process is there and wrote an event (a heartbeat, a step) lately, or sends no heartbeats to judge by. */
  | { state: 'alive' }
  /** The process is there but silent for `silentMs`: stopped, hung or unable to write. */
  | { state: 'unresponsive'; silentMs: number }
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
}

/** How long a trainer with this heartbeat interval may be silent before it counts as not responding. */
export function silenceLimitMs(heartbeatMs: number): number {
  return MISSED_HEARTBEATS * heartbeatMs + HEARTBEAT_SLACK_MS;
}

export function judgeTrainer(x: HealthInputs): TrainerHealth {
  if (!x.processIsTrainer) return { state: 'gone' };
  if (x.heartbeatMs === undefined || x.lastSignMs === undefined) return { state: 'alive' };
  const silentMs = Math.max(0, x.nowMs - x.lastSignMs);
  return silentMs > silenceLimitMs(x.heartbeatMs) ? { state: 'unresponsive', silentMs } : { state: 'alive' };
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

/** "not responding (no heartbeat for 42 s)": how the views say it. */
export function describeHealth(h: TrainerHealth): string | undefined {
  if (h.state !== 'unresponsive') return undefined;
  return `not responding (no heartbeat for ${formatDuration(Math.round(h.silentMs / 1000))})`;
}
