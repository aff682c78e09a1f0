// The linting engine: fed one line at a time (from editor text or from a file streamed in
// chunks), it keeps only counters, hashes and capped problem lists, so memory stays bounded
// however large the file is. The hot path per line is JSON.parse, a key-based format guess,
// field type checks and one string hash; everything that builds messages or ranges runs only
// when there is a problem to report.

import { ALL_TRIGGERS, scanContent, scanControlEscapes, triggerNeedles, type ContentHit, type ContentOptions } from './content-checks';
import { convertLineEdit } from './convert';
import { FORMAT_IDS, detectRecordFormat, type FormatId } from './formats';
import { DuplicateIndex, type LineReader } from './duplicates';
import { findJsonError, locate, type JsonPath } from './json-scan';
import { MAX_NESTING, scanKeys } from './key-scan';
import { NearDuplicateIndex } from './near-duplicates';
import { attemptRepair } from './json-repair';
import type { LintOptions, LintResult } from './lint';
import type { Fix, Problem, Range, Severity } from './problem';
import { checkRecord, type RecordSink, type RuleId } from './record-checks';
import { resolveSeverities, ruleById } from './rules';
import { StatsCollector } from './stats-collector';
import * as l10n from '@vscode/l10n';

export const DEFAULT_MAX_RECORD_CHARS = 32_768;
export const DEFAULT_MAX_PROBLEMS = 10_000;
/** Conversion fixes are built for this many mixed-format records; beyond, converting the whole file is the fix. */
const MAX_CONVERSION_FIXES = 200;

export type Eol = 'none' | 'lf' | 'crlf';

/** Where a deferred line is: its number, and (text mode) its offset so a fix can re-read it. */
interface LineRef {
  line: number;
  /** Length in the reader's units (characters, or bytes when streaming from a file). */
  len: number;
  offset: number;
  /** Length in UTF-16 characters, for ranges. */
  chars: number;
}

export class LineLinter implements RecordSink {
  readonly problems: Problem[] = [];
  readonly stats = new StatsCollector();
  private readonly sev: Map<string, Severity | 'off'>;
  private readonly forced: FormatId | undefined;
  private readonly maxChars: number;
  private readonly maxProblems: number;
  private readonly content: ContentOptions;
  private readonly contentOn: boolean;
  private readonly nearDup: boolean;
  private dropped = 0;
  private conversionFixes = 0;
  private readonly seen: DuplicateIndex;
  private readonly dupOn: boolean;
  private readonly seenNear: NearDuplicateIndex;
  private readonly keysOn: boolean;
  private readonly controlOn: boolean;
  private readonly byFormat = new Map<FormatId, LineRef[]>();
  private readonly formatCounts = new Map<FormatId, number>();
  private readonly eolRefs: Record<'lf' | 'crlf', LineRef[]> = { lf: [], crlf: [] };
  private readonly eolCounts = { lf: 0, crlf: 0 };
  private readonly hits: ContentHit[] = [];
  private lines = 0;
  private bomLine = -1;
  private records = 0;
  private nonBlank = 0;
  private prevLen = 0;
  // The line being linted (read by reportAt).
  private line = 0;
  private text = '';

  /** `reader` reads a line back by the offset and length given to pushLine (dedup, fixes). */
  constructor(options: LintOptions = {}, private readonly reader?: LineReader) {
    this.sev = resolveSeverities(options.severities);
    this.forced = options.format && options.format !== 'auto' ? options.format : undefined;
    this.maxChars = options.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
    this.maxProblems = options.maxProblems ?? DEFAULT_MAX_PROBLEMS;
    this.nearDup = options.nearDuplicates !== false && this.on('near-duplicate');
    this.content = {
      placeholders: this.on('placeholder') ? (options.placeholders ?? []).filter((p) => p.length > 0) : [],
      templateMarkers: this.on('placeholder') || this.on('model-name-placeholder'),
      modelName: options.modelName || undefined,
      html: options.html !== false && this.on('html'),
      privacy: options.privacy !== false && this.on('privacy'),
    };
    this.seen = new DuplicateIndex(reader);
    this.seenNear = new NearDuplicateIndex(reader);
    this.keysOn = this.on('duplicate-key') || this.on('deep-nesting');
    this.controlOn = this.on('control-character');
    this.dupOn = this.on('duplicate-record') || this.nearDup;
    this.contentOn = this.content.placeholders.length > 0 || this.content.templateMarkers || this.content.html || this.content.privacy;
  }

