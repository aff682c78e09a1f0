// Hover on a JSONL line: the record rendered with the chat template of the model named in the
// nearest ARGS.json, its tokens, and which of them the loss is computed on (highlighted). The
// tokenizer runs in a worker (core/dataset/preview-worker), so the editor never waits on it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveArgs } from '../core/args/fields';
import { findArgsFor } from '../core/args/find-args';
import { validateArgsText } from '../core/args/validate';
import { PreviewClient } from '../core/dataset/preview-client';
import type { RecordPreview } from '../core/dataset/preview';

const MAX_TOKENS_SHOWN = 160;
const MAX_LINE_CHARS = 100_000;
const TRAINED_STYLE = 'background-color:#2e7d3266;';

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * A record's text inside the hover's HTML: escaped, Markdown punctuation and theme-icon `$(`
 * turned into character references (the text is the dataset's, so a link or image in it must
 * show as text), and whitespace made visible, so "\n" and leading spaces in tokens can be seen.
 */
function showText(s: string): string {
  return escapeHtml(s).replace(/[\\`*_{}[\]()#+\-.!|~$]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/\n/g, '↵<br>').replace(/ /g, '&nbsp;').replace(/\t/g, '→');
}

export function previewMarkdown(p: RecordPreview & { ok: true }, argsFile: string, templateSource: string, eosWarning: string | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportHtml = true;
  const template = templateSource === 'model' ? vscode.l10n.t("the model's") : templateSource === 'override' ? vscode.l10n.t('ARGS.json chat_template') : vscode.l10n.t('Tuner default (Human/Assistant)');
  md.appendMarkdown(vscode.l10n.t('**Training view** — {0}, {1} tokens, {2} trained (highlighted); template: {3}; {4}/ARGS.json', p.format, p.tokens.length, p.trainedTokens, template, escapeHtml(path.basename(path.dirname(argsFile)))) + '\n\n');
  if (p.overLength > 0) md.appendMarkdown(vscode.l10n.t('⚠ {0} tokens over max_length: cut or dropped when preparing.', p.overLength) + '\n\n');
  if (p.eosAppended) md.appendMarkdown(vscode.l10n.t('The template does not close answers with a stop token: EOS is appended.') + '\n\n');
  if (eosWarning) md.appendMarkdown(`⚠ ${escapeHtml(eosWarning)}\n\n`);
  md.appendMarkdown('<code>' + p.segments.map((s) => (s.trained ? `<span style="${TRAINED_STYLE}">${showText(s.text)}</span>` : showText(s.text))).join('') + '</code>\n\n---\n\n');
  const shown = p.tokens.slice(0, MAX_TOKENS_SHOWN).map((t) => {
    const cell = `${t.id}:${showText(t.text)}`;
    return t.trained ? `<span style="${TRAINED_STYLE}">${cell}</span>` : cell;
  });
  md.appendMarkdown(`<code>${shown.join(' · ')}${p.tokens.length > MAX_TOKENS_SHOWN ? ` · ${vscode.l10n.t('… {0} more', p.tokens.length - MAX_TOKENS_SHOWN)}` : ''}</code>`);
  return md;
}

export class JsonlTokenPreview implements vscode.HoverProvider, vscode.Disposable {
  readonly client: PreviewClient;

  constructor(workerPath: string) {
    this.client = new PreviewClient(workerPath);
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const line = doc.lineAt(pos.line);
    if (line.isEmptyOrWhitespace || line.text.length > MAX_LINE_CHARS || doc.uri.scheme !== 'file') return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath;
    const argsFile = findArgsFor(doc.uri.fsPath, folder);
    if (!argsFile) return undefined;
    const argsText = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === argsFile)?.getText() ?? fs.readFileSync(argsFile, 'utf8');
    const check = validateArgsText(argsText);
    if (!check.args) return new vscode.Hover(vscode.l10n.t('Tuner: fix the errors in {0} to preview this record\'s tokens.', argsFile), line.range);
    const r = await this.client.preview(argsFile, resolveArgs(check.args), line.text, folder);
    if (token.isCancellationRequested) return undefined;
    // Messages quote the workspace's files: shown as plain text, never as Markdown.
    const plain = (text: string) => new vscode.Hover(new vscode.MarkdownString().appendText(text), line.range);
    if ('error' in r) return plain(vscode.l10n.t('Tuner token preview: {0}', r.error));
    if (!r.preview.ok) return plain(vscode.l10n.t('Tuner token preview: {0}', r.preview.reason));
    return new vscode.Hover(previewMarkdown(r.preview, argsFile, r.templateSource, r.eosWarning), line.range);
  }

  dispose(): void {
    this.client.dispose();
  }
}

export function registerJsonlTokenPreview(ctx: vscode.ExtensionContext): JsonlTokenPreview {
  const workerPath = vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'preview-worker.js').fsPath;
  const provider = new JsonlTokenPreview(workerPath);
  ctx.subscriptions.push(provider, vscode.languages.registerHoverProvider({ language: 'jsonl' }, provider));
  return provider;
}
