// Repairs offered as quick fixes for broken lines, only where the intent is clear: the scanner
// points at each offending character in turn, the repair changes just that character, and the
// result must parse. Anything else is left for the user to fix by hand.

import { findJsonError, type JsonSyntaxError } from './json-scan';
import * as l10n from '@vscode/l10n';

export interface Repair {
  title: string;
  /** Edits in the original line's columns, non-overlapping and in order. */
  edits: { start: number; end: number; newText: string }[];
}

const MAX_STEPS = 64;

export function attemptRepair(line: string, kind: JsonSyntaxError['kind']): Repair | undefined {
  // Work on a copy in which every edit keeps the length, so columns stay those of the original.
  let text = line;
  const edits: Repair['edits'] = [];
  for (let step = 0; step < MAX_STEPS; step++) {
    const err = findJsonError(text);
    if (!err) break;
    if (err.kind !== kind) return undefined;
    const p = err.pos;
    if (kind === 'trailing-comma') {
      // The error is at the '}' or ']' after the comma (a comma after the record: at the comma).
      const c = text[p] === ',' ? p : commaBefore(text, p);
      if (c < 0) return undefined;
      text = text.slice(0, c) + ' ' + text.slice(c + 1);
      edits.push({ start: c, end: c + 1, newText: '' });
    } else {
      // smart-quotes / single-quotes: swap the quote at the error, then its partner (the next
      // quote of the same family), so a whole string is requoted at once.
      const family = kind === 'single-quotes' ? "'" : '\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb';
      if (!family.includes(text[p])) return undefined;
      let q = p + 1;
      while (q < text.length && !family.includes(text[q])) {
        if (text[q] === '"') return undefined; // a straight quote inside: the intent is unclear
        q += text[q] === '\\' ? 2 : 1;
      }
      if (q >= text.length) return undefined;
      text = text.slice(0, p) + '"' + text.slice(p + 1, q) + '"' + text.slice(q + 1);
      edits.push({ start: p, end: p + 1, newText: '"' }, { start: q, end: q + 1, newText: '"' });
    }
  }
  if (edits.length === 0 || findJsonError(text)) return undefined;
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  edits.sort((a, b) => a.start - b.start);
  const title = kind === 'trailing-comma' ? l10n.t('Remove trailing comma') : kind === 'smart-quotes' ? l10n.t('Replace typographic quotes with JSON quotes') : l10n.t('Replace single quotes with double quotes');
  return { title, edits };
}

/** The offset of the comma before `pos` with only JSON whitespace between, or -1. */
function commaBefore(text: string, pos: number): number {
  let i = pos - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '\r' || text[i] === '\n')) i--;
  return i >= 0 && text[i] === ',' ? i : -1;
}
