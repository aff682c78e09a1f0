// What "Fine-tune: Start" tells the user about the data before and after preparing it: the lint
// summary of the data file (errors and warnings by rule, with line numbers), which decides
// whether to ask before training, and the preparation report (records used, dropped and
// truncated, by line). Plain text, so the notification, the log and the tests read the same.
import type { LintResult } from '../dataset/lint';
import type { LineNote, PrepareReport } from '../dataset/prepare';
import { ruleByCode } from '../dataset/rules';
import * as l10n from '@vscode/l10n';

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
  const more = sorted.length > LINES_SHOWN ? l10n.t(' and {0} more', sorted.length - LINES_SHOWN) : '';
  return sorted.length === 1 ? l10n.t('line {0}{1}', shown, more) : l10n.t('lines {0}{1}', shown, more);
}

// Whole messages per count, so that a translation can say each as its language does.
const records = (n: number) => (n === 1 ? l10n.t('1 record') : l10n.t('{0} records', n));
const errorCount = (n: number) => (n === 1 ? l10n.t('1 error') : l10n.t('{0} errors', n));
const warningCount = (n: number) => (n === 1 ? l10n.t('1 warning') : l10n.t('{0} warnings', n));

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
  const part = (m: Map<string, number[]>, counted: (n: number) => string) => {
    const n = count(m);
    return n ? `${counted(n)} (${[...m.entries()].map(([title, lines]) => `${title}: ${lineList(lines)}`).join('; ')})` : '';
  };
  const errors = count(bySeverity.error);
  const warnings = count(bySeverity.warning);
  const parts = [part(bySeverity.error, errorCount), part(bySeverity.warning, warningCount)].filter(Boolean);
  return { errors, warnings, text: parts.length ? parts.join(', ') : l10n.t('no errors or warnings in {0}', records(result.records)) };
}

function droppedText(list: LineNote[]): string {
  const shown = list.slice(0, LINES_SHOWN).map((n) => l10n.t('line {0} ({1})', n.line, n.reason)).join('; ');
  return l10n.t('Dropped {0}: {1}{2}', records(list.length), shown, list.length > LINES_SHOWN ? l10n.t('; and {0} more (prep-report.json lists every one)', list.length - LINES_SHOWN) : '');
}

/** One paragraph: how many records train, and each one dropped or truncated, by line. */
export function describePreparation(r: PrepareReport, maxLength: number): string {
  const used = r.trainDocuments + r.evalDocuments;
  const parts = [l10n.t('Prepared {0} of {1} ({2} train, {3} eval, {4} tokens)', used, records(r.records), r.trainDocuments, r.evalDocuments, r.tokens.toLocaleString('en-US'))];
  if (r.dropped.length) parts.push(droppedText(r.dropped));
  if (r.truncated.length) parts.push(l10n.t('Cut {0} to max_length {1}: {2}', records(r.truncated.length), maxLength, lineList(r.truncated.map((n) => n.line))));
  if (r.blankLines) parts.push(r.blankLines === 1 ? l10n.t('Skipped 1 blank line') : l10n.t('Skipped {0} blank lines', r.blankLines));
  return `${parts.join('. ')}.`;
}
