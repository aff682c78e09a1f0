// "Tuner: Prepare Dataset": tokenizes the data named in an ARGS.json into training shards in a
// worker, with a cancellable progress notification, then says what happened (records kept,
// cut and dropped, with the report one click away) and warns when the template's end of answer
// is not a token the model stops at.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { withCancellableProgress } from './cancellable-progress';
import { resolveArgs } from '../core/args/fields';
import { validateArgsText } from '../core/args/validate';
import { prepareInWorker } from '../core/dataset/prepare-client';
import { summarizeReport } from '../core/dataset/prepare';
import type { PrepareOutcome } from '../core/dataset/prepare-worker';
import { findArgsFor } from '../core/args/find-args';
import { log } from './output';
import { requireTrust, withOutsideConfirmation } from './workspace-guard';

async function pickArgsFile(uri: unknown): Promise<string | undefined> {
  const given = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (given?.scheme === 'file') {
    if (path.basename(given.fsPath) === 'ARGS.json') return given.fsPath;
    const found = findArgsFor(given.fsPath, vscode.workspace.getWorkspaceFolder(given)?.uri.fsPath);
    if (found) return found;
  }
  const all = await vscode.workspace.findFiles('**/ARGS.json', '**/node_modules/**', 50);
  if (all.length === 0) throw new Error(vscode.l10n.t('no ARGS.json in this workspace: create one (ask @tuner, or start from docs/args.md) naming "model" and "data".'));
  if (all.length === 1) return all[0].fsPath;
  const pick = await vscode.window.showQuickPick(all.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })), { placeHolder: vscode.l10n.t('Which run should be prepared?') });
  return pick?.uri.fsPath;
}

export async function prepareDatasetCommand(extensionUri: vscode.Uri, uri: unknown): Promise<PrepareOutcome | undefined> {
  await requireTrust(vscode.l10n.t('Preparing a dataset'));
  const argsFile = await pickArgsFile(uri);
  if (!argsFile) return undefined;
  // ARGS.json's paths must stay in its workspace folder (or its own folder, outside any).
  const workspace = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(argsFile))?.uri.fsPath ?? path.dirname(argsFile);
  const doc = await vscode.workspace.openTextDocument(argsFile);
  const check = validateArgsText(doc.getText());
  if (!check.args) {
    const first = check.problems.find((p) => p.severity === 'error')!;
    throw new Error(`${argsFile}:${first.range.line + 1}: ${first.message}`);
  }
  const args = resolveArgs(check.args);
  const workerPath = vscode.Uri.joinPath(extensionUri, 'dist', 'prepare-worker.js').fsPath;
  const outcome = await withOutsideConfirmation((allowed) => withCancellableProgress(vscode.l10n.t('Preparing {0}', path.basename(args.data)), (signal, report) =>
    prepareInWorker(workerPath, args, argsFile, {
      onStage: (message) => report(message),
      onProgress: (p) => report(p.fraction, vscode.l10n.t('{0} records, {1} tokens', p.records, p.tokens)),
    }, signal, undefined, { workspace, allowed }),
  ));
  if (!outcome) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Preparation cancelled; the previous shards are unchanged.'));
    return undefined;
  }
  const summary = summarizeReport(outcome.report);
  log.info(`Prepared ${args.data} -> ${outcome.outDir}\n${summary}`);
  if (outcome.eosWarning) {
    log.warn(outcome.eosWarning);
    void vscode.window.showWarningMessage(vscode.l10n.t('Tuner: {0}', outcome.eosWarning));
  }
  const problems = outcome.report.dropped.length + outcome.report.truncated.length;
  const r = outcome.report;
  const text = problems
    ? vscode.l10n.t('Prepared {0} examples ({1} trained tokens); {2} cut, {3} dropped.', r.trainDocuments, r.trainedTokens, r.truncated.length, r.dropped.length)
    : vscode.l10n.t('Prepared {0} examples ({1} trained tokens).', r.trainDocuments, r.trainedTokens);
  void vscode.window.showInformationMessage(text, vscode.l10n.t('Open Report')).then(async (choice) => {
    if (choice) await vscode.window.showTextDocument(vscode.Uri.file(path.join(outcome.outDir, 'prep-report.json')));
  }, () => undefined);
  return outcome;
}

export interface PrepareServices {
  extensionUri: vscode.Uri;
}

export const PREPARE_COMMANDS = {
  /** Args (optional): an ARGS.json or dataset URI. Returns the outcome (report, output folder). */
  'tuner.prepareDataset': (s: PrepareServices) => (uri: unknown) => prepareDatasetCommand(s.extensionUri, uri),
};
