import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Problem, TextEdit } from '../../src/core/dataset/problem';
import { editsOverlap, mergeFixes, preferredFix } from '../../src/vscode/merge-fixes';

const edit = (line: number, col: number, endLine: number, endCol: number, newText = ''): TextEdit => ({ range: { line, col, endLine, endCol }, newText });
const problem = (code: string, fixes: Problem['fixes']): Problem => ({ range: { line: 0, col: 0, endLine: 0, endCol: 1 }, severity: 'error', code, message: code, fixes });

test('editsOverlap: touching ranges do not overlap, shared text and same insertion point do', () => {
  assert.equal(editsOverlap(edit(0, 0, 0, 5), edit(0, 5, 0, 9)), false, 'adjacent');
  assert.equal(editsOverlap(edit(0, 0, 0, 5), edit(0, 4, 0, 9)), true, 'shared character');
  assert.equal(editsOverlap(edit(0, 3, 0, 3, 'x'), edit(0, 3, 0, 3, 'y')), true, 'two inserts at one point');
  assert.equal(editsOverlap(edit(0, 2, 2, 0), edit(1, 0, 1, 4)), true, 'multi-line range contains another');
  assert.equal(editsOverlap(edit(1, 0, 1, 4), edit(0, 2, 2, 0)), true, 'symmetric');
  assert.equal(editsOverlap(edit(0, 0, 0, 3), edit(1, 0, 1, 3)), false, 'different lines');
});

test('preferredFix: the preferred one, else the only one, else none', () => {
  const a = { title: 'a', edits: [edit(0, 0, 0, 1)] };
  const b = { title: 'b', edits: [edit(0, 1, 0, 2)], preferred: true };
  assert.equal(preferredFix(problem('X', [a, b])), b);
  assert.equal(preferredFix(problem('X', [a])), a);
  assert.equal(preferredFix(problem('X', [a, { ...a, title: 'c' }])), undefined, 'two equal candidates: no choice made for the user');
  assert.equal(preferredFix(problem('X', undefined)), undefined);
});

test('mergeFixes keeps whole fixes only: a fix with any overlapping edit is left out', () => {
  const first = { title: 'quotes', edits: [edit(2, 1, 2, 2, '"'), edit(2, 10, 2, 11, '"')], preferred: true };
  const clash = { title: 'trim', edits: [edit(2, 0, 2, 48, 'x')], preferred: true };
  const other = { title: 'comma', edits: [edit(0, 46, 0, 47)], preferred: true };
  const edits = mergeFixes([problem('TUN104', [first]), problem('TUN109', [clash]), problem('TUN103', [other]), problem('TUN203', [])]);
  assert.deepEqual(edits, [...first.edits, ...other.edits]);
});
