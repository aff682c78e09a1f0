// The "Fine-tune Runs" view: every run under runs/, newest first, with its state; a click opens
// its dashboard, the context menu resumes or stops it. Under a run: its final adapter and
// checkpoints (Try in Playground, merge, export) and what was merged or exported from it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runCatalog, type CatalogEntry, type ExportEntry } from '../core/playground/catalog';
import { formatBytes } from '../core/playground/format';
import type { RunSummary } from '../core/run/run-store';
import { isLive } from '../core/run/run-state';
import type { RunController } from './run-controller';

/**
 * The tooltip of a run. Everything but the bold id (a checked run id) comes from the run's
 * files, which a workspace can ship: it is appended as text, so Markdown in it (links, images,
 * command links) shows as the characters it is made of.
 */
export function runTooltip(run: RunSummary): vscode.MarkdownString {
  const s = run.snapshot;
  const md = new vscode.MarkdownString();
  md.isTrusted = false;
  md.supportHtml = false;
  md.appendMarkdown(`**${run.meta.id.replace(/[^\w-]/g, '')}** — `).appendText(`${s.status}`).appendMarkdown('\n\n');
  md.appendText(vscode.workspace.asRelativePath(run.meta.argsFile)).appendMarkdown('\n\n');
  if (s.lastCheckpoint) md.appendText(`last checkpoint: step ${s.lastCheckpoint.step}`).appendMarkdown('\n\n');
  if (s.error) {
    md.appendText(s.error.message);
    if (s.error.hint) md.appendMarkdown('\n\n').appendText(s.error.hint);
  }
  return md;
}

export class RunTreeItem extends vscode.TreeItem {
  constructor(readonly run: RunSummary) {
    super(run.meta.id, vscode.TreeItemCollapsibleState.Collapsed);
    const s = run.snapshot;
    this.description = `${s.status} · ${s.step}/${s.maxSteps || '?'}${s.loss !== undefined ? ` · loss ${s.loss.toFixed(3)}` : ''}`;
    this.tooltip = runTooltip(run);
    this.iconPath = new vscode.ThemeIcon(
      s.status === 'done' ? 'pass' : s.status === 'failed' ? 'error' : s.status === 'interrupted' || s.status === 'stopped' ? 'debug-pause' : 'sync~spin',
    );
    this.contextValue = isLive(s.status) ? 'tunerRunLive' : s.lastCheckpoint && s.status !== 'done' ? 'tunerRunResumable' : 'tunerRun';
    this.command = { title: 'Open Dashboard', command: 'tuner.openDashboard', arguments: [run.meta.id] };
  }
}

/** A run's adapter, checkpoint or merged folder: what the playground loads and the exports start from. */
export class ModelTreeItem extends vscode.TreeItem {
  constructor(readonly entry: CatalogEntry) {
    super(entry.label, vscode.TreeItemCollapsibleState.None);
    this.description = entry.problem ? `⚠ ${entry.problem.message}` : entry.description;
    this.tooltip = new vscode.MarkdownString().appendText(entry.adapterDir ?? entry.modelDir);
    this.iconPath = new vscode.ThemeIcon(entry.kind === 'merged' ? 'package' : 'save');
    this.contextValue = 'tunerCheckpoint';
    this.command = { title: 'Try in Playground', command: 'tuner.tryInPlayground', arguments: [this] };
  }
}

/** A GGUF file or Ollama export of a run: a click shows it in the Explorer. */
export class ExportTreeItem extends vscode.TreeItem {
  constructor(readonly exported: ExportEntry) {
    super(path.basename(exported.kind === 'modelfile' ? path.dirname(exported.path) : exported.path), vscode.TreeItemCollapsibleState.None);
    this.description = `${exported.kind === 'modelfile' ? 'Ollama' : exported.kind.toUpperCase()} · ${formatBytes(exported.bytes)}`;
    this.tooltip = new vscode.MarkdownString().appendText(exported.path);
    this.iconPath = new vscode.ThemeIcon('file-binary');
    this.contextValue = 'tunerExport';
    this.resourceUri = vscode.Uri.file(exported.path);
    this.command = { title: 'Reveal', command: 'revealInExplorer', arguments: [vscode.Uri.file(exported.path)] };
  }
}

type RunsViewItem = RunTreeItem | ModelTreeItem | ExportTreeItem;

export class RunTreeProvider implements vscode.TreeDataProvider<RunsViewItem>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly sub: vscode.Disposable;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Problems met reading runs/ (damaged run folders), for the log and the tests. */
  problems: string[] = [];

  constructor(private readonly runs: RunController) {
    // Live runs change every step: refresh at most once a second.
    this.sub = runs.onDidChange(() => {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.emitter.fire(undefined);
      }, 1000);
    });
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(e: RunsViewItem): vscode.TreeItem {
    return e;
  }

  /** The runs as listed (also used by the history command and the tests). */
  list(): RunSummary[] {
    if (!this.runs.hasWorkspace()) return [];
    const m = this.runs.manager();
    const { runs, problems } = m.store.list();
    this.problems = problems;
    // A live session knows better than the disk (its status between steps).
    return runs.map((r) => {
      const live = m.session(r.meta.id);
      return live ? { ...r, snapshot: live.snapshot } : r;
    });
  }

  getChildren(e?: RunsViewItem): RunsViewItem[] {
    if (!e) return this.list().map((r) => new RunTreeItem(r));
    if (!(e instanceof RunTreeItem)) return [];
    try {
      const { entries, exports } = runCatalog(this.runs.manager().store.open(e.run.meta.id));
      // Merged folders are models (listed with the checkpoints); the rest are files.
      return [...entries.map((x) => new ModelTreeItem(x)), ...exports.filter((x) => x.kind !== 'merged').map((x) => new ExportTreeItem(x))];
    } catch (err) {
      this.problems.push(`${e.run.meta.id}: ${(err as Error).message}`);
      return [];
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.sub.dispose();
    this.emitter.dispose();
  }
}
