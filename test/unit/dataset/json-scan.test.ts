// The failure-path JSON scanner: it must agree with JSON.parse on what is valid, and point at
// the character where JSON.parse stops when it is not (the positions V8's messages give).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findJsonError, locate } from '../../../src/core/dataset/json-scan';

const valid = ['{}', '[]', '{"a": [1, -2.5e3, true, false, null, {"b": "\\u00e9\\n"}]}', ' {"a":"x"} ', '"s"', '0', '{"a":{"b":{"c":[[]]}}}'];
const invalid: [string, number, RegExp][] = [
  ['{"a": 1,}', 8, /Trailing comma/],
  ['{"a": [1, 2,]}', 12, /Trailing comma/],
  ['{"a" 1}', 5, /Expected ':'/],
  ['{"a": 1 "b": 2}', 8, /Missing ','/],
  ['{"a": "x', 8, /Unterminated string/],
  ['{"a": [1, 2', 11, /cut off/],
  ["{'a': 1}", 1, /Single quotes/],
  ['{"a": 01}', 7, /leading zeros/],
  ['{"a": .5}', 6, /Unexpected character/],
  ['{"a": undefined}', 6, /not a JSON value/],
  ['{"a": "\\x"}', 8, /Invalid escape/],
  ['{"a": 1} {"b": 2}', 9, /second record/],
  ['{"a": 1} x', 9, /after the end/],
  ['', 0, /Empty line/],
  ['{"a": hello}', 6, /double quotes/],
];

test('valid JSON has no error', () => {
  for (const v of valid) {
    JSON.parse(v);
    assert.equal(findJsonError(v), undefined, v);
  }
});

test('invalid JSON: position and message', () => {
  for (const [text, pos, re] of invalid) {
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    const e = findJsonError(text);
    assert.ok(e, text);
    assert.equal(e.pos, pos, `${text}: ${e.message}`);
    assert.match(e.message, re, text);
  }
});

test('the scanner agrees with JSON.parse on random mutations of a record', () => {
  const base = '{"messages": [{"role": "user", "content": "a\\"b"}, {"n": -1.5e2, "t": [true, null]}]}';
  const chars = ['"', ',', '}', ']', '{', '[', ':', '\\', 'x', ' ', '1', '-', '.'];
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  for (let i = 0; i < 3000; i++) {
    const at = rnd(base.length);
    const mutated = rnd(2) ? base.slice(0, at) + chars[rnd(chars.length)] + base.slice(at) : base.slice(0, at) + base.slice(at + 1);
    let ok = true;
    try { JSON.parse(mutated); } catch { ok = false; }
    assert.equal(findJsonError(mutated) === undefined, ok, mutated);
  }
});

test('locate finds values and keys by path', () => {
  const text = '{"messages": [{"role": "user", "content": "hi"}, {"role": 5}], "x": {"y": [0, "z"]}}';
  const role = locate(text, ['messages', 1, 'role']);
  assert.ok(role);
  assert.equal(text.slice(role.start, role.end), '5');
  assert.equal(text.slice(role.keyStart, role.keyEnd), '"role"');
  const z = locate(text, ['x', 'y', 1]);
  assert.ok(z);
  assert.equal(text.slice(z.start, z.end), '"z"');
  assert.equal(locate(text, ['nope']), undefined);
  const escapedKey = locate('{"a\\"b": 1}', ['a"b']);
  assert.ok(escapedKey);
  assert.equal(escapedKey.start, 9);
});
