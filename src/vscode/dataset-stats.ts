// "Tuner: Dataset Statistics": the statistics of the linter's last pass over the dataset,
// rendered by core as Markdown and shown in VS Code's Markdown preview. The Markdown lives in a
// read-only virtual document (scheme tuner-stats), so nothing is left to save or discard.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { statsToMarkdown } from '../core/dataset/stats';
import type { JsonlLinter } from './jsonl-diagnostics';
import { datasetDocumentFor } from './jsonl-documents';

export const STATS_SCHEME = 'tuner-stats';

class StatsDocuments implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(uri: vscode.Uri, markdown: string): void {
    this.contents.set(uri.toString(), markdown);
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? vscode.l10n.t('# Dataset statistics\n\nRun "Tuner: Dataset Statistics" again to compute them.\n');
  }

  dispose(): void {
    this.changed.dispose();
  }
}

let documents: StatsDocuments | undefined;

export function registerDatasetStats(ctx: vscode.ExtensionContext): void {
  documents = new StatsDocuments();
  ctx.subscriptions.push(documents, vscode.workspace.registerTextDocumentContentProvider(STATS_SCHEME, documents));
}

/** Shows the statistics of a dataset; returns the URI of the Markdown document shown. */
export async function showDatasetStats(linter: JsonlLinter, target?: unknown): Promise<vscode.Uri> {
  if (!documents) throw new Error(vscode.l10n.t('the statistics view is not registered'));
  const doc = await datasetDocumentFor(target);
  let report = linter.report(doc.uri);
  if (!report || report.version !== doc.version || !report.result.stats) {
    report = await linter.lint(doc, 'command');
  }
  const stats = report?.result.stats;
  if (!stats) throw new Error(vscode.l10n.t('no statistics for {0}: linting it failed (see the Tuner log)', doc.uri.fsPath));
  const name = path.basename(doc.uri.path);
  const uri = vscode.Uri.from({ scheme: STATS_SCHEME, path: `/${name}.stats.md`, query: doc.uri.toString() });
  documents.set(uri, statsToMarkdown(stats, name));
  await vscode.commands.executeCommand('markdown.showPreview', uri);
  return uri;
}
