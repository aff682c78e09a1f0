// The train/eval split: exact counts per source, seeded and repeatable, and streaming choices
// that match the allocation whatever the order of the records.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateEval, evalTotal, seededRandom, StreamingSplitter } from '../../../src/core/workbench/split';

test('eval totals from a ratio or a count, always leaving a training record', () => {
  assert.equal(evalTotal(1000, { evalRatio: 0.1 }), 100);
  assert.equal(evalTotal(7, { evalRatio: 0.1 }), 1);
  assert.equal(evalTotal(10, { evalCount: 3 }), 3);
  assert.equal(evalTotal(3, { evalCount: 5 }), 2);
  assert.equal(evalTotal(1, { evalRatio: 0.5 }), 0);
});

test('allocation is proportional per source and adds up exactly', () => {
  const counts = new Map([['wiki', 700], ['forum', 200], ['code', 99], ['tiny', 1]]);
  const a = allocateEval(counts, 100);
  assert.equal([...a.values()].reduce((x, y) => x + y, 0), 100);
  assert.equal(a.get('wiki'), 70);
  assert.equal(a.get('forum'), 20);
  assert.equal(a.get('code'), 10, 'the largest remainder gets the last record');
  assert.equal(a.get('tiny'), 0);
});

test('the streaming splitter picks exactly the allocated records, the same ones for the same seed', () => {
  const sources = Array.from({ length: 1000 }, (_, i) => (i % 10 < 7 ? 'wiki' : i % 10 < 9 ? 'forum' : 'code'));
  const counts = new Map<string, number>();
  for (const s of sources) counts.set(s, (counts.get(s) ?? 0) + 1);
  const allocation = allocateEval(counts, 150);
  const run = (seed: number) => {
    const splitter = new StreamingSplitter(counts, allocation, seed);
    return sources.map((s) => splitter.toEval(s));
  };
  const a = run(1), b = run(1), c = run(2);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  for (const [source, n] of allocation) assert.equal(a.filter((e, i) => e && sources[i] === source).length, n, source);
  // The choices spread over the file rather than bunching at one end.
  assert.ok(a.slice(0, 500).filter(Boolean).length > 50 && a.slice(500).filter(Boolean).length > 50);
  const splitter = new StreamingSplitter(new Map([['x', 1]]), new Map([['x', 0]]), 1);
  splitter.toEval('x');
  assert.throws(() => splitter.toEval('x'), /more records of source "x"/);
});

test('the seeded generator is uniform enough and repeatable', () => {
  const r = seededRandom(5);
  const xs = Array.from({ length: 10000 }, r);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  assert.equal(seededRandom(5)(), xs[0]);
});
