// Hover on ARGS.json: a key shows its allowed values and default (from the field table; what it
// means comes from the JSON schema's own hover, once); the "model" key shows the pre-flight
// estimate (memory term by term, the run's time).
import { getLocation } from 'jsonc-parser';
import * as vscode from 'vscode';
import { fieldDef, isArgsFieldName } from '../core/args/fields';
import { lmtunerKey } from '../core/args/lmtuner';
import { estimateMarkdown as estimateMarkdownText } from '../core/args/estimate-markdown';
import type { Preflight } from '../core/args/preflight';
import type { ArgsDiagnostics } from './args-diagnostics';

export function estimateMarkdown(pf: Preflight): vscode.MarkdownString {
  return new vscode.MarkdownString(estimateMarkdownText(pf));
}

export class ArgsHoverProvider implements vscode.HoverProvider {
  constructor(private readonly diags: ArgsDiagnostics) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const loc = getLocation(doc.getText(), doc.offsetAt(pos));
    if (loc.path.length !== 1 || typeof loc.path[0] !== 'string') return undefined;
    const key = loc.path[0];
    const md = new vscode.MarkdownString();
    if (isArgsFieldName(key)) {
      const def = fieldDef(key);
      // The description is the schema's hover (jsonValidation): VS Code shows it beside this one.
      if (def.kind === 'enum' || def.kind === 'enum-array') md.appendMarkdown(vscode.l10n.t('Values: {0}', def.values.map((v) => `\`${v}\``).join(', ')) + '\n\n');
      if (def.default !== undefined) md.appendMarkdown(vscode.l10n.t('Default: `{0}`', JSON.stringify(def.default)) + '\n\n');
    } else {
      const old = lmtunerKey(key);
      if (!old) return undefined;
      md.appendMarkdown(old.to ? vscode.l10n.t('LMTuner key: Tuner calls it **{0}**.', old.to) : vscode.l10n.t('LMTuner key with no Tuner counterpart: {0}.', String(old.note)));
    }
    const pf = this.diags.state(doc.uri)?.preflight;
    if (key === 'model' && pf) {
      if (md.value) md.appendMarkdown('\n\n---\n\n');
      md.appendMarkdown(estimateMarkdownText(pf));
    }
    return md.value ? new vscode.Hover(md) : undefined;
  }
}

export function registerArgsHover(ctx: vscode.ExtensionContext, diags: ArgsDiagnostics): void {
  ctx.subscriptions.push(vscode.languages.registerHoverProvider({ pattern: '**/ARGS.json' }, new ArgsHoverProvider(diags)));
}
