import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, formatDuration, formatParams, formatRate, formatValue } from '../../src/core/units';

test('sizes: binary units, three significant digits, 1024³ bytes is "1 GiB"', () => {
  assert.equal(formatBytes(1024 ** 3), '1 GiB');
  assert.equal(formatBytes(64 * 1024 ** 3), '64 GiB');
  assert.equal(formatBytes(1.205 * 1024 ** 3), '1.21 GiB');
  assert.equal(formatBytes(4_927_488), '4.7 MiB');
  assert.equal(formatBytes(undefined), '–');
});

test('parameter counts in the unit that fits: 18,144 is "18.1 K", not "0.0 M"', () => {
  assert.equal(formatParams(18_144), '18.1 K');
  assert.equal(formatParams(1_792), '1.79 K');
  assert.equal(formatParams(912), '912');
  assert.equal(formatParams(6_738_415_616), '6.74 B');
  assert.equal(formatParams(494_032_768), '494 M');
  assert.equal(formatParams(999_999), '1 M');
});

test('rates and measured values read as the status bar writes them: no 2.76e+5, no float noise', () => {
  assert.equal(formatRate(116_693.4), '116,693 tok/s');
  assert.equal(formatRate(276_000), '276,000 tok/s');
  assert.equal(formatRate(23.44), '23.4 tok/s');
  assert.equal(formatValue(0.009999999999999997), '0.01');
  assert.equal(formatValue(2e-5), '2e-5');
  assert.equal(formatValue(1.5e-4), '1.5e-4');
  assert.equal(formatValue(2.43219), '2.432');
  assert.equal(formatValue(123_456), '123,456');
});

test('durations: seconds, minutes, hours, days', () => {
  assert.equal(formatDuration(0.4), '0.4 s');
  assert.equal(formatDuration(59.6), '1 min 00 s');
  assert.equal(formatDuration(3600 * 5 + 60 * 7), '5 h 07 min');
  assert.equal(formatDuration(undefined), '–');
});
