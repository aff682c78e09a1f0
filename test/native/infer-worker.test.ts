// The inference worker end to end with the real native engine: the client forks
// out/src/core/infer/worker-main.js, which loads build/native's addon and a tiny model with
// GPT-2's real tokenizer. Greedy tokens equal the addon driven directly; streaming text, stop
// strings, EOS ids from generation_config.json, KV-cache reuse between turns; cancel within
// one prompt chunk and within one token. Bad input and a killed worker: infer-worker-errors.test.ts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';

import type { InferEvent } from '../../src/core/engine/infer-protocol';
import { PREFILL_CHUNK } from '../../src/core/infer/generation-loop';
import { loadTokenizer } from '../../src/core/model/tokenizer';
import { client, collect, directGreedy, EOS, greedy, modelWithTokenizer, PROMPT, skip, SLOW, SMALL, tempRoot, variant } from './infer-fixtures';

let tmp = '';
let small = '';
let slow = '';

describe('inference worker', { skip }, () => {
  before(() => {
    tmp = tempRoot();
    small = modelWithTokenizer(path.join(tmp, 'small'), SMALL);
    slow = modelWithTokenizer(path.join(tmp, 'slow'), SLOW);
  });

  test('loads a model and reports it, its memory and its stop tokens', async () => {
    const c = client();
    try {
      const ready = await c.start();
      assert.equal(ready.inference, true);
      assert.equal(ready.pid, c.pid);
      const loaded = await c.load({ model: small, quant: 'f32', context_length: 256, threads: 2 });
      assert.equal(loaded.model.architecture, 'LlamaForCausalLM');
      assert.equal(loaded.model.vocab_size, 50257);
      assert.equal(loaded.model.context_length, 256);
      assert.equal(loaded.model.quant, 'f32');
      assert.equal(loaded.model.chat_template, 'default', 'GPT-2 ships no template: Tuner\'s default');
      assert.deepEqual(loaded.model.stop_token_ids, [EOS]);
      assert.equal(loaded.model.dir, small);
      assert.ok(loaded.load_ms > 0 && loaded.weight_bytes > 50257 * 64 * 4 && loaded.kv_cache_bytes > 0);
      assert.ok(loaded.resident_bytes > loaded.weight_bytes);
    } finally {
      await c.dispose();
    }
  });

  test('greedy tokens stream and equal the engine driven directly; text, timings, memory', async () => {
    const c = client();
    const memory = new Promise<InferEvent>((resolve) => c.onEvent((e) => e.type === 'memory' && resolve(e)));
    try {
      await c.load({ model: small, quant: 'f32', context_length: 256, threads: 2 });
      const { tokens, done } = await collect(c.generate(greedy(24)));
      const tok = loadTokenizer(small);
      const promptIds = tok.encode(PROMPT);
      const expected = directGreedy(small, promptIds, 24);
      const ids = tokens.map((t) => t.token);
      assert.deepEqual(done.reason === 'eos' ? [...ids, EOS] : ids, expected);
      assert.deepEqual(tokens.map((t) => t.index), ids.map((_, i) => i));
      const streamed = tokens.map((t) => t.text).join('');
      assert.ok(done.text.startsWith(streamed), 'token texts are a prefix of the final text');
      assert.equal(done.text, tok.decode(ids, { cleanUpSpaces: false }), 'the final text is the decode of the tokens');
      assert.equal(done.reason, expected.length === 24 && expected[23] !== EOS ? 'length' : 'eos');
      const t = done.timings;
      assert.equal(t.prompt_tokens, promptIds.length);
      assert.equal(t.cached_tokens, 0);
      assert.equal(t.generated_tokens, expected.length);
      assert.ok(t.time_to_first_token_ms !== null && t.time_to_first_token_ms > 0 && t.time_to_first_token_ms <= t.total_ms);
      assert.ok(t.tokens_per_s !== null && t.tokens_per_s > 0);
      assert.ok(t.prompt_tokens_per_s !== null && t.prompt_tokens_per_s > 0);
      // Sent right after "done".
      const m = await memory;
      assert.ok(m.type === 'memory' && m.id === done.id && m.resident_bytes > 0 && m.peak_resident_bytes >= m.resident_bytes && m.weight_bytes > 0);
    } finally {
      await c.dispose();
    }
  });

  test('same seed, same tokens; the next request reuses the cached prompt', async () => {
    const c = client();
    try {
      await c.load({ model: small, context_length: 512, threads: 2 });
      const sampling = { temperature: 0.9, top_k: 50, top_p: 0.95, seed: 5 };
      const a = await collect(c.generate(greedy(16, { sampling })));
      const b = await collect(c.generate(greedy(16, { sampling })));
      assert.deepEqual(b.tokens.map((t) => t.token), a.tokens.map((t) => t.token));
      assert.equal(b.done.timings.cached_tokens, b.done.timings.prompt_tokens - 1, 'the same prompt: all but its last token reused');
      const other = await collect(c.generate(greedy(16, { sampling: { ...sampling, seed: 6 } })));
      assert.notDeepEqual(other.tokens.map((t) => t.token), a.tokens.map((t) => t.token));

      // A chat: the second turn's prompt extends the first's, so only the new part is computed.
      const turn1 = [{ role: 'user' as const, content: 'Tell me a story about the sea.' }];
      const first = await collect(c.generate({ prompt: { type: 'chat', messages: turn1 }, max_new_tokens: 12, stop: ['\n'] }));
      const answer = first.done.text.trim();
      const second = await collect(c.generate({ prompt: { type: 'chat', messages: [...turn1, { role: 'assistant', content: answer }, { role: 'user', content: 'Shorter, please.' }] }, max_new_tokens: 4 }));
      assert.ok(second.done.timings.cached_tokens >= first.done.timings.prompt_tokens, `${second.done.timings.cached_tokens} of the first turn's ${first.done.timings.prompt_tokens} prompt tokens reused`);
    } finally {
      await c.dispose();
    }
  });

  test('a stop string ends generation, is never streamed and is cut from the text', async () => {
    const c = client();
    try {
      await c.load({ model: small, context_length: 256, threads: 2 });
      const plain = await collect(c.generate(greedy(40)));
      const text = plain.done.text;
      // A stop string that starts inside one token's text and ends in a later one.
      let cut = -1;
      let stop = '';
      let at = 0;
      for (const t of plain.tokens.slice(0, -2)) {
        at += t.text.length;
        if (t.text.length >= 2 && cut < 0) {
          cut = at - 1;
          stop = text.slice(cut, cut + 3);
        }
      }
      assert.ok(cut > 0 && stop.length === 3, `found a stop string in ${JSON.stringify(text)}`);
      const expectedText = text.slice(0, text.indexOf(stop));
      const stopped = await collect(c.generate(greedy(40, { stop: ['never-in-output-§', stop] })));
      assert.equal(stopped.done.reason, 'stop');
      assert.equal(stopped.done.stop, stop);
      assert.equal(stopped.done.text, expectedText);
      const streamed = stopped.tokens.map((t) => t.text).join('');
      assert.equal(streamed, expectedText, 'nothing of the stop string was streamed');
    } finally {
      await c.dispose();
    }
  });

  test('eos_token_id from generation_config.json (a list) ends generation', async () => {
    const promptIds = loadTokenizer(small).encode(PROMPT);
    const first = directGreedy(small, promptIds, 3)[0];
    const dir = variant(tmp, small, 'with-generation-config');
    fs.writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [first, EOS] }));
    const c = client();
    try {
      const loaded = await c.load({ model: dir, context_length: 256, threads: 2 });
      assert.deepEqual(loaded.model.stop_token_ids, [first, EOS].sort((a, b) => a - b));
      const { tokens, done } = await collect(c.generate(greedy(10)));
      assert.equal(done.reason, 'eos');
      assert.equal(tokens.length, 0, 'the stop token is not streamed');
      assert.equal(done.timings.generated_tokens, 1);
      assert.equal(done.stop, loadTokenizer(small).idToToken(first));
      assert.equal(done.text, '');
    } finally {
      await c.dispose();
    }
  });

  test('cancel during the prompt stops within one chunk', async () => {
    const c = client();
    try {
      await c.load({ model: slow, context_length: 4096, threads: 2 });
      const longPrompt = 'The sea was calm and the sky was grey. '.repeat(200); // ~2000 tokens
      const g = c.generate({ prompt: { type: 'text', text: longPrompt }, max_new_tokens: 8 });
      let sentAt = -1;
      let chunksAfterCancel = 0;
      let chunks = 0;
      let total = 0;
      for await (const e of g) {
        if (e.type !== 'prefill') continue;
        chunks++;
        total = e.total;
        if (sentAt >= 0) chunksAfterCancel++;
        else {
          g.cancel();
          sentAt = e.done;
        }
      }
      const done = await g.done;
      assert.equal(done.reason, 'cancelled');
      assert.equal(done.timings.generated_tokens, 0);
      assert.ok(total > 20 * PREFILL_CHUNK, `a long prompt (${total} tokens)`);
      assert.ok(chunksAfterCancel <= 1, `${chunksAfterCancel} chunks after the cancel`);
      assert.ok(chunks < total / PREFILL_CHUNK, 'stopped well before the end of the prompt');
      assert.ok(done.timings.cancel_ms !== undefined);
      console.log(`cancel in prefill: ${chunksAfterCancel} chunk(s) after the cancel, ${done.timings.cancel_ms?.toFixed(2)} ms in the worker`);
    } finally {
      await c.dispose();
    }
  });

  test('cancel during decoding stops within one token', async () => {
    const c = client();
    try {
      await c.load({ model: slow, context_length: 4096, threads: 2 });
      const g = c.generate(greedy(2000, { sampling: { temperature: 1, seed: 3 } }));
      let sent = false;
      let after = 0;
      let gaps: number[] = [];
      let last = performance.now();
      for await (const e of g) {
        if (e.type !== 'token') continue;
        const t = performance.now();
        gaps.push(t - last);
        last = t;
        if (sent) after++;
        else if (e.index === 3) {
          g.cancel();
          sent = true;
        }
      }
      const done = await g.done;
      assert.equal(done.reason, 'cancelled');
      assert.ok(after <= 1, `${after} tokens after the cancel`);
      assert.equal(done.timings.generated_tokens, 4 + after);
      gaps = gaps.slice(1).sort((x, y) => x - y);
      console.log(`cancel in decode: ${after} token(s) after the cancel, ${done.timings.cancel_ms?.toFixed(2)} ms in the worker; median token ${gaps[gaps.length >> 1]?.toFixed(2)} ms`);
    } finally {
      await c.dispose();
    }
  });
});
