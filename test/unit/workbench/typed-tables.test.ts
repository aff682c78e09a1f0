// The cleaner's typed-array tables against the JS structures they replace: the same answers for
// the same operations, through many grows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedArray, HashTable } from '../../../src/core/workbench/typed-tables';
import { seededRandom } from '../../../src/core/workbench/split';

test('HashTable keeps 53-bit hashes whole and answers as a Map does', () => {
  const random = seededRandom(5);
  const table = new HashTable(4), map = new Map<number, number>();
  // Keys that differ only above bit 32 (one 32-bit half alike), 0, and the largest safe integer.
  const keys = [0, 2 ** 32, 2 ** 33 + 7, 7, Number.MAX_SAFE_INTEGER, 2 ** 52];
  for (let i = 0; i < 50_000; i++) keys.push(Math.floor(random() * 2 ** 21) * 2 ** 32 + Math.floor(random() * 2 ** 32));
  keys.forEach((k, i) => {
    assert.equal(table.get(k), map.get(k), `before setting ${k}`);
    table.set(k, i);
    map.set(k, i);
  });
  for (const k of keys) assert.equal(table.get(k), map.get(k));
  assert.equal(table.get(2 ** 34), undefined);
  assert.equal(table.size, map.size);
  const seen = new Map<number, number>();
  table.forEach((v, k) => seen.set(k, v));
  assert.deepEqual([...seen].sort((a, b) => a[0] - b[0]), [...map].sort((a, b) => a[0] - b[0]));
});

test('ChunkedArray stores across chunk boundaries', () => {
  const a = new ChunkedArray((n) => new Int32Array(n));
  for (let i = 0; i < 200_000; i++) a.push(i * 3 - 100);
  assert.equal(a.length, 200_000);
  for (const i of [0, 65_535, 65_536, 131_072, 199_999]) assert.equal(a.get(i), i * 3 - 100);
  assert.equal(a.bytes, 4 * 65_536 * 4);
});
