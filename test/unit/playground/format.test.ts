// Numbers in the playground read well: units, a few significant digits, no exponent, no float noise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatCount, formatLoss, formatMs, formatRate, formatSetting } from '../../../src/core/playground/format';

test('bytes: binary units with three significant digits, never an exponent', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(276_000), '270 KiB');
  assert.equal(formatBytes(12.34 * 1024 * 1024), '12.3 MiB');
  assert.equal(formatBytes(1.205 * 1024 ** 3), '1.21 GiB');
  assert.equal(formatBytes(1023.9 * 1024 * 1024), '1 GiB', 'rounding up carries into the next unit');
  assert.equal(formatBytes(undefined), '–');
});

test('durations: ms below a second, seconds with three digits, minutes and seconds', () => {
  assert.equal(formatMs(0.4321), '0.43 ms');
  assert.equal(formatMs(85.4), '85 ms');
  assert.equal(formatMs(1254), '1.25 s');
  assert.equal(formatMs(12_345), '12.3 s');
  assert.equal(formatMs(125_000), '2 min 05 s');
  assert.equal(formatMs(null), '–');
});

test('rates and counts', () => {
  assert.equal(formatRate(23.456), '23.5 tok/s');
  assert.equal(formatRate(276_543.2), '276,543 tok/s');
  assert.equal(formatRate(null), '–');
  assert.equal(formatCount(4096), '4,096');
  assert.equal(formatLoss(1.23456), '1.235');
});

test('settings typed back into fields carry no float noise', () => {
  assert.equal(formatSetting(0.1 + 0.2), '0.3');
  assert.equal(formatSetting(0.8), '0.8');
  assert.equal(formatSetting(42), '42');
  assert.equal(formatSetting(1e-7), '0.0000001');
});
