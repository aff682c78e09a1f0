// What the views (status bar, runs view, dashboard) say about a live run beyond its numbers, in
// the same words everywhere: whether this window only watches it (another window controls it,
// runs outlive windows) and whether its trainer stopped answering (trainer-health.ts).
import type { ControlRole } from '../engine/control-channel';
import { describeHealth, type TrainerHealth } from '../engine/trainer-health';
import * as l10n from '@vscode/l10n';

// functions, not constants: the words are read in the display language set at activation
export const readOnlyNote = () => l10n.t('controlled by another window');
export const readOnlyDetail = () => l10n.t('Another window controls this run: this one shows it read-only. If that window is gone or hung, take control here.');

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
  if (readOnly) notes.push(readOnlyNote());
  return { readOnly, notes };
}
