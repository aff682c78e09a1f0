// Code actions on dataset documents, all as undoable WorkspaceEdits: each problem's own fixes,
// "fix all" of one rule and of the whole file (source.fixAll.tuner, so editor.codeActionsOnSave
// can run it), and conversions of the record under the cursor or of every record to another
// format. The whole-file actions compute their edits only when chosen (resolveCodeAction).
import * as vscode from 'vscode';
import { convertDocumentEdits, convertLineEdit } from '../core/dataset/convert';
import { FORMATS, type FormatId } from '../core/dataset/formats';
import type { TextEdit } from '../core/dataset/problem';
import { ruleByCode, ruleById } from '../core/dataset/rules';
import type { JsonlLinter } from './jsonl-diagnostics';
import { mergeFixes, preferredFix } from './merge-fixes';
import { log } from './output';
import { DIAGNOSTIC_SOURCE, diagnosticCode, sameRange, toWorkspaceEdit } from './problem-mapping';

const MAX_CONVERTIBLE_LINE_CHARS = 200_000;

export const FIX_ALL_KIND = vscode.CodeActionKind.SourceFixAll.append('tuner');

class DeferredAction extends vscode.CodeAction {
  readonly version: number;

  constructor(title: string, kind: vscode.CodeActionKind, readonly doc: vscode.TextDocument, readonly computeEdits: () => TextEdit[]) {
    super(title, kind);
    this.version = doc.version;
  }
}

const BOM_CODE = ruleById('bom').code;

/** The editor holds a BOM as the file's encoding, not as text: removing it means saving as plain UTF-8. */
function saveWithoutBom(doc: vscode.TextDocument, diag: vscode.Diagnostic): vscode.CodeAction {
  const action = new vscode.CodeAction(vscode.l10n.t('Save as UTF-8 without byte order mark (Change File Encoding)…'), vscode.CodeActionKind.QuickFix);
  action.command = { title: action.title, command: 'workbench.action.editor.changeEncoding', arguments: [doc.uri] };
  action.diagnostics = [diag];
  return action;
}

function formatLabel(id: FormatId): string {
  return FORMATS.find((f) => f.id === id)?.label ?? id;
}

export class JsonlCodeActionProvider implements vscode.CodeActionProvider<vscode.CodeAction> {
  static readonly metadata: vscode.CodeActionProviderMetadata = {
    providedCodeActionKinds: [vscode.CodeActionKind.QuickFix, vscode.CodeActionKind.RefactorRewrite, FIX_ALL_KIND],
  };

  constructor(private readonly linter: JsonlLinter) {}

  provideCodeActions(doc: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const report = this.linter.report(doc.uri);
    if (!report) return [];
    // Fixes are edits of the text that was linted: after further typing they could land on the
    // wrong characters, so they wait for the next lint (a few hundred ms).
    const problems = report.version === doc.version ? report.result.problems : [];
    const actions: vscode.CodeAction[] = [];
    const offeredFixAll = new Set<string>();

    for (const diag of context.diagnostics) {
      if (diag.source !== DIAGNOSTIC_SOURCE) continue;
      const code = diagnosticCode(diag);
      if (code === BOM_CODE) actions.push(saveWithoutBom(doc, diag));
      const problem = problems.find((p) => p.code === code && p.message === diag.message && sameRange(diag.range, p.range));
      if (!problem?.fixes?.length) continue;
      for (const fix of problem.fixes) {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.edit = toWorkspaceEdit(doc, fix.edits);
        action.diagnostics = [diag];
        action.isPreferred = fix.preferred;
        actions.push(action);
      }
      if (code && !offeredFixAll.has(code)) {
        offeredFixAll.add(code);
        const same = problems.filter((p) => p.code === code && preferredFix(p));
        if (same.length > 1) {
          const title = vscode.l10n.t('Fix all {0} "{1}" problems in the file', same.length, ruleByCode(code)?.title ?? code);
          actions.push(new DeferredAction(title, vscode.CodeActionKind.QuickFix, doc, () => mergeFixes(same)));
        }
      }
    }

    if (problems.some(preferredFix)) {
      actions.push(new DeferredAction(vscode.l10n.t('Fix all auto-fixable dataset problems'), FIX_ALL_KIND, doc, () => mergeFixes(problems)));
    }

    actions.push(...this.conversions(doc, range.start.line, report.result.format));
    return actions;
  }

  resolveCodeAction(action: vscode.CodeAction): vscode.CodeAction {
    if (action instanceof DeferredAction && !action.edit) {
      if (action.doc.version !== action.version) {
        log.warn(`${action.title}: the document changed since the actions were offered; nothing applied`);
        return action;
      }
      const started = performance.now();
      const edits = action.computeEdits();
      action.edit = toWorkspaceEdit(action.doc, edits);
      log.info(`${action.title}: ${edits.length} edits in ${(performance.now() - started).toFixed(0)} ms`);
    }
    return action;
  }

  /** Conversions offered where the record under the cursor converts losslessly. */
  private conversions(doc: vscode.TextDocument, line: number, fileFormat: string): vscode.CodeAction[] {
    if (line >= doc.lineCount) return [];
    const text = doc.lineAt(line).text;
    // The light bulb asks on every cursor move: parsing a multi-megabyte line each time would
    // make the editor stutter, and such a record is too long to train on anyway.
    if (text.length > MAX_CONVERTIBLE_LINE_CHARS) return [];
    const out: vscode.CodeAction[] = [];
    for (const { id } of FORMATS) {
      const edit = convertLineEdit(text, line, id);
      if (!edit) continue;
      const one = new vscode.CodeAction(vscode.l10n.t('Convert this record to {0}', formatLabel(id)), vscode.CodeActionKind.RefactorRewrite);
      one.edit = toWorkspaceEdit(doc, [edit]);
      out.push(one);
      if (doc.lineCount > 1 || fileFormat !== id) {
        out.push(new DeferredAction(vscode.l10n.t('Convert every record in the file to {0}', formatLabel(id)), vscode.CodeActionKind.RefactorRewrite, doc,
          () => convertDocumentEdits(doc.getText(), id)));
      }
    }
    return out;
  }
}

export function registerJsonlCodeActions(ctx: vscode.ExtensionContext, linter: JsonlLinter): void {
  // Every document: which ones are datasets depends on a setting, and the provider answers
  // nothing for documents the linter has no report for.
  ctx.subscriptions.push(vscode.languages.registerCodeActionsProvider([{ scheme: 'file' }, { scheme: 'untitled' }, { scheme: 'vscode-vfs' }], new JsonlCodeActionProvider(linter), JsonlCodeActionProvider.metadata));
}
