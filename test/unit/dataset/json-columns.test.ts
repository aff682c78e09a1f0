// Syntax-error columns are where V8's JSON.parse stops, checked as a property over generated
// broken lines (and a few named cases), and the quick fixes for trailing commas and quotes
// still repair the line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { lintText } from '../../../src/core/dataset/lint';
import { brokenLine, fuzzParams } from './arbitraries';
import { applyEdits } from './helpers';
import { v8Position } from './v8-position';

const SYNTAX = new Set(['TUN101', 'TUN103', 'TUN104']);
export const COLUMN_RUNS = 3000;

function syntaxProblem(line: string) {
  const found = lintText(line).problems.filter((p) => SYNTAX.has(p.code));
  assert.ok(found.length <= 1, `${JSON.stringify(line)}: ${found.length} syntax problems`);
  return found[0];
}

/** Where the linter should point: V8's position in the line. */
function expectedColumn(line: string): number {
  return v8Position(line);
}

test('named cases: trailing comma at the closing bracket, cut-off string at the end, UTF-16 columns', () => {
  const cases: [string, number, string][] = [
    ['{"input": "x", "output": "y",}', 29, 'TUN103'],
    ['{"a": [1, 2,  ]}', 14, 'TUN103'],
    ['{"text": "abc', 13, 'TUN101'],
    ['{"text": "😀😀",}', 16, 'TUN103'],
    ['{"text": "😀", "x": tru}', 23, 'TUN101'],
    ['{"a": -}', 7, 'TUN101'],
    ['{"a": 1.}', 8, 'TUN101'],
    ['{"a": "\\u12g4"}', 11, 'TUN101'],
    ['{"a": "\\x"}', 8, 'TUN101'],
    ['{\u201ca\u201d: 1}', 1, 'TUN104'],
  ];
  for (const [line, col, code] of cases) {
    assert.equal(expectedColumn(line), col, `oracle for ${line}`);
    const p = syntaxProblem(line);
    assert.ok(p, line);
    assert.equal(p.code, code, line);
    assert.equal(p.range.col, col, `${line}: ${p.message}`);
    assert.doesNotMatch(p.message, /column|position/i, 'the range gives the column; the message does not repeat it');
  }
});

test('a cut-off line: the range is empty at the end of the line', () => {
  const p = syntaxProblem('{"text": "abc');
  assert.deepEqual([p?.range.col, p?.range.endCol], [13, 13]);
});

test('the trailing-comma fix still removes the comma (the error is at the bracket)', () => {
  for (const line of ['{"input": "x", "output": "y",}', '{"a": [1, 2 , ]}', '  {"a": {"b": 1,}, "c": [1,],}']) {
    const p = syntaxProblem(line);
    assert.equal(p?.code, 'TUN103');
    const fix = p?.fixes?.[0];
    assert.ok(fix, line);
    const fixed = applyEdits(line, fix.edits);
    JSON.parse(fixed);
    assert.equal(fixed.replace(/,/g, '').replace(/\s/g, ''), line.replace(/,/g, '').replace(/\s/g, ''), 'only commas removed');
  }
});

test(`property: on generated broken lines the column is V8's (${COLUMN_RUNS} cases)`, () => {
  let broken = 0;
  fc.assert(fc.property(brokenLine.filter((l) => l.trim() !== ''), (line) => {
    const want = expectedColumn(line);
    const p = syntaxProblem(line);
    if (want < 0) {
      assert.equal(p, undefined, `${JSON.stringify(line)} parses`);
      return;
    }
    broken++;
    assert.ok(p, `${JSON.stringify(line)}: no syntax problem`);
    assert.equal(p.range.col, want, `${JSON.stringify(line)}: ${p.message}`);
    assert.ok(p.range.endCol >= p.range.col && p.range.endCol <= line.length);
    for (const fix of p.fixes ?? []) JSON.parse(applyEdits(line, fix.edits));
  }), fuzzParams(COLUMN_RUNS));
  assert.ok(broken > COLUMN_RUNS / 2, `only ${broken} of the generated lines were broken`);
});
