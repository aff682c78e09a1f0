// What "Fine-tune: Start" tells the user about the data before and after preparing it: the lint
// summary of the data file (errors and warnings by rule, with line numbers), which decides
// whether to ask before training, and the preparation report (records used, dropped and
// truncated, by line). Plain text, so the notification, the log and the tests read the same.
import type { LintResult } from '../dataset/lint';
import type { LineNote, PrepareReport } from '../dataset/prepare';
import { ruleByCode } from '../dataset/rules';

export interface LintSummary {
  errors: number;
  warnings: number;
  /** One line, e.g. "2 errors (Invalid JSON: line 4; Missing field: line 9), 1 warning (Duplicate record: line 12)". */
  text: string;
}

/** Lines listed per rule before "and N more". */
const LINES_SHOWN = 5;

function lineList(lines: number[]): string {
  const sorted = [...new Set(lines)].sort((a, b) => a - b);
  const shown = sorted.slice(0, LINES_SHOWN).join(', ');
  const more = sorted.length > LINES_SHOWN ? ` and ${sorted.length - LINES_SHOWN} more` : '';
  return `line${sorted.length === 1 ? '' : 's'} ${shown}${more}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function summarizeLint(result: LintResult): LintSummary {
  const bySeverity = { error: new Map<string, number[]>(), warning: new Map<string, number[]>() };
  for (const p of result.problems) {
    if (p.severity !== 'error' && p.severity !== 'warning') continue;
    const title = ruleByCode(p.code)?.title ?? p.code;
    const lines = bySeverity[p.severity].get(title) ?? [];
    lines.push(p.range.line + 1);
    bySeverity[p.severity].set(title, lines);
  }
  const count = (m: Map<string, number[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
  const part = (m: Map<string, number[]>, word: string) => {
    const n = count(m);
    return n ? `${plural(n, word)} (${[...m.entries()].map(([title, lines]) => `${title}: ${lineList(lines)}`).join('; ')})` : '';
  };
  const errors = count(bySeverity.error);
  const warnings = count(bySeverity.warning);
  const parts = [part(bySeverity.error, 'error'), part(bySeverity.warning, 'warning')].filter(Boolean);
  return { errors, warnings, text: parts.length ? parts.join(', ') : `no errors or warnings in ${plural(result.records, 'record')}` };
}

function droppedText(list: LineNote[]): string {
  const shown = list.slice(0, LINES_SHOWN).map((n) => `line ${n.line} (${n.reason})`).join('; ');
  return `Dropped ${plural(list.length, 'record')}: ${shown}${list.length > LINES_SHOWN ? `; and ${list.length - LINES_SHOWN} more (prep-report.json lists every one)` : ''}`;
}

/** One paragraph: how many records train, and each one dropped or truncated, by line. */
export function describePreparation(r: PrepareReport, maxLength: number): string {
  const used = r.trainDocuments + r.evalDocuments;
  const parts = [`Prepared ${used} of ${plural(r.records, 'record')} (${r.trainDocuments} train, ${r.evalDocuments} eval, ${r.tokens.toLocaleString('en-US')} tokens)`];
  if (r.dropped.length) parts.push(droppedText(r.dropped));
  if (r.truncated.length) parts.push(`Cut ${plural(r.truncated.length, 'record')} to max_length ${maxLength}: ${lineList(r.truncated.map((n) => n.line))}`);
  if (r.blankLines) parts.push(`Skipped ${plural(r.blankLines, 'blank line')}`);
  return `${parts.join('. ')}.`;
}
