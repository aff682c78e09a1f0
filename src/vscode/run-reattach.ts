// Runs outlive windows: when the extension activates it follows again every trainer of the
// workspace that is still running (RunManager.reattach: the dashboard, status bar and runs view
// come back, pause/stop work through the control channel), and reports how the runs that a
// closed window left training, or a crashed window left behind, went meanwhile
// (RunManager.unwatchedEnds): finished (final loss, time, Open Dashboard, Open Folder, Try in
// Playground) or died (the reason from its log, Resume from its last checkpoint).
// When the window closes, live trainers train on (detach) unless tuner.runs.stopWhenWindowCloses.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunManager } from '../core/run/run-manager';
import type { UnwatchedEnd } from '../core/run/run-manager';
import type { RunRecord } from '../core/run/run-store';
import { formatDuration } from '../core/units';
import { log } from './output';

/** Training time for a notification, in the one formatter's units: 4.2 s, 17 min 05 s, 3 h 05 min. */
const trainingTime = (ms: number) => formatDuration(ms / 1000);

/** What the last activation reported (for the integration tests). */
export const reattachReports: { runId: string; message: string; actions: string[] }[] = [];

/** The last non-empty line of a run's trainer.log: why a trainer that died said it stopped. */
export function lastLogLine(record: RunRecord): string | undefined {
  try {
    const text = fs.readFileSync(record.logFile, 'utf8').slice(-4096);
    return text.trim().split('\n').pop()?.trim() || undefined;
  } catch {
    return undefined;
  }
}

function show(runId: string, message: string, actions: string[], error: boolean, act: (choice: string) => void): void {
  reattachReports.push({ runId, message, actions });
  if (reattachReports.length > 20) reattachReports.shift();
  log.info(message);
  // Notifications turn [text](target) into links; log lines can quote anything.
  const text = message.replace(/\]\(/g, '] (');
  const shown = error ? vscode.window.showErrorMessage(text, ...actions) : vscode.window.showInformationMessage(text, ...actions);
  void shown.then((choice) => choice && act(choice), () => undefined);
}

function reportEnded(m: RunManager, { run, how }: UnwatchedEnd): void {
  const id = run.meta.id;
  const s = run.snapshot;
  const since =
    how === 'window-died'
      ? vscode.l10n.t(' (the window that followed it closed unexpectedly)')
      : run.meta.detachedAt
        ? vscode.l10n.t(' (left training {0})', new Date(run.meta.detachedAt).toLocaleString())
        : '';
  const record = m.store.open(id);
  if (s.status === 'done' || s.status === 'stopped') {
    const steps = record.events().filter((e) => e.type === 'step');
    const ms = steps.reduce((sum, e) => sum + (e.type === 'step' ? e.ms : 0), 0);
    const at = `${s.step}/${s.maxSteps}`;
    const message =
      s.loss === undefined
        ? s.status === 'done'
          ? vscode.l10n.t('Tuner: run {0} finished while no window was open{1}: step {2}, {3} of training.', id, since, at, trainingTime(ms))
          : vscode.l10n.t('Tuner: run {0} was stopped while no window was open{1}: step {2}, {3} of training.', id, since, at, trainingTime(ms))
        : s.status === 'done'
          ? vscode.l10n.t('Tuner: run {0} finished while no window was open{1}: step {2}, final loss {3}, {4} of training.', id, since, at, s.loss.toFixed(3), trainingTime(ms))
          : vscode.l10n.t('Tuner: run {0} was stopped while no window was open{1}: step {2}, final loss {3}, {4} of training.', id, since, at, s.loss.toFixed(3), trainingTime(ms));
    const actions = s.status === 'done' ? [vscode.l10n.t('Open Dashboard'), vscode.l10n.t('Open Folder'), vscode.l10n.t('Try in Playground')] : [vscode.l10n.t('Open Dashboard'), vscode.l10n.t('Open Folder')];
    show(id, message, actions, false, (choice) => {
      if (choice === vscode.l10n.t('Open Dashboard')) void vscode.commands.executeCommand('tuner.openDashboard', id);
      if (choice === vscode.l10n.t('Open Folder')) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(path.join(record.dir, 'run.json')));
      if (choice === vscode.l10n.t('Try in Playground')) void vscode.commands.executeCommand('tuner.tryInPlayground', id);
    });
    return;
  }
  const reason = s.error ? `${s.error.message}${s.error.hint ? ` — ${s.error.hint}` : ''}` : vscode.l10n.t('tuner-train ended at step {0} without finishing; its log ends: {1}', s.step, lastLogLine(record) ?? vscode.l10n.t('(empty)'));
  const ckpt = record.lastCheckpoint();
  // Only these two end a run that is neither live nor finished or stopped.
  const ended = s.status === 'failed' ? vscode.l10n.t('Tuner: run {0} failed while no window was open{1}: {2}', id, since, reason) : vscode.l10n.t('Tuner: run {0} was interrupted while no window was open{1}: {2}', id, since, reason);
  const message = ended + (ckpt ? ' ' + vscode.l10n.t('Its last checkpoint is at step {0}.', ckpt.step) : '');
  const actions = ckpt ? [vscode.l10n.t('Resume'), vscode.l10n.t('Show Log')] : [vscode.l10n.t('Show Log')];
  show(id, message, actions, true, (choice) => {
    if (choice === vscode.l10n.t('Resume')) void vscode.commands.executeCommand('tuner.resumeFromCheckpoint', id);
    if (choice === vscode.l10n.t('Show Log')) void vscode.window.showTextDocument(vscode.Uri.file(record.logFile));
  });
}

/**
 * Follows the workspace's live trainers again and reports the runs that ended since a window
 * left them training. Each report is made once: the mark is cleared when reported (or when the
 * run is followed again, so its end is announced as any run's).
 */
export function reattachRuns(m: RunManager): void {
  for (const session of m.reattach()) {
    log.info(`run ${session.record.id}: trainer ${session.pid} is still training; following it again from step ${session.snapshot.step}`);
    if (session.record.meta.detachedAt) session.record.markDetached(undefined);
  }
  for (const end of m.unwatchedEnds()) {
    try {
      m.markReported(end.run.meta.id);
      reportEnded(m, end);
    } catch (e) {
      log.warn(`run ${end.run.meta.id}: ${(e as Error).message}`);
    }
  }
}

/** On closing: the trainers train on, or stop (checkpointing) when the user chose so. */
export function releaseRuns(m: RunManager, stopWhenWindowCloses: boolean): Promise<unknown> {
  return stopWhenWindowCloses ? m.stopAll() : m.detachAll();
}