  on(rule: RuleId): boolean {
    return this.sev.get(rule) !== 'off';
  }

  /** Adds a problem unless its rule is off or the cap is reached. */
  report(rule: RuleId, message: string, range: Range, fixes?: Fix[]): void {
    const severity = this.sev.get(rule);
    if (severity === undefined || severity === 'off') return;
    this.stats.countProblem(ruleById(rule).code);
    const p: Problem = { range, severity, code: ruleById(rule).code, message };
    if (fixes && fixes.length) p.fixes = fixes;
    this.problems.push(p);
    if (this.problems.length >= 2 * this.maxProblems + 16) this.keepFirstProblems();
  }

  /**
   * Over the cap, the problems kept are the first ones by position, whatever order they were
   * found in (byte checks run per chunk when streaming), so every way of linting a file shows
   * the same ones. Trimming in batches keeps the cost linear.
   */
  private keepFirstProblems(): void {
    if (this.problems.length <= this.maxProblems) return;
    this.problems.sort(byPosition);
    this.dropped += this.problems.length - this.maxProblems;
    this.problems.length = this.maxProblems;
  }

  private lineRange(line = this.line, len = this.text.length): Range {
    return { line, col: 0, endLine: line, endCol: len };
  }

  /** The edit that deletes the current line including its line break. */
  private deleteLineEdit(eol: Eol): Fix['edits'] {
    if (eol !== 'none') return [{ range: { line: this.line, col: 0, endLine: this.line + 1, endCol: 0 }, newText: '' }];
    if (this.line === 0) return [{ range: this.lineRange(), newText: '' }];
    return [{ range: { line: this.line - 1, col: this.prevLen, endLine: this.line, endCol: this.text.length }, newText: '' }];
  }

  reportAt(rule: RuleId, message: string, path: JsonPath, key?: boolean, fixes?: Fix[]): void {
    if (!this.on(rule)) return;
    let range: Range;
    const loc = path.length ? locate(this.text, path) : undefined;
    if (loc) {
      const start = key && loc.keyStart !== undefined ? loc.keyStart : loc.start;
      const end = key && loc.keyEnd !== undefined ? loc.keyEnd : loc.end;
      range = { line: this.line, col: start, endLine: this.line, endCol: end };
    } else {
      range = this.recordRange();
    }
    this.report(rule, message, range, fixes);
  }

  private recordRange(): Range {
    const t = this.text;
    let s = 0;
    while (s < t.length && t.charCodeAt(s) <= 32) s++;
    let e = t.length;
    while (e > s && t.charCodeAt(e - 1) <= 32) e--;
    return { line: this.line, col: s, endLine: this.line, endCol: e };
  }

  /** The BOM on this line was replaced by a space: that space is not surrounding whitespace. */
  suppressWhitespaceOnce(line: number): void {
    this.bomLine = line;
  }

  /** The strings whose presence decides which content checks a line needs (see TRIGGER). */
  contentTriggers(): { bit: number; needle: string }[] {
    return this.contentOn ? triggerNeedles(this.content) : [];
  }

  countRole(role: string): void {
    this.stats.countRole(role);
  }

  /**
   * Lints one line. `text` excludes the line break; `offset` is the line's position in the
   * document text (text mode, so deferred fixes can re-read it) or -1 when streaming.
   */
  pushLine(text: string, line: number, eol: Eol, offset = -1, len = text.length, triggers = ALL_TRIGGERS): void {
    this.lines++;
    this.line = line;
    this.text = text;
    if (eol !== 'none') {
      this.eolCounts[eol]++;
      const refs = this.eolRefs[eol];
      if (refs.length < this.maxProblems) refs.push({ line, len: text.length, offset, chars: text.length });
    }
    this.lintLine(text, line, eol, offset, len, triggers);
    this.prevLen = text.length;
  }

