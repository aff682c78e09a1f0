// Wires the fine-tuning surfaces: run controller, status bar, runs view, dashboard serializer
// and the debugger, and watches the runs' registries (runs/*/run.json) for runs of other windows. Returns the services the command table and the extension API use.
import * as vscode from 'vscode';
import { DashboardPanel } from './dashboard-panel';
import { registerDebugging } from './debug-config';
import { log } from './output';
import { RunController } from './run-controller';
import { reattachReports } from './run-reattach';
import type { RunServices } from './run-commands';
import { RunStatusBar } from './run-status-bar';
import { RunTreeProvider } from './run-tree';

export interface RunsApi extends RunServices {
  statusBar: RunStatusBar;
  /** What was reported of runs that ended while no window followed them (for the integration tests). */
  reattachReports: typeof reattachReports;
  /** The open dashboard of a run (for the integration tests). */
  dashboard(runId: string): DashboardPanel | undefined;
  /**
   * While true, other windows' runs are not followed on their own (only by Refresh Runs and
   * activation): the integration tests play a window that was closed while runs ended.
   */
  registryWatch: { paused: boolean };
}

/** Registry writes come in bursts (run made, trainer started): looked at once they settle. */
const REGISTRY_SETTLE_MS = 300;

export function registerRuns(ctx: vscode.ExtensionContext): RunsApi {
  const runs = new RunController(vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'prepare-worker.js').fsPath, vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'lint-worker.js').fsPath);
  const statusBar = new RunStatusBar(runs);
  const runTree = new RunTreeProvider(runs);
  ctx.subscriptions.push(runs, statusBar, runTree, vscode.window.registerTreeDataProvider('tuner.runs', runTree));
  DashboardPanel.register(ctx, runs);
  registerDebugging(ctx, runs);
  // Trainers that outlived the last window are followed again now, not when a view first asks.
  const lookAgain = () => {
    try {
      if (runs.hasWorkspace()) runs.reattach();
    } catch (e) {
      log.warn(`could not look for live runs: ${(e as Error).message}`);
    }
    runTree.refresh();
  };
  if (runs.hasWorkspace()) lookAgain();
  // Runs another window starts (or ends) appear without a Refresh: their run.json is written when
  // the run is made, when its trainer starts and ends, and when a window lets it go.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const registryWatch = { paused: false };
  const soon = () => (timer ??= setTimeout(() => ((timer = undefined), registryWatch.paused || lookAgain()), REGISTRY_SETTLE_MS));
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if (folder.uri.scheme !== 'file') continue;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, 'runs/*/run.json'));
    ctx.subscriptions.push(watcher, watcher.onDidCreate(soon), watcher.onDidChange(soon), watcher.onDidDelete(soon));
  }
  ctx.subscriptions.push({ dispose: () => timer && clearTimeout(timer) });
  return { runs, runTree, statusBar, ctx, reattachReports, registryWatch, dashboard: (id) => DashboardPanel.get(id) };
}
