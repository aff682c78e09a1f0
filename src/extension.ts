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
import { useL10nBundle } from './core/l10n-bundle';

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
  /**
   * Milliseconds spent running dist/extension.js's code (parsing excluded), in activate(), and
   * from the bundle's first line to the end of activate() (which includes the host's own work
   * between loading and activating).
   */
  activation: { loadMs: number | undefined; activateMs: number; loadAndActivateMs: number | undefined; cpu: { loadMs: number | undefined; activateMs: number } };
}

/** Set by the bundle's first and last lines (scripts/bundle-options.mjs): when this file started and ended loading. */
declare const __tunerLoadStart: number | undefined;
declare const __tunerLoadEnd: number | undefined;
/** CPU time the bundle's code took to run (the footer's process.cpuUsage since the banner). */
declare const __tunerLoadCpuEnd: NodeJS.CpuUsage | undefined;

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/**
 * Activates Tuner. A failure here would otherwise leave every command saying "not found" with
 * the reason only in a log: it is shown to the user (with the log one click away) and rethrown
 * so VS Code marks the activation failed.
 */
export function activate(ctx: vscode.ExtensionContext): TunerApi {
  const started = performance.now();
  const startedCpu = process.cpuUsage();
  // src/core composes its text with @vscode/l10n: the display language's bundle, for this thread
  // and (through l10n-bundle.ts) the workers
  useL10nBundle(vscode.l10n.bundle, vscode.l10n.uri?.fsPath);
  registerOutput(ctx);
  try {
    const api = activateParts(ctx, started, startedCpu);
    const { loadMs, activateMs, cpu } = api.activation;
    log.info(`activated in ${activateMs.toFixed(1)} ms (CPU ${cpu.activateMs.toFixed(1)} ms)${loadMs !== undefined ? ` after ${loadMs.toFixed(1)} ms (CPU ${cpu.loadMs?.toFixed(1)} ms) loading the bundle` : ''}`);
    return api;
  } catch (err) {
    log.error('Tuner could not start', err);
    const message = err instanceof Error ? err.message : String(err);
    const showLog = vscode.l10n.t('Show Log');
    void vscode.window.showErrorMessage(vscode.l10n.t('Tuner could not start: {0}', message), showLog).then((choice) => choice === showLog && log.show());
    throw err;
  }
}

function activateParts(ctx: vscode.ExtensionContext, started: number, startedCpu: NodeJS.CpuUsage): TunerApi {
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
      loadMs: typeof __tunerLoadStart === 'number' && typeof __tunerLoadEnd === 'number' ? __tunerLoadEnd - __tunerLoadStart : undefined,
      loadAndActivateMs: typeof __tunerLoadStart === 'number' ? performance.now() - __tunerLoadStart : undefined,
      cpu: {
        loadMs: typeof __tunerLoadCpuEnd === 'object' ? cpuMs(__tunerLoadCpuEnd) : undefined,
        activateMs: cpuMs(process.cpuUsage(startedCpu)),
      },
    },
  };
}

export function deactivate(): void {}
