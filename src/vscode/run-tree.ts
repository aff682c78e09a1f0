// The "Fine-tune Runs" view: every run under runs/, newest first, with its state; a click opens
// its dashboard, the context menu resumes or stops it. Under a run: its final adapter and
// checkpoints (Try in Playground, merge, export) and what was merged or exported from it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runCatalog, type CatalogEntry, type ExportEntry } from '../core/playground/catalog';
import { formatBytes } from '../core/playground/format';
import { liveNotes, readOnlyDetail, type LiveNotes } from '../core/run/live-notes';
import type { RunSummary } from '../core/run/run-store';
import { isLive } from '../core/run/run-state';
import { isImportedRun } from '../core/handoff/import';
import type { RunController } from './run-controller';

/**
 * The tooltip of a run. Everything but the bold id (a checked run id) comes from the run's
 * files, which a workspace can ship: it is appended as text, so Markdown in it (links, images,
 * command links) shows as the characters it is made of.
 */
export function runTooltip(run: RunSummary, live?: LiveNotes): vscode.MarkdownString {
  const s = run.snapshot;
  const md = new vscode.MarkdownString();
  md.isTrusted = false;
  md.supportHtml = false;
  md.appendMarkdown(`**${run.meta.id.replace(/[^\w-]/g, '')}** — `).appendText([s.status, ...(live?.notes ?? [])].join(', ')).appendMarkdown('\n\n');
  if (live?.readOnly) md.appendText(readOnlyDetail()).appendMarkdown('\n\n');
  md.appendText(vscode.workspace.asRelativePath(run.meta.argsFile)).appendMarkdown('\n\n');
  const what = runWhat(run);
  const step = s.maxSteps ? vscode.l10n.t('step {0} of {1}', s.step, s.maxSteps) : vscode.l10n.t('step {0}', s.step);
  const loss = s.loss !== undefined ? vscode.l10n.t('final loss {0}', s.loss.toFixed(3)) : undefined;
  md.appendText([what.model, ...(what.method ? [what.method] : []), step, ...(loss ? [loss] : [])].join(' · ')).appendMarkdown('\n\n');
  if (s.output) md.appendText(vscode.l10n.t('result: {0}', path.join(vscode.workspace.asRelativePath(run.dir), path.basename(s.output)))).appendMarkdown('\n\n');
  if (s.lastCheckpoint) md.appendText(vscode.l10n.t('last checkpoint: step {0}', s.lastCheckpoint.step)).appendMarkdown('\n\n');
  if (s.error) {
    md.appendText(s.error.message);
    if (s.error.hint) md.appendMarkdown('\n\n').appendText(s.error.hint);
  }
  return md;
}

/** What a run trained, from run.json (ARGS.json's model and method) or, for older runs, plan.json. */
export function runWhat(run: RunSummary): { model: string; method?: string } {
  let { model, method } = run.meta;
  if (!model || !method) {
    try {
      const plan = JSON.parse(fs.readFileSync(path.join(run.dir, 'plan.json'), 'utf8')) as { model_dir?: unknown; method?: unknown };
      if (!model && typeof plan.model_dir === 'string') model = plan.model_dir;
      if (!method && typeof plan.method === 'string') method = plan.method;
    } catch {
      // no plan: the run ended before preparation finished
    }
  }
  const name = model ? path.basename(model.replace(/[\\/]+$/, '')) || model : path.basename(path.dirname(run.meta.argsFile));
  return { model: name, method };
}

/** "4 Dec 19:12" in the user's time zone. */
function shortTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getDate()} ${d.toLocaleString('en-US', { month: 'short' })} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/**
 * The row's second part: state (and, live, what this window may do: live-notes.ts), final loss,
 * progress and when it was started; the loss comes before the progress, so the default sidebar
 * width, which cuts the end, still shows it (the tooltip has everything).
 */
export function runDescription(run: RunSummary, live?: LiveNotes): string {
  const s = run.snapshot;
  const progress = s.maxSteps ? `${s.step}/${s.maxSteps}` : s.step ? `step ${s.step}` : '';
  const loss = s.loss !== undefined ? `loss ${s.loss.toFixed(3)}` : '';
  const why = s.status === 'failed' && s.error ? s.error.message.split('\n')[0].slice(0, 80) : '';
  // A result trained elsewhere and imported (src/core/handoff/import.ts): no trainer ran here.
  const imported = isImportedRun(run.dir) ? vscode.l10n.t('imported') : '';
  return [s.status, imported, ...(live?.notes ?? []), loss, progress, why, shortTime(run.meta.created)].filter(Boolean).join(' · ');
}

export class RunTreeItem extends vscode.TreeItem {
  constructor(readonly run: RunSummary, readonly live?: LiveNotes) {
    const what = runWhat(run);
    super(what.method ? `${what.model} · ${what.method}` : what.model, vscode.TreeItemCollapsibleState.Collapsed);
    const s = run.snapshot;
    this.id = run.meta.id;
    this.description = runDescription(run, live);
    this.tooltip = runTooltip(run, live);
    this.iconPath = new vscode.ThemeIcon(
      s.status === 'done' ? 'pass' : s.status === 'failed' ? 'error' : s.status === 'interrupted' || s.status === 'stopped' ? 'debug-pause' : 'sync~spin',
    );
    // A live run this window only watches offers Take Control instead of commands it would refuse.
    this.contextValue = isLive(s.status) ? (live?.readOnly ? 'tunerRunLiveReadOnly' : 'tunerRunLive') : s.lastCheckpoint && s.status !== 'done' ? 'tunerRunResumable' : s.status === 'done' ? 'tunerRunDone' : 'tunerRun';
    this.command = { title: vscode.l10n.t('Open Dashboard'), command: 'tuner.openDashboard', arguments: [run.meta.id] };
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
    this.command = { title: vscode.l10n.t('Try in Playground'), command: 'tuner.tryInPlayground', arguments: [this] };
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
    if (!e) {
      const m = this.runs.manager();
      return this.list().map((r) => {
        const session = m.session(r.meta.id);
        return new RunTreeItem(r, session ? liveNotes(session.role, session.health) : undefined);
      });
    }
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
