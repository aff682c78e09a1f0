// Files the @tuner participant reads and writes: ARGS.json (found in the workspace, written as an
// undoable WorkspaceEdit and saved, with the previous text kept for a diff) and TRAINING.md. Also
// records each chat turn (markdown and buttons) so integration tests see what the user saw.
import * as vscode from 'vscode';
import type { Args } from '../core/args/fields';
import { validateArgsText, type ArgsCheck } from '../core/args/validate';

export const PREVIOUS_SCHEME = 'tuner-previous';

/** The ARGS.json @tuner works on: the one open in the active editor, else the one at the folder's root (existing or new). */
export function findArgsFile(folder: vscode.WorkspaceFolder): vscode.Uri {
  const active = vscode.window.activeTextEditor?.document.uri;
  if (active && active.scheme === 'file' && active.path.endsWith('/ARGS.json') && vscode.workspace.getWorkspaceFolder(active)?.uri.toString() === folder.uri.toString()) return active;
  return vscode.Uri.joinPath(folder.uri, 'ARGS.json');
}

export async function readText(uri: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return open.getText();
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

export async function readArgs(uri: vscode.Uri): Promise<{ text?: string; check?: ArgsCheck }> {
  const text = await readText(uri);
  return text === undefined ? {} : { text, check: validateArgsText(text) };
}

/** Keeps the text a file had before @tuner changed it, for "Show changes". */
export class PreviousVersions implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private seq = 0;

  remember(uri: vscode.Uri, text: string): vscode.Uri {
    const id = String(++this.seq);
    this.texts.set(id, text);
    return vscode.Uri.from({ scheme: PREVIOUS_SCHEME, path: uri.path, query: id });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.query) ?? '';
  }
}

/**
 * Writes `text` to `uri` as one WorkspaceEdit (undoable, visible in the editor's history) and
 * saves it, so the trainer and the pre-flight diagnostics read the new plan. Returns the previous
 * text, if the file existed.
 */
export async function writeFileEdit(uri: vscode.Uri, text: string, label: string): Promise<string | undefined> {
  const previous = await readText(uri);
  const edit = new vscode.WorkspaceEdit();
  const meta: vscode.WorkspaceEditEntryMetadata = { label, needsConfirmation: false };
  if (previous === undefined) {
    edit.createFile(uri, { ignoreIfExists: true }, meta);
    edit.insert(uri, new vscode.Position(0, 0), text, meta);
  } else {
    const doc = await vscode.workspace.openTextDocument(uri);
    edit.replace(uri, doc.validateRange(new vscode.Range(0, 0, doc.lineCount + 1, 0)), text, meta);
  }
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(vscode.l10n.t('VS Code refused the edit to {0}', uri.fsPath));
  const doc = await vscode.workspace.openTextDocument(uri);
  if (doc.isDirty && !(await doc.save())) {
    // A save participant can veto saving a new untitled-like document; the edit stays in the
    // editor (undoable) and the same text goes to disk so the file exists for the next step.
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(doc.getText()));
  }
  return previous;
}

export function argsText(args: Args): string {
  return JSON.stringify(args, null, 2) + '\n';
}

export interface RecordedTurn {
  prompt: string;
  command?: string;
  markdown: string;
  buttons: { title: string; command: string; arguments: unknown[] }[];
  metadata?: Record<string, unknown>;
}

/** A ChatResponseStream that also keeps what was shown. */
export class RecordingStream {
  readonly turn: RecordedTurn;

  constructor(private readonly inner: vscode.ChatResponseStream, prompt: string, command?: string) {
    this.turn = { prompt, command, markdown: '', buttons: [] };
  }

  markdown(text: string): void {
    this.turn.markdown += text;
    this.inner.markdown(text);
  }

  progress(text: string): void {
    this.inner.progress(text);
  }

  button(command: vscode.Command): void {
    this.turn.buttons.push({ title: command.title, command: command.command, arguments: command.arguments ?? [] });
    this.inner.button(command);
  }

  reference(uri: vscode.Uri): void {
    this.inner.reference(uri);
  }
}

export class ChatRecorder {
  private readonly list: RecordedTurn[] = [];
  add(t: RecordedTurn): void {
    this.list.push(t);
    if (this.list.length > 50) this.list.shift();
  }
  turns(): readonly RecordedTurn[] {
    return this.list;
  }
}
