// Sampling controls: defaults are the Balanced preset (temperature 0.8, no repeated 2-grams), ranges
// are checked per field, and only the filters that are on reach the worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SAMPLING, formatStopStrings, parseStopStrings, presetOf, SAMPLING_PRESETS, samplingErrors, toSamplingRequest } from '../../../src/core/playground/sampling';

test('the default is the Balanced preset: temperature 0.8 and no_repeat_ngram_size 2', () => {
  assert.equal(DEFAULT_SAMPLING.temperature, 0.8);
  assert.equal(DEFAULT_SAMPLING.no_repeat_ngram_size, 2);
  assert.equal(presetOf(DEFAULT_SAMPLING)?.id, 'balanced');
  assert.deepEqual(samplingErrors(DEFAULT_SAMPLING), {});
  assert.deepEqual(toSamplingRequest(DEFAULT_SAMPLING), { seed: 42, temperature: 0.8, no_repeat_ngram_size: 2 });
});

test('every preset is valid and recognised; a changed value is custom', () => {
  for (const p of SAMPLING_PRESETS) {
    const s = { ...DEFAULT_SAMPLING, ...p.values };
    assert.deepEqual(samplingErrors(s), {}, p.id);
    assert.equal(presetOf(s)?.id, p.id);
  }
  assert.equal(presetOf({ ...DEFAULT_SAMPLING, temperature: 0.81 }), undefined);
  assert.deepEqual(toSamplingRequest({ ...DEFAULT_SAMPLING, ...SAMPLING_PRESETS[1].values }), { seed: 42 }, 'greedy sends no filter');
});

test('out-of-range and non-integer values name the field and the range', () => {
  const e = samplingErrors({ ...DEFAULT_SAMPLING, top_p: 0, top_k: 2.5, max_new_tokens: 0, temperature: NaN, stop: [''] });
  assert.match(e.top_p!, /Top-p must be more than 0 and at most 1/);
  assert.match(e.top_k!, /Top-k must be 0 \(off\) or a whole number/);
  assert.match(e.max_new_tokens!, /from 1 to 32768/);
  assert.match(e.temperature!, /must be a number/);
  assert.match(e.stop!, /non-empty/);
});

test('stop strings: one per line, \\n and \\t escapes, round trip', () => {
  assert.deepEqual(parseStopStrings('###\n\\n\\nUser:\n\n'), ['###', '\n\nUser:']);
  const stops = ['a\\b', '\n', 'x\ty'];
  assert.deepEqual(parseStopStrings(formatStopStrings(stops)), stops);
});
