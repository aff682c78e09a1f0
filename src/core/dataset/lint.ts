// The JSON lines linter's public API: lint editor text or raw file bytes, convert records
// between formats. The per-line engine is LineLinter; this file splits the input into lines
// and adds the checks that look at the file as a whole.

import { findInvalidUtf8, describeInvalidBytes, hasUtf8Bom, isValidUtf8 } from './utf8';
import type { FormatId } from './formats';
import { LineLinter, type Eol } from './line-linter';
import type { Problem, Severity } from './problem';
import { resolveSeverities, ruleById } from './rules';
import type { DatasetStats } from './stats';
import * as l10n from '@vscode/l10n';

export { convertRecord, convertDocumentEdits } from './convert';

export interface LintOptions {
  /** Check every record against this format instead of the one most records have. */
  format?: FormatId | 'auto';
  /** Severity per rule, keyed by rule id ("invalid-json") or code ("TUN101"); 'off' disables. */
  severities?: Record<string, Severity | 'off'>;
  /** Report records equal to an earlier one apart from whitespace and letter case inside fields (default on). */
  nearDuplicates?: boolean;
  /** Records longer than this many characters are reported (default 32768). */
  maxRecordChars?: number;
  /** Literal placeholders to find besides the built-in [MODEL NAME] and {{…}} markers. */
  placeholders?: string[];
  /** ARGS.json's model_name: offered as the replacement for [MODEL NAME]. */
  modelName?: string;
  /** URL / e-mail / phone findings (default on). */
  privacy?: boolean;
  /** Leftover HTML tags and entities (default on). */
  html?: boolean;
  /** At most this many problems are returned (default 10000); statistics count all. */
  maxProblems?: number;
}

export interface LintResult {
  format: FormatId | 'mixed' | 'unknown';
  formatCounts: Partial<Record<FormatId, number>>;
  /** Lines that hold a JSON object. */
  records: number;
  /** Lines of the file (a final line break does not start another line). */
  lines: number;
  problems: Problem[];
  stats?: DatasetStats;
}

/**
 * Feeds `text` to the linter line by line and returns the next line number. `startLine` offsets
 * line numbers and `baseOffset` document offsets (-1: do not keep offsets, when streaming);
 * `isEnd` says no more text follows, so an empty input still counts as a (blank) file.
 */
export function feedLines(linter: LineLinter, text: string, startLine: number, baseOffset: number, isEnd = true): number {
  let line = startLine;
  let start = 0;
  const n = text.length;
  const keep = baseOffset >= 0;
  while (start < n) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      linter.pushLine(text.slice(start), line, 'none', keep ? baseOffset + start : -1);
      return line + 1;
    }
    const cr = nl > start && text.charCodeAt(nl - 1) === 13;
    const eol: Eol = cr ? 'crlf' : 'lf';
    linter.pushLine(text.slice(start, cr ? nl - 1 : nl), line, eol, keep ? baseOffset + start : -1);
    line++;
    start = nl + 1;
  }
  if (isEnd && n === 0 && startLine === 0) linter.pushLine('', 0, 'none', keep ? 0 : -1);
  return line;
}

const SLICE_CHARS = 1 << 21;

/** feedLines over slices cut at line breaks, reporting progress after each slice. */
function feedInSlices(linter: LineLinter, text: string, onProgress?: (fraction: number) => void): void {
  if (!onProgress || text.length <= SLICE_CHARS) {
    feedLines(linter, text, 0, 0);
    onProgress?.(1);
    return;
  }
  let line = 0;
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', Math.min(text.length, start + SLICE_CHARS));
    end = end < 0 ? text.length : end + 1;
    line = feedLines(linter, text.slice(start, end), line, start, end >= text.length);
    start = end;
    onProgress(start / text.length);
  }
}

/**
 * A file that is one JSON document (a JSON array of records, or one pretty-printed object)
 * instead of JSON lines: reported once, with a fix, instead of an error on every line.
 */
function lintJsonDocument(text: string, options: LintOptions): LintResult | undefined {
  const first = text.search(/\S/);
  if (first < 0) return undefined;
  const c = text[first];
  if (c !== '[' && c !== '{') return undefined;
  const nl = text.indexOf('\n', first);
  // A file whose first value ends on its first line is JSON lines (maybe with a bad line),
  // whatever follows; only a value spread over lines is a JSON document.
  if (nl < 0 || isJson(text.slice(first, nl))) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return undefined;
  }
  const items = Array.isArray(doc) ? doc : [doc];
  const allObjects = items.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
  const sev = resolveSeverities(options.severities).get('json-array-file');
  const problems: Problem[] = [];
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (sev && sev !== 'off') {
    const lastLine = lines - 1;
    const lastLen = text.split('\n')[lastLine]?.length ?? 0;
    problems.push({
      range: { line: 0, col: 0, endLine: 0, endCol: text.indexOf('\n') < 0 ? text.length : text.indexOf('\n') },
      severity: sev,
      code: ruleById('json-array-file').code,
      message: Array.isArray(doc)
        ? l10n.t('The file is a JSON array of {0} items, not JSON lines: write one JSON object per line.', items.length)
        : l10n.t('The file is one pretty-printed JSON object, not JSON lines: write each record on a single line.'),
      fixes: allObjects && items.length > 0
        ? [{ title: l10n.t('Convert to JSON lines (one record per line)'), edits: [{ range: { line: 0, col: 0, endLine: lastLine, endCol: lastLen }, newText: items.map((v) => JSON.stringify(v)).join('\n') }], preferred: true }]
        : undefined,
    });
  }
  return { format: 'unknown', formatCounts: {}, records: 0, lines, problems };
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lints editor text (already decoded). Positions are 0-based lines and UTF-16 columns. The
 * bytes are gone, but where they were invalid UTF-8 the editor shows U+FFFD, which is reported.
 */
