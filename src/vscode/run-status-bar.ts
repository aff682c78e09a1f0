// Status bar item while a run is live: step/total, loss, tokens/s, ETA; a click opens the dashboard.
import * as vscode from 'vscode';
import { formatDuration, formatRate } from '../core/units';
import { liveNotes, readOnlyDetail } from '../core/run/live-notes';
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
    // Another window controls the run (runs outlive windows), or the trainer stopped answering:
    // this one shows it and says so.
    const { readOnly, notes } = liveNotes(s.role, s.health);
    const silent = s.health.state === 'unresponsive';
    this.item.text = (silent ? '$(warning) ' : '') + runStatusText(s.snapshot) + (silent ? ` · ${vscode.l10n.t('not responding')}` : '') + (readOnly ? ' · read-only' : '');
    const what = vscode.l10n.t('Tuner run {0} ({1})', s.record.id, [s.snapshot.status, ...notes].join(', '));
    this.item.tooltip = `${what}${readOnly ? `\n${readOnlyDetail()}` : ''}\n${vscode.l10n.t('Click for the dashboard')}`;
    this.item.backgroundColor = silent ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.command = { title: vscode.l10n.t('Open Dashboard'), command: 'tuner.openDashboard', arguments: [s.record.id] };
    this.item.show();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.sub.dispose();
    this.item.dispose();
  }
}
