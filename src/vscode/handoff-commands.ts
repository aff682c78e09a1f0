// "Export Run for a Cluster…" and "Import Trained Adapter or Model…": the hand-off folder for
// torchrun / Axolotl / LLaMA-Factory (src/core/handoff/export.ts) and bringing their result back
// as an imported run (src/core/handoff/import.ts). Both take optional arguments so menus, the
// runs view and tests can name what they act on without the prompts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { probeHardware } from '../core/hardware/probe';
import { GiB } from '../core/hardware/types';
import { HANDOFF_DIR, writeHandoff, type HandoffResult } from '../core/handoff/export';
import { importTrained } from '../core/handoff/import';
import type { ClusterTarget } from '../core/handoff/zero';
import { formatBytes } from '../core/units';
import { log } from './output';
import type { RunTreeItem, RunTreeProvider } from './run-tree';

export interface HandoffServices {
  runTree: RunTreeProvider;
}

/** What a test or a link may pass instead of answering the prompts. */
export interface ExportRequest {
  nodes?: number;
  gpusPerNode?: number;
  gpuMemoryGiB?: number;
  outDir?: string;
}

type Handler = (...args: unknown[]) => unknown;

/** ARGS.json from a URI, a run tree item (the run's ARGS.json), or the active editor / workspace. */
async function argsFileOf(arg: unknown): Promise<string | undefined> {
  if (arg instanceof vscode.Uri) return arg.fsPath;
  if (arg && typeof arg === 'object' && 'run' in arg) return (arg as RunTreeItem).run.meta.argsFile;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && path.basename(active.fsPath) === 'ARGS.json') return active.fsPath;
  const found = await vscode.workspace.findFiles('**/ARGS.json', '**/node_modules/**', 50);
  if (found.length === 1) return found[0].fsPath;
  if (found.length === 0) throw new Error(vscode.l10n.t('No ARGS.json in this workspace: plan a fine-tune first (Tuner: Plan a Fine-tune…).'));
  const pick = await vscode.window.showQuickPick(found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })), { placeHolder: vscode.l10n.t('Which ARGS.json?') });
  return pick?.uri.fsPath;
}

async function pickNumber(title: string, choices: number[], preferred: number, unit: (n: number) => string): Promise<number | undefined> {
  const items = choices.map((n) => ({ label: unit(n), n, picked: n === preferred, description: n === preferred ? vscode.l10n.t('suggested') : undefined }));
  items.sort((a, b) => Number(b.picked) - Number(a.picked));
  return (await vscode.window.showQuickPick(items, { placeHolder: title }))?.n;
}

async function clusterTarget(req: ExportRequest): Promise<ClusterTarget | undefined> {
  let gpusPerNode = req.gpusPerNode, nodes = req.nodes, memGiB = req.gpuMemoryGiB;
  if (gpusPerNode === undefined || nodes === undefined || memGiB === undefined) {
    const hw = await probeHardware({});
    const localGiB = hw.gpus.length ? Math.round(hw.gpus[0].memoryTotalBytes / GiB) : 80;
    gpusPerNode ??= await pickNumber(vscode.l10n.t('GPUs per node'), [1, 2, 4, 8], Math.max(1, Math.min(8, hw.gpus.length || 8)), (n) => vscode.l10n.t('{0} GPU(s) per node', n));
    if (gpusPerNode === undefined) return undefined;
    nodes ??= await pickNumber(vscode.l10n.t('Nodes'), [1, 2, 4, 8, 16], 1, (n) => vscode.l10n.t('{0} node(s)', n));
    if (nodes === undefined) return undefined;
    memGiB ??= await pickNumber(vscode.l10n.t('Memory of one GPU'), [16, 24, 40, 48, 80, 141], [16, 24, 40, 48, 80, 141].includes(localGiB) ? localGiB : 80, (n) => formatBytes(n * GiB));
    if (memGiB === undefined) return undefined;
  }
  return { nodes, gpusPerNode, gpuMemoryBytes: memGiB * GiB };
}