export function lintText(text: string, options: LintOptions = {}, onProgress?: (fraction: number) => void): LintResult {
  let body = text;
  const linter = new LineLinter(options, (offset, len) => body.substr(offset, len));
  if (text.charCodeAt(0) === 0xfeff) {
    // The BOM becomes a space so that columns stay those of the text and JSON.parse accepts it.
    linter.report('bom', l10n.t('The text starts with a byte order mark (U+FEFF): save the file as UTF-8 without BOM.'), { line: 0, col: 0, endLine: 0, endCol: 1 }, [
      { title: l10n.t('Remove the byte order mark'), edits: [{ range: { line: 0, col: 0, endLine: 0, endCol: 1 }, newText: '' }], preferred: true },
    ]);
    body = ' ' + text.slice(1);
    linter.suppressWhitespaceOnce(0);
  }
  replacementProblems(linter, body);
  const asDocument = lintJsonDocument(body, options);
  if (asDocument) return withEarlierProblems(asDocument, linter);
  feedInSlices(linter, body, onProgress);
  return linter.finish();
}

/** A whole-document result plus the problems already found (BOM, encoding). */
function withEarlierProblems(result: LintResult, linter: LineLinter): LintResult {
  return { ...result, problems: [...linter.problems, ...result.problems] };
}

const REPLACEMENT_BYTES = Buffer.from('\uFFFD', 'utf8');
const replacementMessage = () => l10n.t('Replacement character U+FFFD: the file has bytes here that are not valid UTF-8 (the editor shows them as \uFFFD), or an earlier conversion already replaced a character it could not read. Re-save the source as UTF-8 and restore the character.');
/** At most this many U+FFFD are reported per file or chunk, as for invalid byte sequences. */
const MAX_REPLACEMENTS = 1000;

/**
 * Adds the problems only bytes can show (BOM, invalid UTF-8) for a chunk starting at
 * `firstLine`, and every U+FFFD the file holds as such: the editor's text shows bad bytes as
 * U+FFFD too, so bytes and editor text report the same places (see replacementProblems).
 */
export function byteProblems(linter: LineLinter, bytes: Uint8Array, firstLine: number, atFileStart: boolean): void {
  if (atFileStart && hasUtf8Bom(bytes)) {
    linter.report('bom', l10n.t('The file starts with a UTF-8 byte order mark (EF BB BF), which many JSON lines readers reject: save it without BOM.'), { line: 0, col: 0, endLine: 0, endCol: 1 }, [
      { title: l10n.t('Remove the byte order mark'), edits: [{ range: { line: 0, col: 0, endLine: 0, endCol: 1 }, newText: '' }], preferred: true },
    ]);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: { offset: number; message: string }[] = [];
  for (let at = buf.indexOf(REPLACEMENT_BYTES); at >= 0 && found.length < MAX_REPLACEMENTS; at = buf.indexOf(REPLACEMENT_BYTES, at + 3)) {
    found.push({ offset: at, message: replacementMessage() });
  }
  if (!isValidUtf8(bytes)) {
    for (const bad of findInvalidUtf8(bytes)) found.push({ offset: bad.offset, message: describeInvalidBytes(bytes, bad.offset, bad.length) });
    found.sort((a, b) => a.offset - b.offset);
  }
  if (found.length === 0) return;
  // A BOM is one column of the first line (the editor's text keeps it as U+FEFF).
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  // Sorted by offset, so one forward walk finds each one's line.
  let line = firstLine;
  let lineStart = 0;
  let scanned = 0;
  for (const f of found) {
    for (; scanned < f.offset; scanned++) {
      if (bytes[scanned] === 0x0a) { line++; lineStart = scanned + 1; }
    }
    const col = decoder.decode(bytes.subarray(lineStart, f.offset)).length;
    linter.report('invalid-utf8', f.message, { line, col, endLine: line, endCol: col + 1 });
  }
}

/** Every U+FFFD of editor text: where the file's invalid bytes were, or a character lost earlier. */
export function replacementProblems(linter: LineLinter, text: string): void {
  let line = 0;
  let lineStart = 0;
  let scanned = 0;
  let n = 0;
  for (let at = text.indexOf('\uFFFD'); at >= 0 && n < MAX_REPLACEMENTS; at = text.indexOf('\uFFFD', at + 1), n++) {
    for (let nl = text.indexOf('\n', scanned); nl >= 0 && nl < at; nl = text.indexOf('\n', nl + 1)) {
      line++;
      lineStart = nl + 1;
    }
    scanned = at;
    const col = at - lineStart;
    linter.report('invalid-utf8', replacementMessage(), { line, col, endLine: line, endCol: col + 1 });
  }
}

/** Lints raw file bytes: everything lintText does, plus invalid UTF-8 and the BOM. */
export function lintBytes(bytes: Uint8Array, options: LintOptions = {}): LintResult {
  const bom = hasUtf8Bom(bytes);
  let text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  const linter = new LineLinter(options, (offset, len) => text.substr(offset, len));
  byteProblems(linter, bytes, 0, true);
  if (bom) {
    text = ' ' + text.slice(1);
    linter.suppressWhitespaceOnce(0);
  }
  const asDocument = lintJsonDocument(text, options);
  if (asDocument) return withEarlierProblems(asDocument, linter);
  feedLines(linter, text, 0, 0);
  return linter.finish();
}
