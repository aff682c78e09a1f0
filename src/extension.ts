// Entry point: creates the adapters and wires them together. No logic lives here.
import * as vscode from 'vscode';
import { registerArgs } from './vscode/args';
import { registerCommands } from './vscode/commands';
import { DatasetStatusBar } from './vscode/dataset-status-bar';
import { registerDatasetStats } from './vscode/dataset-stats';
import { registerJsonlCodeActions } from './vscode/jsonl-code-actions';
import { registerJsonlDiagnostics, type LintReport } from './vscode/jsonl-diagnostics';
import { registerOutput, shownErrors } from './vscode/output';
import { registerChatParticipant } from './vscode/chat-participant';
import type { RecordedTurn } from './vscode/chat-files';
import { PlaygroundPanel } from './vscode/playground-panel';
import { registerRuns, type RunsApi } from './vscode/runs';
import { isLive } from './core/run/run-state';
import { PlannerSecrets } from './vscode/secrets';

/** What the extension exposes to other extensions and to its integration tests. */
export interface TunerApi {
  lintReport(uri: vscode.Uri): LintReport | undefined;
  statusBarText(): string;
  runs: RunsApi;
  /** What @tuner showed in each chat turn (markdown, buttons), newest last. */
  chatTurns(): readonly RecordedTurn[];
  chatHandler: vscode.ChatRequestHandler;
  /** The open playground panel (for the integration tests). */
  playground(): PlaygroundPanel | undefined;
  /** The last error messages Tuner showed, oldest first (for the integration tests). */
  errorsShown(): readonly string[];
}

export function activate(ctx: vscode.ExtensionContext): TunerApi {
  registerOutput(ctx);
  const linter = registerJsonlDiagnostics(ctx);
  registerJsonlCodeActions(ctx, linter);
  registerDatasetStats(ctx);
  const statusBar = new DatasetStatusBar(linter);
  ctx.subscriptions.push(statusBar);
  const runs = registerRuns(ctx);
  const plannerSecrets = new PlannerSecrets(ctx.secrets);
  const chat = registerChatParticipant(ctx, plannerSecrets);
  const args = registerArgs(ctx);
  // A run that ended measured this machine's speed: ARGS.json estimates use it from then on.
  ctx.subscriptions.push(runs.runs.onDidChange((s) => s && !isLive(s.snapshot.status) && args.argsDiagnostics.speedMeasured()));
  PlaygroundPanel.register(ctx);
  registerCommands(ctx, { linter, ...runs, plannerSecrets, ...args });
  return {
    runs,
    chatTurns: () => chat.recorder.turns(),
    chatHandler: chat.handler,
    lintReport: (uri) => linter.report(uri),
    statusBarText: () => statusBar.text,
    playground: () => PlaygroundPanel.get(),
    errorsShown: () => shownErrors,
  };
}

export function deactivate(): void {}
