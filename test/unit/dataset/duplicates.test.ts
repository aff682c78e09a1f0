// The duplicate index: fingerprint matches are confirmed against the real text, crowded
// fingerprint classes fall back to full hashes, and nothing but exact copies is reported.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuplicateIndex, fingerprint } from '../../../src/core/dataset/duplicates';

/** Lines sharing one fingerprint: long, equal everywhere except one unsampled position. */
function sameFingerprintLines(n: number): string[] {
  const out: string[] = [];
  const base = 'x'.repeat(4000);
  for (let i = 0; out.length < n; i++) {
    const at = 1000 + i;
    const line = base.slice(0, at) + 'y' + base.slice(at + 1);
    if (fingerprint(line) === fingerprint(base)) out.push(line);
  }
  return out;
}

function indexOver(lines: string[]): { index: DuplicateIndex; offsets: number[] } {
  const doc = lines.join('\n');
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += l.length + 1;
  }
  return { index: new DuplicateIndex((o, n) => doc.substr(o, n)), offsets };
}

test('lines with one fingerprint but different text are not duplicates; copies are', () => {
  const distinct = sameFingerprintLines(12);
  assert.equal(new Set(distinct.map(fingerprint)).size, 1, 'the fixture shares a fingerprint');
  const lines = [...distinct, distinct[0], distinct[3], distinct[11], distinct[6]];
  const { index, offsets } = indexOver(lines);
  const found = lines.map((l, i) => index.check(l, i, offsets[i], l.length));
  assert.deepEqual(found, [...Array(12).fill(undefined), 0, 3, 11, 6]);
});

test('without a way to read lines back, full hashes still find exact copies', () => {
  const index = new DuplicateIndex();
  assert.equal(index.check('{"a":1}', 0, -1, 7), undefined);
  assert.equal(index.check('{"a":2}', 1, -1, 7), undefined);
  assert.equal(index.check('{"a":1}', 2, -1, 7), 0);
});

test('the table grows past its initial size and keeps every line', () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `{"text": "record ${i}"}`);
  const all = [...lines, ...lines.slice(0, 100)];
  const { index, offsets } = indexOver(all);
  const found = all.map((l, i) => index.check(l, i, offsets[i], l.length));
  assert.equal(found.slice(0, 5000).filter((x) => x !== undefined).length, 0);
  assert.deepEqual(found.slice(5000), Array.from({ length: 100 }, (_, i) => i));
});

test('a full-hash collision between different lines is not a duplicate: the text is compared first', () => {
  // Every line hashes alike, as if the 53-bit hash collided for each pair.
  const collide = (): number => 42;
  const lines = ['{"text": "one"}', '{"text": "two"}', '{"text": "one"}', '{"text": "three"}', '{"text": "two"}'];
  const index = new DuplicateIndex(undefined, collide);
  const found = lines.map((l, i) => index.check(l, i, -1, l.length));
  assert.deepEqual(found, [undefined, undefined, 0, undefined, 1]);
});

test('crowded fingerprint classes with colliding full hashes still report only exact copies', () => {
  const distinct = sameFingerprintLines(10);
  const lines = [...distinct, distinct[7], distinct[2]];
  const doc = lines.join('\n');
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) { offsets.push(at); at += l.length + 1; }
  const index = new DuplicateIndex((o, n) => doc.substr(o, n), () => 7);
  const found = lines.map((l, i) => index.check(l, i, offsets[i], l.length));
  assert.deepEqual(found, [...Array(10).fill(undefined), 7, 2]);
});
