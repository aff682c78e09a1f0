// Status bar item while a run is live: step/total, loss, tokens/s, ETA; a click opens the dashboard.
import * as vscode from 'vscode';
import { formatDuration } from '../core/run/eta';
import type { RunSnapshot } from '../core/run/run-state';
import type { RunController } from './run-controller';

/** The item's text for a snapshot (exported for the tests). */
export function runStatusText(s: RunSnapshot): string {
  const icon = s.status === 'paused' ? '$(debug-pause)' : '$(pulse)';
  const parts = [`${icon} ${s.step}/${s.maxSteps || '?'}`];
  if (s.loss !== undefined) parts.push(`loss ${s.loss.toFixed(3)}`);
  if (s.tokensPerS !== undefined) parts.push(`${Math.round(s.tokensPerS).toLocaleString('en-US')} tok/s`);
  if (s.status === 'paused') parts.push('paused');
  else if (s.etaMs !== undefined) parts.push(`ETA ${formatDuration(s.etaMs)}`);
  return parts.join(' · ');
}

export class RunStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tuner.run', vscode.StatusBarAlignment.Left, 50);
  private readonly sub: vscode.Disposable;

  constructor(private readonly runs: RunController) {
    this.item.name = 'Tuner run';
    this.sub = runs.onDidChange(() => this.update());
  }

  get text(): string {
    return this.item.text;
  }

  private update(): void {
    const s = this.runs.hasWorkspace() ? this.runs.manager().current() : undefined;
    if (!s) {
      this.item.hide();
      this.item.text = '';
      return;
    }
    this.item.text = runStatusText(s.snapshot);
    this.item.tooltip = `Tuner run ${s.record.id} (${s.snapshot.status}) — click for the dashboard`;
    this.item.command = { title: 'Open Dashboard', command: 'tuner.openDashboard', arguments: [s.record.id] };
    this.item.show();
  }

  dispose(): void {
    this.sub.dispose();
    this.item.dispose();
  }
}
