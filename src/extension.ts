// Entry point: creates the adapters and wires them together. No logic lives here.
import * as vscode from 'vscode';
import { registerArgs } from './vscode/args';
import { registerCommands } from './vscode/commands';
import { DatasetStatusBar } from './vscode/dataset-status-bar';
import { registerDatasetStats } from './vscode/dataset-stats';
import { registerJsonlCodeActions } from './vscode/jsonl-code-actions';
import { registerJsonlDiagnostics, type LintReport } from './vscode/jsonl-diagnostics';
import { log, registerOutput, shownErrors } from './vscode/output';
import { registerSettingsLog } from './vscode/config';
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
  /** Milliseconds from loading dist/extension.js to the end of activate(), and of activate() alone. */
  activation: { loadAndActivateMs: number | undefined; activateMs: number };
}

/** Set by the bundle's first line (scripts/bundle.mjs banner): when this file started loading. */
declare const __tunerLoadStart: number | undefined;

/**
 * Activates Tuner. A failure here would otherwise leave every command saying "not found" with
 * the reason only in a log: it is shown to the user (with the log one click away) and rethrown
 * so VS Code marks the activation failed.
 */
export function activate(ctx: vscode.ExtensionContext): TunerApi {
  const started = performance.now();
  registerOutput(ctx);
  try {
    const api = activateParts(ctx, started);
    log.info(`activated in ${api.activation.activateMs.toFixed(1)} ms${api.activation.loadAndActivateMs !== undefined ? ` (${api.activation.loadAndActivateMs.toFixed(1)} ms with loading the bundle)` : ''}`);
    return api;
  } catch (err) {
    log.error('Tuner could not start', err);
    const message = err instanceof Error ? err.message : String(err);
    const showLog = vscode.l10n.t('Show Log');
    void vscode.window.showErrorMessage(vscode.l10n.t('Tuner could not start: {0}', message), showLog).then((choice) => choice === showLog && log.show());
    throw err;
  }
}

function activateParts(ctx: vscode.ExtensionContext, started: number): TunerApi {
  registerSettingsLog(ctx);
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
    activation: {
      activateMs: performance.now() - started,
      loadAndActivateMs: typeof __tunerLoadStart === 'number' ? performance.now() - __tunerLoadStart : undefined,
    },
  };
}

export function deactivate(): void {}