  private lintLine(text: string, line: number, eol: Eol, offset: number, byteLen: number, triggers: number): void {
    const len = text.length;
    const c0 = len ? text.charCodeAt(0) : 0;
    const cl = len ? text.charCodeAt(len - 1) : 0;
    let key = text;
    if (c0 <= 32 || cl <= 32 || c0 === 160 || cl === 160) {
      if (text.trim().length === 0) {
        // The empty remainder after a final line break is not a line of the file.
        if (eol === 'none' && len === 0) { this.lines--; return; }
        this.report('blank-line', l10n.t('Blank line: JSON lines files have one record per line and no empty lines.'), this.lineRange(), [
          { title: l10n.t('Remove blank line'), edits: this.deleteLineEdit(eol), preferred: true },
        ]);
        return;
      }
      // JSON.parse skips only JSON's own whitespace around a value; so does the linter, and
      // whatever else surrounds the record (a no-break space) is an error where V8 finds it.
      let lead = 0;
      let end = len;
      while (lead < end && isJsonSpace(text.charCodeAt(lead))) lead++;
      while (end > lead && isJsonSpace(text.charCodeAt(end - 1))) end--;
      key = text.slice(lead, end);
    }
    this.nonBlank++;
    this.stats.countLength(key.length);
    const tooLong = key.length > this.maxChars;
    if (tooLong) {
      this.report('record-too-long', l10n.t('Record has {0} characters, more than the maximum of {1} (setting maxRecordChars): shorten or split it.', key.length.toLocaleString('en-US'), this.maxChars.toLocaleString('en-US')), this.recordRange());
    }
    let value: unknown;
    try {
      value = JSON.parse(key);
    } catch (e) {
      this.reportInvalidJson(text, e);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.reportNotObject(value);
      return;
    }
    this.records++;
    if (key !== text) this.reportWhitespace(text, line, cl);
    const rec = value as Record<string, unknown>;
    if (this.keysOn) this.checkKeys(text);
    if (this.dupOn) this.checkDuplicate(text, rec, eol, offset, byteLen);
    const detected = detectRecordFormat(rec);
    const format = detected ?? this.forced;
    if (detected) {
      this.formatCounts.set(detected, (this.formatCounts.get(detected) ?? 0) + 1);
      this.stats.countFormat(detected);
      if (this.forced) {
        if (detected !== this.forced) this.reportMixed(text, line, detected, this.forced);
      } else {
        let refs = this.byFormat.get(detected);
        if (!refs) this.byFormat.set(detected, (refs = []));
        if (refs.length < this.maxProblems) refs.push({ line, len: byteLen, offset, chars: len });
      }
    } else {
      const keys = Object.keys(rec);
      const expected = this.forced ? l10n.t('the {0} format', this.forced) : l10n.t('a known format, e.g. {"messages": [...]}, {"instruction", "output"} or {"input", "output"}');
      this.report('unknown-format', l10n.t('Record matches no known format (fields: {0}); expected {1}.', keys.length ? keys.map((k) => JSON.stringify(k)).join(', ') : 'none', expected), this.recordRange());
    }
    if (format) checkRecord(this, rec, format, this.stats);
    // Content hints on a record already reported as too long would only add noise, and its
    // length is the user's (or an attacker's) to choose: the scan is skipped.
    if (this.contentOn && !tooLong) {
      this.hits.length = 0;
      scanContent(text, this.content, this.hits, triggers);
      this.reportHits(line);
    }
    if (this.controlOn && !tooLong && text.indexOf('\\') >= 0) {
      this.hits.length = 0;
      scanControlEscapes(text, this.hits);
      this.reportHits(line);
    }
  }

  private reportHits(line: number): void {
    for (const h of this.hits) {
      const range: Range = { line, col: h.start, endLine: line, endCol: h.end };
      this.report(h.rule, h.message, range, h.fix ? [{ title: h.fix.title, edits: [{ range, newText: h.fix.newText }], preferred: true }] : undefined);
    }
  }

  /** Keys twice in one object, and values nested too deep: what JSON.parse accepts silently. */
  private checkKeys(text: string): void {
    const scan = scanKeys(text);
    if (scan.duplicate && this.on('duplicate-key')) {
      const d = scan.duplicate;
      const where = d.path.length ? ` in ${d.path.map((p) => (typeof p === 'number' ? `[${p}]` : JSON.stringify(p))).join(' → ')}` : '';
      this.report('duplicate-key', l10n.t('Key {0} appears twice{1}: JSON readers keep only the last value; remove or rename one.', String(JSON.stringify(d.key)), where), { line: this.line, col: d.keyStart, endLine: this.line, endCol: d.keyEnd });
    }
    if (scan.depth > MAX_NESTING && this.on('deep-nesting')) {
      const message = l10n.t('Values nest {0} levels deep, more than {1}: no dataset format has such data; remove the field or flatten it.', scan.depth, MAX_NESTING);
      if (scan.deepField !== undefined) this.reportAt('deep-nesting', message, [scan.deepField], true);
      else this.report('deep-nesting', message, this.recordRange());
    }
  }

