// Wires the fine-tuning surfaces: run controller, status bar, runs view, dashboard serializer
// and the debugger. Returns the services the command table and the extension API use.
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
}

export function registerRuns(ctx: vscode.ExtensionContext): RunsApi {
  const runs = new RunController(vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'prepare-worker.js').fsPath, vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'lint-worker.js').fsPath);
  const statusBar = new RunStatusBar(runs);
  const runTree = new RunTreeProvider(runs);
  ctx.subscriptions.push(runs, statusBar, runTree, vscode.window.registerTreeDataProvider('tuner.runs', runTree));
  DashboardPanel.register(ctx, runs);
  registerDebugging(ctx, runs);
  // Trainers that outlived the last window are followed again now, not when a view first asks.
  if (runs.hasWorkspace()) {
    try {
      runs.reattach();
    } catch (e) {
      log.warn(`could not look for live runs: ${(e as Error).message}`);
    }
  }
  return { runs, runTree, statusBar, ctx, reattachReports, dashboard: (id) => DashboardPanel.get(id) };
}
