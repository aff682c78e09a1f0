// What the views (status bar, runs view, dashboard) say about a live run beyond its numbers, in
// the same words everywhere: whether this window only watches it (another window controls it,
// runs outlive windows) and whether its trainer stopped answering (trainer-health.ts).
import type { ControlRole } from '../engine/control-channel';
import { describeHealth, type TrainerHealth } from '../engine/trainer-health';

export const READ_ONLY_NOTE = 'controlled by another window';
export const READ_ONLY_DETAIL = 'Another window controls this run: this one shows it read-only. If that window is gone or hung, take control here.';

export interface LiveNotes {
  /** Commands from this window would be refused. */
  readOnly: boolean;
  /** Short notes for a status bar or a row: "controlled by another window", "not responding (…)". */
  notes: string[];
}

export function liveNotes(role: ControlRole | undefined, health: TrainerHealth): LiveNotes {
  const readOnly = role === 'observer';
  const notes: string[] = [];
  const silent = describeHealth(health);
  if (silent) notes.push(silent);
  if (readOnly) notes.push(READ_ONLY_NOTE);
  return { readOnly, notes };
}