/** The summary shown after an export (also what @tuner /readme says about the folder). */
export function handoffSummary(r: HandoffResult): string {
  const zero = r.zero.stage > 0 ? vscode.l10n.t('DeepSpeed ZeRO-{0} ({1} per GPU)', r.zero.stage, formatBytes(r.zero.perGpuBytes[r.zero.stage])) : vscode.l10n.t('no sharding needed ({0} per GPU)', formatBytes(r.zero.perGpuBytes[0]));
  const skipped = r.skipped.length ? vscode.l10n.t(' {0} record(s) left out, listed in README.md.', r.skipped.length) : '';
  return vscode.l10n.t('Wrote {0}: train.py, axolotl.yaml, llamafactory.yaml and {1} training records; {2}.{3}', vscode.workspace.asRelativePath(r.dir), r.trainRecords, zero, skipped);
}

export function exportHandoff(argsFile: string, target: ClusterTarget, outDir?: string): HandoffResult {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === argsFile && d.isDirty);
  const r = writeHandoff({ argsFile, outDir: outDir ?? path.join(path.dirname(argsFile), HANDOFF_DIR), target, argsText: open?.getText() });
  log.info(`hand-off: ${r.dir} (${r.files.length} files, ZeRO stage ${r.zero.stage}, ${r.skipped.length} records left out)`);
  return r;
}

export const HANDOFF_COMMANDS: Record<'tuner.exportForCluster' | 'tuner.importTrained', (s: HandoffServices) => Handler> = {
  /** Args: an ARGS.json URI or a run tree item; then an ExportRequest (tests) instead of the prompts. Returns the folder. */
  'tuner.exportForCluster': () => async (arg: unknown, req: unknown) => {
    const argsFile = await argsFileOf(arg);
    if (!argsFile) return undefined;
    const target = await clusterTarget((req && typeof req === 'object' ? req : {}) as ExportRequest);
    if (!target) return undefined;
    const r = exportHandoff(argsFile, target, (req as ExportRequest | undefined)?.outDir);
    const readme = vscode.Uri.file(path.join(r.dir, 'README.md'));
    void vscode.window.showInformationMessage(handoffSummary(r), vscode.l10n.t('Open README')).then((c) => c && vscode.commands.executeCommand('vscode.open', readme));
    return r.dir;
  },
  /** Args: the trained folder (URI or path) and an ARGS.json URI or run tree item; prompts for what is missing. Returns the run id. */
  'tuner.importTrained': (s) => async (from: unknown, argsArg: unknown) => {
    let dir = from instanceof vscode.Uri ? from.fsPath : typeof from === 'string' ? from : undefined;
    if (!dir) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: vscode.l10n.t('Import'), title: vscode.l10n.t('The adapter folder (adapter_config.json) or merged model folder (config.json) trained on the cluster') });
      dir = picked?.[0]?.fsPath;
    }
    if (!dir) return undefined;
    if (!fs.existsSync(dir)) throw new Error(vscode.l10n.t('{0} does not exist.', dir));
    const argsFile = await argsFileOf(argsArg);
    if (!argsFile) return undefined;
    const ws = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(argsFile))?.uri.fsPath ?? path.dirname(argsFile);
    const r = importTrained({ argsFile, from: dir, workspaceDir: ws });
    s.runTree.refresh();
    log.info(`imported ${r.kind} ${dir} as run ${r.run.id}`);
    void vscode.window
      .showInformationMessage(vscode.l10n.t('Imported {0} as run {1}: it fits {2}\'s model. Try it in the playground.', path.basename(dir), r.run.id, path.basename(argsFile)), vscode.l10n.t('Try in Playground'))
      .then((c) => c && vscode.commands.executeCommand('tuner.tryInPlayground', r.run.id));
    return r.run.id;
  },
};
