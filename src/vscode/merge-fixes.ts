// Combining many problems' fixes into one edit ("fix all"): VS Code rejects a WorkspaceEdit
// whose edits overlap, so a fix that touches text another chosen fix already edits is left
// out; it stays a diagnostic and can be applied on its own. No `vscode` import, so this is
// unit-tested in plain node (test/unit/merge-fixes.test.ts).
import type { Fix, Problem, TextEdit } from '../core/dataset/problem';

/** A problem's fix for "fix all": the one marked preferred, or the only one. */
export function preferredFix(p: Problem): Fix | undefined {
  return p.fixes?.find((f) => f.preferred) ?? (p.fixes?.length === 1 ? p.fixes[0] : undefined);
}

function compare(l1: number, c1: number, l2: number, c2: number): number {
  return l1 - l2 || c1 - c2;
}

/** True when the edits touch the same text (or insert at the same point). */
export function editsOverlap(a: TextEdit, b: TextEdit): boolean {
  const startsBeforeEndOf = (x: TextEdit, y: TextEdit) => compare(x.range.line, x.range.col, y.range.endLine, y.range.endCol) < 0;
  const sameStart = compare(a.range.line, a.range.col, b.range.line, b.range.col) === 0;
  return sameStart || (startsBeforeEndOf(a, b) && startsBeforeEndOf(b, a));
}

/** The edits of the preferred fixes of `problems` that can be applied together, in problem order. */
export function mergeFixes(problems: readonly Problem[]): TextEdit[] {
  const taken: TextEdit[] = [];
  for (const fix of problems.map(preferredFix)) {
    if (!fix || fix.edits.length === 0 || fix.edits.some((e) => taken.some((t) => editsOverlap(e, t)))) continue;
    taken.push(...fix.edits);
  }
  return taken;
}
