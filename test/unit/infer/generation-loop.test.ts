// The generation loop's pure parts: prefill chunk sizing (bounded in tokens and in time),
// sampling defaults and range checks with messages naming the field, and the prompt-fits check.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkPromptFits, nextPrefillChunk, PREFILL_CHUNK, PREFILL_CHUNK_MAX, PREFILL_TARGET_MS, samplerSettings } from '../../../src/core/infer/generation-loop';
import { InferFailure } from '../../../src/core/infer/errors';

function failure(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof InferFailure && e.code === code && message.test(e.message) && e.hint.length > 0);
}

describe('generation loop', () => {
  it('prefill chunks grow to fit the target time, within 64..512 tokens', () => {
    assert.equal(nextPrefillChunk(64, 1000), PREFILL_CHUNK, 'a slow machine keeps the smallest chunk');
    assert.equal(nextPrefillChunk(64, 0.001), PREFILL_CHUNK_MAX, 'a fast one takes the largest');
    // 64 tokens in 10 ms: 0.156 ms a token, so 256 tokens (40 ms) fit in 50 ms and 512 do not.
    assert.equal(PREFILL_TARGET_MS, 50);
    assert.equal(nextPrefillChunk(64, 10), 256);
    assert.equal(nextPrefillChunk(256, 60), 128, 'and shrink when a chunk took too long');
    for (const ms of [0, 0.5, 3, 17, 49, 50, 51, 400]) {
      const n = nextPrefillChunk(100, ms);
      assert.ok(n >= PREFILL_CHUNK && n <= PREFILL_CHUNK_MAX && Number.isInteger(Math.log2(n / PREFILL_CHUNK)));
    }
  });

  it('sampling defaults are greedy with every filter off', () => {
    assert.deepEqual(samplerSettings(), { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0, seed: 0 });
    assert.deepEqual(samplerSettings({ temperature: 0.8, no_repeat_ngram_size: 2, seed: 42 }), { temperature: 0.8, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 2, seed: 42 });
  });

  it('out-of-range sampling is a bad_request naming the field', () => {
    failure(() => samplerSettings({ temperature: -0.1 }), 'bad_request', /sampling\.temperature is -0\.1/);
    failure(() => samplerSettings({ top_p: 0 }), 'bad_request', /sampling\.top_p is 0; it must be in \(0, 1\]/);
    failure(() => samplerSettings({ top_p: 1.5 }), 'bad_request', /top_p/);
    failure(() => samplerSettings({ min_p: 2 }), 'bad_request', /min_p/);
    failure(() => samplerSettings({ repetition_penalty: 0 }), 'bad_request', /repetition_penalty/);
  });

  it('a prompt must leave room for one token', () => {
    checkPromptFits(63, 64);
    failure(() => checkPromptFits(64, 64), 'prompt_too_long', /64 tokens.*context of 64 tokens/);
    failure(() => checkPromptFits(5000, 2048), 'prompt_too_long', /5000 tokens/);
  });
});
