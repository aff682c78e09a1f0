// Handlers of the playground and export commands: open the playground, "Try in Playground" on a
// run or checkpoint (base on the left, tuned on the right), and merge / export from the command
// palette or the runs view with a cancellable progress notification. Native code runs only in a
// trusted workspace (workspace-guard.ts).
import * as os from 'node:os';
import * as vscode from 'vscode';
import { buildCatalog, type CatalogEntry } from '../core/playground/catalog';
import { ExportError, ExportJob, findNativeTool, planExport, type ExportKind, type ExportResult, type GgufType } from '../core/playground/export-job';
import { writeOllamaModelfile } from '../core/playground/ollama';
import { log } from './output';
import { requireTrust } from './workspace-guard';
import { offerResult, PlaygroundPanel, type PlaygroundPick } from './playground-panel';

export interface PlaygroundServices {
  ctx: vscode.ExtensionContext;
}

type Handler = (...args: unknown[]) => unknown;

function workspaceDir(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((w) => w.uri.scheme === 'file')?.uri.fsPath;
}

function catalog(): CatalogEntry[] {
  return buildCatalog({ workspaceDir: workspaceDir() }).entries;
}

/**
 * The entry a command argument names: a run id (its final adapter, else its newest checkpoint),
 * a run or checkpoint tree item, or a checkpoint / adapter / model folder path.
 */
export function entryFor(arg: unknown, entries: CatalogEntry[]): CatalogEntry | undefined {
  let key: string | undefined;
  if (typeof arg === 'string') key = arg;
  else if (arg instanceof vscode.Uri) key = arg.fsPath;
  else if (arg && typeof arg === 'object') {
    const o = arg as { run?: { meta?: { id?: string } }; entry?: CatalogEntry };
    if (o.entry) return entries.find((e) => e.id === o.entry!.id);
    key = o.run?.meta?.id;
  }
  if (!key) return undefined;
  const byRun = entries.filter((e) => e.runId === key && (e.kind === 'adapter' || e.kind === 'checkpoint'));
  if (byRun.length > 0) return byRun.find((e) => e.kind === 'adapter') ?? byRun[0];
  return entries.find((e) => e.id === key || e.adapterDir === key || (e.modelDir === key && !e.adapterDir));
}

async function pickEntry(placeHolder: string, filter: (e: CatalogEntry) => boolean): Promise<CatalogEntry | undefined> {
  const entries = catalog().filter((e) => filter(e) && !e.problem);
  if (entries.length === 0) throw new Error(vscode.l10n.t('no model, adapter or checkpoint to choose from: train a run, or put a Hugging Face model folder in the workspace'));
  const pick = await vscode.window.showQuickPick(
    entries.map((e) => ({ label: e.label, description: e.description, detail: `${e.group} · ${vscode.workspace.asRelativePath(e.adapterDir ?? e.modelDir)}`, entry: e })),
    { placeHolder, matchOnDescription: true, matchOnDetail: true },
  );
  return pick?.entry;
}

async function pickType(arg: unknown): Promise<GgufType | undefined> {
  if (arg === 'f16' || arg === 'q8_0' || arg === 'q4_0') return arg;
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'q4_0', description: vscode.l10n.t('4-bit: smallest, what Ollama pulls by default'), type: 'q4_0' as const },
      { label: 'q8_0', description: vscode.l10n.t('8-bit: close to the original, twice the size of q4_0'), type: 'q8_0' as const },
      { label: 'f16', description: vscode.l10n.t('16-bit floats: as trained, largest'), type: 'f16' as const },
    ],
    { placeHolder: vscode.l10n.t('GGUF weight type') },
  );
  return pick?.type;
}

/** Runs one export with a cancellable progress notification; resolves with the result (undefined when cancelled). */
async function runExport(entry: CatalogEntry, kind: ExportKind, type: GgufType): Promise<ExportResult | undefined> {
  const ws = workspaceDir();
  const plan = planExport(entry, kind, type, ws);
  const binary = findNativeTool('tuner-export');
  log.info(`${kind} ${plan.source} -> ${plan.out}`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: kind === 'merge' ? vscode.l10n.t('Tuner: merging {0}', plan.source) : vscode.l10n.t('Tuner: exporting {0}', plan.source), cancellable: true },
    async (progress, token) => {
      const job = new ExportJob({ binary, id: `cmd-${Date.now()}`, plan, workspaceDir: ws!, writeModelfile: writeOllamaModelfile, onStatus: (s) => progress.report({ message: s.message }) });
      const sub = token.onCancellationRequested(() => job.cancel());
      try {
        const result = await job.result;
        void offerResult(plan, result);
        void vscode.commands.executeCommand('tuner.refreshRuns');
        return result;
      } catch (e) {
        if (token.isCancellationRequested) return undefined;
        if (e instanceof ExportError) throw new Error(`${e.message}${e.hint ? ` — ${e.hint}` : ''}`);
        throw e;
      } finally {
        sub.dispose();
      }
    },
  );
}

function exportCommand(kind: ExportKind) {
  return () => async (arg: unknown, type: unknown) => {
    await requireTrust(kind === 'merge' ? vscode.l10n.t('Merging an adapter') : vscode.l10n.t('Exporting a model'));
    const adaptersOnly = kind === 'merge';
    const entry = entryFor(arg, catalog()) ?? (arg === undefined ? await pickEntry(adaptersOnly ? vscode.l10n.t('Merge which adapter into its base model?') : vscode.l10n.t('Export which model, adapter or checkpoint?'), (e) => !adaptersOnly || !!e.adapterDir) : undefined);
    if (!entry) {
      if (arg !== undefined) {
        const named = JSON.stringify(typeof arg === 'string' ? arg : (arg as { label?: string }).label ?? String(arg));
        throw new Error(kind === 'merge' ? vscode.l10n.t('{0} names no run, checkpoint or model Tuner can merge', named) : vscode.l10n.t('{0} names no run, checkpoint or model Tuner can export', named));
      }
      return undefined;
    }
    if (entry.problem) throw new Error(`${entry.problem.message} — ${entry.problem.hint}`);
    const t = kind === 'merge' ? 'f16' : await pickType(type);
    if (!t) return undefined;
    return (await runExport(entry, kind, t))?.out;
  };
}

export const PLAYGROUND_COMMANDS = {
  /** Opens (or reveals) the playground. Returns the panel's view type, for tests. */
  'tuner.openPlayground': (s: PlaygroundServices) => () => {
    PlaygroundPanel.show(s.ctx);
    return 'tuner.playground';
  },
  /** Args: a run id, a run or checkpoint tree item, or a checkpoint folder. Opens base vs tuned. */
  'tuner.tryInPlayground': (s: PlaygroundServices) => async (arg: unknown) => {
    await requireTrust(vscode.l10n.t('The playground'));
    const entries = catalog();
    const entry = entryFor(arg, entries) ?? (await pickEntry(vscode.l10n.t('Try which run, checkpoint or model in the playground?'), () => true));
    if (!entry) return undefined;
    const quant = os.totalmem() < 8 * 1024 ** 3 ? 'q8_0' : 'f32';
    const picks: PlaygroundPick[] = entry.baseId ? [{ modelId: entry.baseId, quant }, { modelId: entry.id, quant }] : [{ modelId: entry.id, quant }, null];
    PlaygroundPanel.show(s.ctx, picks);
    return entry.id;
  },
  'tuner.mergeAdapter': exportCommand('merge'),
  'tuner.exportGguf': exportCommand('gguf'),
  'tuner.exportOllama': exportCommand('ollama'),
} satisfies Record<string, (s: PlaygroundServices) => Handler>;
