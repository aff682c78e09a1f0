import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flatSeriesBounds, formatTicks, SMOOTHED_SERIES } from '../../../src/core/run/chart-scale';
import { SERIES_IDS } from '../../../src/core/run/series';

test('a constant learning rate with float rounding is flat: zero to twice its value', () => {
  const lr = Array.from({ length: 200 }, (_, i) => (i % 3 ? 0.01 : 0.009999999999999997));
  assert.deepEqual(flatSeriesBounds(lr), { min: 0, max: 0.02 });
  assert.deepEqual(flatSeriesBounds([0, 0, 0]), { min: -1, max: 1 });
  assert.deepEqual(flatSeriesBounds([-2, -2]), { min: -4, max: 0 });
  assert.equal(flatSeriesBounds([0.01, 0.011]), undefined, 'a real change autoscales');
  assert.equal(flatSeriesBounds([]), undefined);
});

test('tick labels: one number of decimals, the fewest that are exact; no float noise', () => {
  // The ticks chart.js makes when it zooms into 0.01 ± float noise, and the ones of a real range.
  assert.deepEqual(formatTicks([0.009999999999999997, 0.01, 0.010000000000000002]), ['0.01', '0.01', '0.01']);
  assert.deepEqual(formatTicks([0, 0.002, 0.004, 0.006000000000000001, 0.008, 0.01]), ['0.000', '0.002', '0.004', '0.006', '0.008', '0.010']);
  assert.deepEqual(formatTicks([0.0095, 0.01, 0.0105]), ['0.0095', '0.0100', '0.0105']);
  assert.deepEqual(formatTicks([1.5, 2, 2.5, 3]), ['1.5', '2.0', '2.5', '3.0']);
  assert.deepEqual(formatTicks([0, 5000, 10000, 15000]), ['0', '5,000', '10,000', '15,000']);
  // Learning rates below 1e-3 as exponents.
  assert.deepEqual(formatTicks([0, 5e-5, 0.0001, 0.00015000000000000001, 0.0002]), ['0', '5e-5', '1e-4', '1.5e-4', '2e-4']);
});

test('only loss-like series are smoothed: never the learning rate, memory or throughput', () => {
  assert.deepEqual(SERIES_IDS.filter((id) => SMOOTHED_SERIES.has(id)), ['loss']);
});
