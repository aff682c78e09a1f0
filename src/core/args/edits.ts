// Applies line/column text edits to a string, as the editor would: used by the CLI-side
// "fix ARGS.json" path and by tests that check a quick fix yields a valid file.
import type { TextEdit } from '../dataset/problem';
import * as l10n from '@vscode/l10n';

function offsetOf(text: string, starts: number[], line: number, col: number): number {
  return Math.min(text.length, (starts[line] ?? text.length) + col);
}

/** Applies non-overlapping edits (any order) and returns the new text. */
export function applyTextEdits(text: string, edits: readonly TextEdit[]): string {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  const spans = edits
    .map((e) => ({ start: offsetOf(text, starts, e.range.line, e.range.col), end: offsetOf(text, starts, e.range.endLine, e.range.endCol), text: e.newText }))
    .sort((a, b) => b.start - a.start);
  let out = text;
  let limit = Infinity;
  for (const s of spans) {
    if (s.end > limit) throw new Error(l10n.t('overlapping edits'));
    out = out.slice(0, s.start) + s.text + out.slice(s.end);
    limit = s.start;
  }
  return out;
}
