// Quick fixes on ARGS.json: each diagnostic's fixes from the validator (LMTuner key renames,
// value conversions, removing a secret) and from the estimate (a setting that makes the run
// fit), applied as undoable WorkspaceEdits.
import * as vscode from 'vscode';
import { ARGS_DIAGNOSTIC_SOURCE, type ArgsDiagnostics } from './args-diagnostics';
import { sameRange, toWorkspaceEdit } from './problem-mapping';

export class ArgsCodeActionProvider implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };

  constructor(private readonly diags: ArgsDiagnostics) {}

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const st = this.diags.state(doc.uri);
    // Edits were computed on one version of the text; on another they could hit the wrong characters.
    if (!st || st.version !== doc.version) return [];
    const actions: vscode.CodeAction[] = [];
    const seen = new Set<string>();
    for (const diag of context.diagnostics) {
      if (diag.source !== ARGS_DIAGNOSTIC_SOURCE) continue;
      const problem = st.problems.find((p) => String(p.code) === String(diag.code) && sameRange(diag.range, p.range) && p.message === diag.message);
      for (const fix of problem?.fixes ?? []) {
        if (seen.has(fix.title)) continue;
        seen.add(fix.title);
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.edit = toWorkspaceEdit(doc, fix.edits);
        action.diagnostics = [diag];
        action.isPreferred = fix.preferred === true;
        actions.push(action);
      }
    }
    return actions;
  }
}

export function registerArgsCodeActions(ctx: vscode.ExtensionContext, diags: ArgsDiagnostics): void {
  ctx.subscriptions.push(
    vscode.languages.registerCodeActionsProvider({ pattern: '**/ARGS.json' }, new ArgsCodeActionProvider(diags), ArgsCodeActionProvider.metadata),
  );
}
