import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chartPoints, lttb, smooth, type Point } from '../../../src/core/run/downsample';

const series = (n: number, f: (i: number) => number): Point[] => Array.from({ length: n }, (_, i) => ({ x: i + 1, y: f(i + 1) }));

test('lttb returns short series unchanged and keeps first and last points', () => {
  const s = series(10, (i) => i * i);
  assert.deepEqual(lttb(s, 10), s);
  assert.deepEqual(lttb(s, 50), s);
  const r = lttb(series(1000, Math.sqrt), 100);
  assert.equal(r.length, 100);
  assert.deepEqual(r[0], { x: 1, y: 1 });
  assert.deepEqual(r[99], { x: 1000, y: Math.sqrt(1000) });
  for (let i = 1; i < r.length; i++) assert.ok(r[i].x > r[i - 1].x, 'x stays strictly increasing');
});

test('lttb keeps a one-point spike and a one-point dip that striding would drop', () => {
  const s = series(100_000, (i) => (i === 31_337 ? 50 : i === 77_777 ? -50 : Math.sin(i / 1000)));
  const r = lttb(s, 500);
  assert.ok(r.some((p) => p.x === 31_337 && p.y === 50));
  assert.ok(r.some((p) => p.x === 77_777 && p.y === -50));
  const strided = s.filter((_, i) => i % 200 === 0);
  assert.ok(!strided.some((p) => p.y === 50), 'plain striding loses the spike (why LTTB is used)');
});

test('lttb with a threshold under 3 keeps just the ends', () => {
  assert.deepEqual(lttb(series(5, (i) => i), 2), [{ x: 1, y: 1 }, { x: 5, y: 5 }]);
});

test('smooth is a debiased EMA: starts at the first value, converges to a constant, 0 is identity', () => {
  const s = series(50, () => 7);
  for (const p of smooth(s, 0.9)) assert.ok(Math.abs(p.y - 7) < 1e-12);
  const step = series(3, (i) => (i === 1 ? 0 : 10));
  const sm = smooth(step, 0.5);
  assert.equal(sm[0].y, 0);
  // Debiased: (0.5*0.5*0 + 0.5*10) / (1 - 0.25) = 6.666…
  assert.ok(Math.abs(sm[1].y - 10 * 0.5 / 0.75) < 1e-12);
  assert.deepEqual(smooth(step, 0), step);
});

test('chartPoints smooths then reduces', () => {
  const r = chartPoints(series(10_000, (i) => i % 2), 0.9, 2000);
  assert.equal(r.length, 2000);
  assert.ok(r.filter((p) => p.x > 100).every((p) => p.y > 0.4 && p.y < 0.6), 'the alternating signal is smoothed before reduction');
});
