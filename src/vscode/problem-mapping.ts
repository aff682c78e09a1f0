// Translation between the linter's plain types and VS Code's: positions are already 0-based
// lines and UTF-16 columns on both sides, so this is a one-to-one copy.
import * as vscode from 'vscode';
import type { Problem, Range, Severity, TextEdit } from '../core/dataset/problem';
import { ruleByCode } from '../core/dataset/rules';
import { RULE_DOCS_PATH, ruleDocsAnchor } from './rule-docs';

export const DIAGNOSTIC_SOURCE = 'tuner';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
  hint: vscode.DiagnosticSeverity.Hint,
};

export function toRange(r: Range): vscode.Range {
  return new vscode.Range(r.line, r.col, r.endLine, r.endCol);
}

/** Link from a diagnostic's code to the rule's section in the shipped docs/lint-rules.md. */
export function ruleDocsUri(extensionUri: vscode.Uri, code: string): vscode.Uri {
  const key = `${extensionUri.toString()}#${code}`;
  let uri = docsUris.get(key);
  if (!uri) {
    uri = vscode.Uri.joinPath(extensionUri, ...RULE_DOCS_PATH.split('/')).with({ fragment: ruleDocsAnchor(code) });
    docsUris.set(key, uri);
  }
  return uri;
}

// A large file has thousands of diagnostics but only a few dozen codes.
const docsUris = new Map<string, vscode.Uri>();

export function toDiagnostic(p: Problem, extensionUri: vscode.Uri): vscode.Diagnostic {
  const d = new vscode.Diagnostic(toRange(p.range), p.message, SEVERITY[p.severity]);
  d.source = DIAGNOSTIC_SOURCE;
  d.code = { value: p.code, target: ruleDocsUri(extensionUri, p.code) };
  // Duplicates are drawn faded, like unused code: the record adds nothing.
  const id = ruleByCode(p.code)?.id;
  if (id === 'duplicate-record' || id === 'near-duplicate') d.tags = [vscode.DiagnosticTag.Unnecessary];
  return d;
}

export function diagnosticCode(d: vscode.Diagnostic): string | undefined {
  const c = d.code;
  if (c === undefined) return undefined;
  return typeof c === 'object' ? String(c.value) : String(c);
}

/** The edits of one fix as an undoable WorkspaceEdit, clamped to the document. */
export function toWorkspaceEdit(doc: vscode.TextDocument, edits: readonly TextEdit[], into = new vscode.WorkspaceEdit()): vscode.WorkspaceEdit {
  for (const e of edits) into.replace(doc.uri, doc.validateRange(toRange(e.range)), e.newText);
  return into;
}

export function sameRange(a: vscode.Range, b: Range): boolean {
  return a.start.line === b.line && a.start.character === b.col && a.end.line === b.endLine && a.end.character === b.endCol;
}
