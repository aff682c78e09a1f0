// Which open documents are JSON lines datasets: language `jsonl` (every *.jsonl file), plus
// files matching the `tuner.lint.include` globs. Only real files and unsaved buffers count, so
// diff views and virtual documents do not get a second copy of the diagnostics.
import * as vscode from 'vscode';
import { Config } from './config';

const LINTED_SCHEMES = new Set(['file', 'untitled', 'vscode-vfs']);

export function isDatasetDocument(doc: vscode.TextDocument): boolean {
  if (!LINTED_SCHEMES.has(doc.uri.scheme)) return false;
  if (doc.languageId === 'jsonl') return true;
  return Config.lintInclude(doc.uri).some((pattern) => vscode.languages.match({ pattern }, doc) > 0);
}

/** The dataset a command applies to: the given file, else the active editor's document. */
export async function datasetDocumentFor(uri?: unknown): Promise<vscode.TextDocument> {
  const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!target) throw new Error(vscode.l10n.t('open a .jsonl dataset (or pick one in the Explorer) first'));
  return vscode.workspace.openTextDocument(target);
}