  /** Only for lines that parse: on a broken line the whitespace is the least of its problems. */
  private reportWhitespace(text: string, line: number, cl: number): void {
    const onlyBom = line === this.bomLine && text.length > 1 && text.charCodeAt(1) > 32 && cl > 32;
    if (onlyBom || !this.on('surrounding-whitespace')) return;
    const r = this.recordRange();
    this.report('surrounding-whitespace', l10n.t('Whitespace around the record.'), this.lineRange(), [
      { title: l10n.t('Trim whitespace'), edits: [{ range: this.lineRange(), newText: text.slice(r.col, r.endCol) }], preferred: true },
    ]);
  }

  /** `text` is the whole line: JSON.parse stops at the same place in it as in the trimmed record. */
  private reportInvalidJson(text: string, e: unknown): void {
    const err = findJsonError(text);
    if (!err) {
      this.report('invalid-json', l10n.t('Invalid JSON: {0}', e instanceof Error ? e.message : String(e)), this.recordRange());
      return;
    }
    // The range starts where JSON.parse stopped; at the end of the line (a cut-off record) it is
    // empty, which editors draw as a mark just after the last character.
    const col = Math.min(err.pos, text.length);
    const range: Range = { line: this.line, col, endLine: this.line, endCol: Math.min(text.length, Math.max(err.end, col)) };
    const repair = err.kind === 'trailing-comma' || err.kind === 'smart-quotes' || err.kind === 'single-quotes' ? attemptRepair(text, err.kind) : undefined;
    const fixes: Fix[] = [];
    if (repair) fixes.push({ title: repair.title, edits: repair.edits.map((ed) => ({ range: { line: this.line, col: ed.start, endLine: this.line, endCol: ed.end }, newText: ed.newText })), preferred: true });
    const rule: RuleId = err.kind === 'trailing-comma' ? 'trailing-comma' : err.kind === 'smart-quotes' ? 'smart-quotes' : 'invalid-json';
    // The column is the range's to show, not the message's.
    const message = rule === 'invalid-json' ? l10n.t('Invalid JSON: {0}', err.message) : err.message;
    this.report(rule, message, range, fixes.length ? fixes : undefined);
  }

  private reportNotObject(value: unknown): void {
    const what = value === null ? 'null' : Array.isArray(value) ? l10n.t('an array') : typeof value === 'string' ? 'a string' : `a ${typeof value}`;
    const fixes: Fix[] = [];
    if (Array.isArray(value) && value.length > 0 && value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      fixes.push({ title: l10n.t('Put each element of the array on its own line'), edits: [{ range: this.recordRange(), newText: value.map((v) => JSON.stringify(v)).join('\n') }], preferred: true });
    }
    this.report('not-object', l10n.t('The line holds {0}, not a record: each line must be one JSON object {1}.', what, '{...}'), this.recordRange(), fixes.length ? fixes : undefined);
  }

  private checkDuplicate(text: string, rec: Record<string, unknown>, eol: Eol, offset: number, len: number): void {
    const first = this.seen.check(text, this.line, offset, len);
    if (first !== undefined) {
      this.stats.countDuplicate();
      this.report('duplicate-record', l10n.t('Duplicate record: the same as line {0}.', first + 1), this.recordRange(), [
        { title: l10n.t('Remove duplicate of line {0}', first + 1), edits: this.deleteLineEdit(eol), preferred: true },
      ]);
      return;
    }
    if (this.nearDup) {
      const nf = this.seenNear.check(text, this.line, offset, len);
      if (nf !== undefined) {
        this.stats.countNearDuplicate();
        this.report('near-duplicate', l10n.t('Near-duplicate of line {0}: every field is the same apart from whitespace and letter case.', nf + 1), this.recordRange(), [
          { title: l10n.t('Remove near-duplicate of line {0}', nf + 1), edits: this.deleteLineEdit(eol) },
        ]);
      }
    }
  }

