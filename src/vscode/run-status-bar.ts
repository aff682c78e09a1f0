// Status bar item while a run is live: step/total, loss, tokens/s, ETA; a click opens the dashboard.
import * as vscode from 'vscode';
import { formatDuration, formatRate } from '../core/units';
import type { RunSnapshot } from '../core/run/run-state';
import type { RunController } from './run-controller';

/** The item's text for a snapshot (exported for the tests). */
export function runStatusText(s: RunSnapshot): string {
  const icon = s.status === 'paused' ? '$(debug-pause)' : '$(pulse)';
  const parts = [`${icon} ${s.step}/${s.maxSteps || '?'}`];
  if (s.loss !== undefined) parts.push(vscode.l10n.t('loss {0}', s.loss.toFixed(3)));
  if (s.tokensPerS !== undefined) parts.push(formatRate(s.tokensPerS));
  if (s.status === 'paused') parts.push(vscode.l10n.t('paused'));
  else if (s.etaMs !== undefined) parts.push(vscode.l10n.t('ETA {0}', formatDuration(s.etaMs / 1000)));
  return parts.join(' · ');
}

/** A live run changes every step (1,500 times a second on a tiny model): redraw at most this often. */
const REDRAW_MS = 100;

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tuner.run', vscode.StatusBarAlignment.Left, 50);
  private readonly sub: vscode.Disposable;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private shownStatus: string | undefined;

  constructor(private readonly runs: RunController) {
    this.item.name = vscode.l10n.t('Tuner run');
    // A new state (paused, running, ended) shows at once; new numbers at most every REDRAW_MS.
    this.sub = runs.onDidChange((s) => {
      if (s?.snapshot.status !== this.shownStatus) return this.update();
      this.timer ??= setTimeout(() => this.update(), REDRAW_MS);
    });
  }

  get text(): string {
    return this.item.text;
  }

  private update(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.runs.hasWorkspace() ? this.runs.manager().current() : undefined;
    this.shownStatus = s?.snapshot.status;
    if (!s) {
      this.item.hide();
      this.item.text = '';
      return;
    }
    // Another window controls the run (runs outlive windows): this one shows it and says so.
    const watching = s.role === 'observer';
    this.item.text = runStatusText(s.snapshot) + (watching ? ' · read-only' : '');
    this.item.tooltip = watching
      ? vscode.l10n.t('Tuner run {0} ({1}), controlled from another window — click for the dashboard', s.record.id, s.snapshot.status)
      : vscode.l10n.t('Tuner run {0} ({1}) — click for the dashboard', s.record.id, s.snapshot.status);
    this.item.command = { title: vscode.l10n.t('Open Dashboard'), command: 'tuner.openDashboard', arguments: [s.record.id] };
    this.item.show();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.sub.dispose();
    this.item.dispose();
  }
}
