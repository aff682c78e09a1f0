// Shared helpers for the dataset linter tests: fixture paths and applying quick-fix edits.

import * as path from 'node:path';
import type { Problem, TextEdit } from '../../../src/core/dataset/problem';

export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/jsonl');
export const WORKER = path.resolve(__dirname, '../../../src/core/dataset/lint-worker.js');

/** Applies non-overlapping edits (0-based line, UTF-16 column) to text, as an editor would. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineStarts.push(i + 1);
  const offset = (line: number, col: number): number => {
    if (line >= lineStarts.length) return text.length;
    return Math.min(text.length, lineStarts[line] + col);
  };
  const sorted = [...edits].sort((a, b) => offset(b.range.line, b.range.col) - offset(a.range.line, a.range.col));
  let out = text;
  for (const e of sorted) {
    const s = offset(e.range.line, e.range.col);
    const t = offset(e.range.endLine, e.range.endCol);
    out = out.slice(0, s) + e.newText + out.slice(t);
  }
  return out;
}

/** "CODE line:col-endLine:endCol" for compact comparisons. */
export function brief(p: Problem): string {
  return `${p.code} ${p.range.line}:${p.range.col}-${p.range.endLine}:${p.range.endCol}`;
}

export function codes(problems: readonly Problem[]): string[] {
  return problems.map((p) => p.code);
}
