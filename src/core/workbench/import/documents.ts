// Documents as text records for continued pretraining: plain text, Markdown and HTML files (a
// file or a whole folder), PDF (unpdf: pdf.js text extraction) and DOCX (mammoth: Word to HTML).
// HTML (and DOCX through its HTML) becomes text with html-to-text, headings kept as Markdown
// "#" lines, so every kind splits into sections the same way: one record per file, or one per
// heading (per page for PDF). Each record is {"text", "source"} with the file's relative path.
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { compile, type FormatCallback } from 'html-to-text';
import type { SourceRecord } from '../records';
import { ImportError, throwIfAborted, type ReadOptions } from './source';
import * as l10n from '@vscode/l10n';

export type DocumentUnit = 'file' | 'section';

export const DOCUMENT_EXTENSIONS = ['.txt', '.text', '.md', '.markdown', '.html', '.htm', '.pdf', '.docx'];

export function isDocumentFile(file: string): boolean {
  return DOCUMENT_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/** The document files of a folder (recursively, hidden folders skipped), in path order. */
export function documentFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile() && isDocumentFile(p)) out.push(p);
    }
  };
  visit(dir);
  return out;
}

const markdownHeading: FormatCallback = (elem, walk, builder) => {
  const level = Number(/^h([1-6])$/i.exec(elem.name ?? '')?.[1] ?? 1);
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addInline(`${'#'.repeat(level)} `);
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 2 });
};

const htmlToText = compile({
  wordwrap: false,
  formatters: { markdownHeading },
  selectors: [
    ...[1, 2, 3, 4, 5, 6].map((n) => ({ selector: `h${n}`, format: 'markdownHeading' })),
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
    { selector: 'nav', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'style', format: 'skip' },
  ],
});

/** Splits Markdown text at its headings (not inside ``` fences); text before the first heading is a section too. */
export function markdownSections(text: string): string[] {
  const sections: string[] = [];
  let current: string[] = [];
  let fence = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (!fence && /^#{1,6}\s/.test(line) && current.some((l) => l.trim() !== '')) {
      sections.push(current.join('\n').trim());
      current = [];
    }
    current.push(line);
  }
  if (current.some((l) => l.trim() !== '')) sections.push(current.join('\n').trim());
  return sections;
}

/** The text of one document, as pages (PDF) or as one string (everything else). */
async function documentText(file: string): Promise<string | string[]> {
  const ext = path.extname(file).toLowerCase();
  const name = path.basename(file);
  if (ext === '.pdf') {
    const { getDocumentProxy, extractText } = await import('unpdf');
    try {
      const pdf = await getDocumentProxy(new Uint8Array(await readFile(file)));
      const { text } = await extractText(pdf, { mergePages: false });
      await pdf.destroy();
      return text;
    } catch (e) {
      const err = e as Error;
      if (err.name === 'PasswordException') throw new ImportError(l10n.t('{0}: the PDF is protected by a password; Tuner cannot read it. Save an unprotected copy (e.g. qpdf --decrypt --password=… in.pdf out.pdf) and import that', name));
      throw new ImportError(l10n.t('{0}: not a readable PDF ({1})', name, err.message));
    }
  }
  if (ext === '.docx') {
    const mammoth = await import('mammoth');
    try {
      return htmlToText((await mammoth.convertToHtml({ path: file })).value);
    } catch (e) {
      throw new ImportError(l10n.t('{0}: not a readable Word document ({1}); only .docx (Word 2007 and later) is read: save .doc files as .docx', name, (e as Error).message));
    }
  }
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  return ext === '.html' || ext === '.htm' ? htmlToText(text) : text;
}

/** One record per document or per section, from a file or every document in a folder. */
export async function* readDocuments(source: string, unit: DocumentUnit, options: ReadOptions): AsyncGenerator<SourceRecord, void, undefined> {
  const folder = statSync(source).isDirectory();
  const files = folder ? documentFiles(source) : [source];
  if (files.length === 0) throw new ImportError(l10n.t('{0}: no documents ({1}) in this folder', path.basename(source), DOCUMENT_EXTENSIONS.join(', ')));
  const base = folder ? source : path.dirname(source);
  for (const [i, file] of files.entries()) {
    throwIfAborted(options.signal);
    const rel = path.relative(base, file).split(path.sep).join('/');
    const text = await documentText(file);
    const isPdf = Array.isArray(text);
    const pieces = isPdf ? (unit === 'section' ? text : [text.join('\n\n')]) : unit === 'section' ? markdownSections(text) : [text];
    const unitName = isPdf ? 'page' : 'section';
    pieces.forEach((piece, n) => {
      const row = n + 1;
      if (piece.trim() === '') {
        const where = unit === 'file' ? l10n.t('{0} document: no text', rel) : unitName === 'page' ? l10n.t('{0} page {1}: no text', rel, row) : l10n.t('{0} section {1}: no text', rel, row);
        options.onSkip({ file: rel, row, reason: `${where}${isPdf ? l10n.t(' (a scanned PDF has no text layer: run OCR on it first)') : ''}`, value: piece });
      }
    });
    for (const [n, piece] of pieces.entries()) {
      if (piece.trim() !== '') yield { file: rel, row: n + 1, value: { text: piece.trim(), source: rel } };
    }
    options.onProgress?.((i + 1) / files.length);
  }
}