  private reportMixed(text: string | undefined, line: number, actual: FormatId, expected: FormatId, len = text?.length ?? 0): void {
    if (!this.on('mixed-format')) return;
    const fixes: Fix[] = [];
    if (text !== undefined && this.conversionFixes < MAX_CONVERSION_FIXES) {
      this.conversionFixes++;
      const edit = convertLineEdit(text, line, expected, actual);
      if (edit) fixes.push({ title: l10n.t('Convert this record to {0}', expected), edits: [edit], preferred: true });
    }
    const why = this.forced ? l10n.t('the format set in the settings') : l10n.t('the format of most records');
    const range: Range = text !== undefined ? this.rangeOfRecord(text, line) : { line, col: 0, endLine: line, endCol: len };
    const note = fixes.length || text === undefined ? '' : this.conversionFixes >= MAX_CONVERSION_FIXES ? l10n.t(' (use "convert the whole file" to convert it)') : l10n.t(' (it cannot be converted to {0} without changing what is trained)', expected);
    this.report('mixed-format', l10n.t('Record is in the {0} format but {1} is {2}{3}.', actual, why, expected, note), range, fixes.length ? fixes : undefined);
  }

  private rangeOfRecord(text: string, line: number): Range {
    const saveLine = this.line, saveText = this.text;
    this.line = line;
    this.text = text;
    const r = this.recordRange();
    this.line = saveLine;
    this.text = saveText;
    return r;
  }

  /** Document-level checks that need the whole file, then the result. */
  finish(): LintResult {
    const readLine = this.reader;
    const dominant = this.dominantFormat();
    if (!this.forced && dominant) {
      for (const id of FORMAT_IDS) {
        if (id === dominant) continue;
        for (const ref of this.byFormat.get(id) ?? []) {
          const wantText = this.conversionFixes < MAX_CONVERSION_FIXES;
          const text = readLine && wantText && ref.offset >= 0 ? readLine(ref.offset, ref.len) : undefined;
          this.reportMixed(text, ref.line, id, dominant, ref.chars);
        }
      }
    }
    this.reportLineEndings();
    if (this.records === 0 && this.nonBlank === 0) {
      this.report('empty-file', l10n.t('The file has no records: add one JSON object per line.'), { line: 0, col: 0, endLine: 0, endCol: 0 });
    }
    this.keepFirstProblems();
    if (this.dropped > 0) {
      const sev = this.sev.get('too-many-problems');
      if (sev && sev !== 'off') this.problems.push({ range: { line: 0, col: 0, endLine: 0, endCol: 0 }, severity: sev, code: ruleById('too-many-problems').code, message: l10n.t('{0} more problems are not shown (limit {1}).', this.dropped.toLocaleString('en-US'), this.maxProblems.toLocaleString('en-US')) });
    }
    this.problems.sort(byPosition);
    const formatCounts: Partial<Record<FormatId, number>> = {};
    for (const id of FORMAT_IDS) {
      const n = this.formatCounts.get(id);
      if (n) formatCounts[id] = n;
    }
    // Mixed files are reported record by record (mixed-format); the file's format is the dominant one.
    const format = this.forced ?? dominant ?? 'unknown';
    return { format, formatCounts, records: this.records, lines: this.lines, problems: this.problems, stats: this.stats.result(this.records, formatCounts) };
  }

  /** The format most records have (ties go to the one seen first in FORMATS order). */
  dominantFormat(): FormatId | undefined {
    if (this.forced) return this.forced;
    let best: FormatId | undefined;
    let bestN = 0;
    for (const id of FORMAT_IDS) {
      const n = this.formatCounts.get(id) ?? 0;
      if (n > bestN) { best = id; bestN = n; }
    }
    return best;
  }

  private reportLineEndings(): void {
    const { lf, crlf } = this.eolCounts;
    if (lf === 0 || crlf === 0 || !this.on('mixed-line-endings')) return;
    const minority: 'lf' | 'crlf' = crlf < lf ? 'crlf' : 'lf';
    const target = minority === 'crlf' ? '\n' : '\r\n';
    const refs = this.eolRefs[minority];
    const edits = refs.map((r) => ({ range: { line: r.line, col: r.len, endLine: r.line + 1, endCol: 0 }, newText: target }));
    const name = minority === 'crlf' ? 'LF' : 'CRLF';
    const wholeFile: Fix = { title: l10n.t('Normalise all line endings to {0}', name), edits, preferred: true };
    for (const r of refs) {
      this.report('mixed-line-endings', l10n.t('This line ends with {0} but most lines end with {1} ({2} LF, {3} CRLF).', minority === 'crlf' ? 'CRLF' : 'LF', name, lf, crlf), { line: r.line, col: r.len, endLine: r.line, endCol: r.len }, [wholeFile]);
    }
  }
}

function byPosition(a: Problem, b: Problem): number {
  return a.range.line - b.range.line || a.range.col - b.range.col;
}

function isJsonSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}
