// Shared helpers of the integration suite: the extension's API, the per-run workspace, and
// waiting for the asynchronous results (diagnostics, lint reports) the tests observe.
import * as vscode from 'vscode';
import type { TunerApi } from '../../../src/extension';

export async function tunerApi(): Promise<TunerApi> {
  const ext = vscode.extensions.getExtension<TunerApi>('tuner.tuner');
  if (!ext) throw new Error('extension tuner.tuner is not loaded');
  return ext.activate();
}

export function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) throw new Error('the tests need a workspace folder (the launcher opens a copy of test/integration/workspace)');
  return vscode.Uri.joinPath(folder.uri, name);
}

export async function openDataset(name: string): Promise<vscode.TextDocument> {
  const doc = await vscode.workspace.openTextDocument(workspaceFile(name));
  await vscode.window.showTextDocument(doc);
  return doc;
}

/** Polls `probe` until it returns something truthy; fails with `what` and the last value seen. */
export async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  while (Date.now() < deadline) {
    last = probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

export function codeOf(d: vscode.Diagnostic): string {
  return typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

/** Diagnostics of `uri` as "CODE line:col-line:col", sorted, for readable assertions. */
export function diagnosticSummary(uri: vscode.Uri): string[] {
  return vscode.languages.getDiagnostics(uri)
    .filter((d) => d.source === 'tuner')
    .map((d) => `${codeOf(d)} ${d.range.start.line}:${d.range.start.character}-${d.range.end.line}:${d.range.end.character}`)
    .sort();
}

export function rangeText(line: number, col: number, endLine: number, endCol: number): string {
  return `${line}:${col}-${endLine}:${endCol}`;
}

/** Waits until the diagnostics equal `expected` (as produced by diagnosticSummary). */
export async function waitForDiagnostics(uri: vscode.Uri, expected: string[], timeoutMs?: number): Promise<void> {
  const want = [...expected].sort();
  await waitFor(`diagnostics ${JSON.stringify(want)} on ${uri.path}`, () => {
    const now = diagnosticSummary(uri);
    return JSON.stringify(now) === JSON.stringify(want) ? now : (false as const);
  }, timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}\n  actual: ${JSON.stringify(diagnosticSummary(uri))}`);
  });
}

export async function codeActions(uri: vscode.Uri, range: vscode.Range, kind?: vscode.CodeActionKind): Promise<vscode.CodeAction[]> {
  // itemResolveCount: resolve the deferred (whole-file) actions too, as choosing them in the UI does.
  return (await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, range, kind?.value, 100)) ?? [];
}

/**
 * Code actions at `range` once one titled `title` is offered: a clean file's diagnostics are []
 * before its first lint as well as after it, so waiting for them does not say the lint report
 * the actions come from exists yet.
 */
export async function codeActionsOffering(uri: vscode.Uri, range: vscode.Range, kind: vscode.CodeActionKind, title: string, timeoutMs = 20_000): Promise<vscode.CodeAction[]> {
  const deadline = Date.now() + timeoutMs;
  let actions: vscode.CodeAction[] = [];
  while (Date.now() < deadline) {
    actions = await codeActions(uri, range, kind);
    if (actions.some((a) => a.title === title)) return actions;
    await new Promise((r) => setTimeout(r, 50));
  }
  return actions;
}

export async function applyAction(actions: vscode.CodeAction[], title: string | RegExp): Promise<void> {
  const action = actions.find((a) => (typeof title === 'string' ? a.title === title : title.test(a.title)));
  if (!action) throw new Error(`no code action "${title}" among: ${actions.map((a) => a.title).join(' | ')}`);
  if (!action.edit) throw new Error(`code action "${action.title}" has no edit`);
  if (!(await vscode.workspace.applyEdit(action.edit))) throw new Error(`applying "${action.title}" failed`);
}

/** Reverts unsaved edits (so the next test sees the fixture as it is on disk, and no dialog asks) and closes every editor. */
export async function closeAllEditors(): Promise<void> {
  for (const doc of vscode.workspace.textDocuments.filter((d) => d.isDirty && !d.isUntitled)) {
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.action.files.revert');
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}
