// Status bar item for the active dataset: its detected (or forced) format and record count,
// a spinner while a worker lint runs. Clicking it chooses the format (tuner.chooseDatasetFormat).
import * as vscode from 'vscode';
import { FORMATS } from '../core/dataset/formats';
import type { JsonlLinter, LintReport } from './jsonl-diagnostics';

export function statusText(report: LintReport | undefined, linting: boolean): string {
  if (!report) return linting ? `$(sync~spin) ${vscode.l10n.t('JSONL: linting…')}` : 'JSONL';
  const { format, records } = report.result;
  const forced = report.forcedFormat ? ` ${vscode.l10n.t('(forced)')}` : '';
  const spinner = linting ? '$(sync~spin) ' : '';
  // A line that is not a record is not counted; the count says so rather than look complete.
  const invalid = invalidLines(report);
  const skipped = invalid === 0 ? '' : ` ${invalid === 1 ? vscode.l10n.t('(1 invalid line)') : vscode.l10n.t('({0} invalid lines)', invalid.toLocaleString('en-US'))}`;
  const count = records === 1 ? vscode.l10n.t('1 record') : vscode.l10n.t('{0} records', records.toLocaleString('en-US'));
  return `${spinner}JSONL: ${format}${forced} · ${count}${skipped}`;
}

/** Non-blank lines that are not records (broken JSON, not an object): every non-blank line has a length bucket. */
function invalidLines(report: LintReport): number {
  const stats = report.result.stats;
  if (!stats) return 0;
  const nonBlank = stats.lengthHistogram.reduce((n, b) => n + b.count, 0);
  return Math.max(0, nonBlank - report.result.records);
}

function tooltip(report: LintReport | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  if (report) {
    const counts = FORMATS.filter((f) => report.result.formatCounts[f.id]).map((f) => `- ${f.label}: ${report.result.formatCounts[f.id]}`);
    md.appendMarkdown(`${vscode.l10n.t('**Dataset format**: {0}', report.result.format)} ${report.forcedFormat ? vscode.l10n.t('(set by `tuner.dataset.format`)') : vscode.l10n.t('(detected)')}\n\n`);
    if (counts.length) md.appendMarkdown(`${counts.join('\n')}\n\n`);
    md.appendMarkdown(`${vscode.l10n.t('{0} problems · linted in {1} ms ({2})', report.result.problems.length, report.durationMs.toFixed(0), report.engine)}\n\n`);
  }
  md.appendMarkdown(vscode.l10n.t('Click to choose the format.'));
  return md;
}

export class DatasetStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tuner.datasetFormat', vscode.StatusBarAlignment.Right, 100);
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly linter: JsonlLinter) {
    this.item.name = vscode.l10n.t('Tuner: dataset format');
    this.item.command = 'tuner.chooseDatasetFormat';
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
      linter.onDidChange((uri) => {
        if (uri.toString() === vscode.window.activeTextEditor?.document.uri.toString()) this.update();
      }),
    ];
    this.update();
  }

  /** What the item shows now (empty when hidden); read by the integration tests. */
  get text(): string {
    return this.visible ? this.item.text : '';
  }

  private visible = false;

  private update(): void {
    const uri = vscode.window.activeTextEditor?.document.uri;
    const report = uri && this.linter.report(uri);
    const linting = !!uri && this.linter.isLinting(uri);
    if (!uri || (!report && !linting)) {
      this.visible = false;
      this.item.hide();
      return;
    }
    this.item.text = statusText(report, linting);
    this.item.tooltip = tooltip(report);
    this.visible = true;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
