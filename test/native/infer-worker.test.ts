// The inference worker end to end with the real native engine: the client forks
// out/src/core/infer/worker-main.js, which loads build/native's addon and a tiny model with
// GPT-2's real tokenizer. Greedy tokens equal the addon driven directly; streaming text, stop
// strings, EOS ids from generation_config.json, KV-cache reuse between turns; cancel within
// one prompt chunk and within one token; every bad input an error event with a hint while the
// worker keeps serving; a SIGKILLed worker surfaces as an error and the next request starts a
// new one.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadAddon } from '../../src/core/engine/addon';
import type { InferAddon, SamplerSettings } from '../../src/core/engine/infer-addon';
import { InferenceClient, InferenceError, WORKER_ENV_PASS_THROUGH, type Generation, type GenerateOptions } from '../../src/core/engine/infer-client';
import type { DoneEvent, InferEvent, TokenEvent } from '../../src/core/engine/infer-protocol';
import { PREFILL_CHUNK } from '../../src/core/infer/generation-loop';
import { loadTokenizer } from '../../src/core/model/tokenizer';
import { readSafetensorsF32, writeSafetensorsF32 } from './safetensors-f32';
import { writeTinyModel, type TinyModelSpec } from './tiny-model';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const WORKER = path.join(__dirname, '..', '..', 'src', 'core', 'infer', 'worker-main.js');
const GPT2 = path.join(ROOT, 'node_modules', '@lenml', 'tokenizer-gpt2', 'models');
const EOS = 50256; // GPT-2's <|endoftext|>
const GREEDY: SamplerSettings = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0, seed: 0 };

function addonWithInference(): (ReturnType<typeof loadAddon> & Partial<InferAddon>) | undefined {
  try {
    return loadAddon() as ReturnType<typeof loadAddon> & Partial<InferAddon>;
  } catch {
    return undefined;
  }
}
const addon = addonWithInference();
const skip = typeof addon?.inferLoad === 'function' ? false : 'the addon in build/native has no inferLoad yet: run `npm run build:native`';

let tmp = '';
let small = '';
let slow = '';

/** A tiny Llama with GPT-2's tokenizer (its vocabulary sets the embedding size) and EOS. */
function modelWithTokenizer(dir: string, spec: TinyModelSpec): string {
  writeTinyModel(dir, { vocab: 50257, tied: true, ...spec });
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, bos_token_id: EOS, eos_token_id: EOS }, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(GPT2, f), path.join(dir, f));
  return dir;
}

/** A copy of a model folder (weights linked, not copied) to vary its side files. */
function variant(from: string, name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(from)) {
    if (f === 'model.safetensors') fs.symlinkSync(path.join(from, f), path.join(dir, f));
    else fs.copyFileSync(path.join(from, f), path.join(dir, f));
  }
  return dir;
}

function client(): InferenceClient {
  return new InferenceClient({ workerPath: WORKER, shutdownGraceMs: 5000 });
}

async function collect(g: Generation): Promise<{ tokens: TokenEvent[]; done: DoneEvent }> {
  const tokens: TokenEvent[] = [];
  for await (const e of g) if (e.type === 'token') tokens.push(e);
  return { tokens, done: await g.done };
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<InferenceError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InferenceError, `an InferenceError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    assert.ok(e.hint.length > 0, 'with a hint');
    return e;
  }
  assert.fail(`expected an error ${code}`);
}

/** Greedy ids through the addon in this process: the oracle for the worker's tokens. */
function directGreedy(model: string, prompt: number[], n: number): number[] {
  const s = (addon as InferAddon).inferLoad({ model, quant: 'f32', contextLength: 256, threads: 2 });
  try {
    s.setSampler(GREEDY);
    s.append(Uint32Array.from(prompt));
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = s.sample();
      out.push(t);
      if (t === EOS) break;
      s.append(Uint32Array.from([t]));
    }
    return out;
  } finally {
    s.free();
  }
}

const PROMPT = 'Once upon a time, in a small village by the sea,';
const greedy = (max: number, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({ prompt: { type: 'text', text: PROMPT }, max_new_tokens: max, ...extra });

describe('inference worker', { skip }, () => {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-infer-worker-'));
    small = modelWithTokenizer(path.join(tmp, 'small'), { hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, maxPos: 1024, seed: 11 });
    // Wide enough that a token takes milliseconds, so cancel latency is measurable.
    slow = modelWithTokenizer(path.join(tmp, 'slow'), { hidden: 256, intermediate: 768, layers: 4, heads: 8, kvHeads: 4, maxPos: 4096, seed: 12 });
  });
  after(() => {
    if (tmp && !process.env.TUNER_KEEP_TEST_DIRS) fs.rmSync(tmp, { recursive: true, force: true });
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
    const dir = variant(small, 'with-generation-config');
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

  test('a prompt longer than the context is an error with a hint; the worker keeps serving', async () => {
    const c = client();
    try {
      await c.load({ model: small, context_length: 32, threads: 2 });
      const e = await rejectsWith(c.generate({ prompt: { type: 'text', text: 'word '.repeat(40) }, max_new_tokens: 4 }).done, 'prompt_too_long', /\d+ tokens.*context of 32/);
      assert.match(e.hint, /context_length/);
      const ok = await collect(c.generate({ prompt: { type: 'text', text: 'Hi' }, max_new_tokens: 4 }));
      assert.ok(ok.done.timings.generated_tokens > 0);
      // The context fills up during generation: it ends as "length", not as an error.
      const full = await collect(c.generate({ prompt: { type: 'text', text: 'word '.repeat(28) }, max_new_tokens: 100 }));
      assert.ok(full.done.reason === 'length' || full.done.reason === 'eos');
      assert.ok(full.done.timings.prompt_tokens + full.done.timings.generated_tokens <= 33);
    } finally {
      await c.dispose();
    }
  });

  test('bad model input: each an error naming the problem, with a hint, and the worker goes on', async () => {
    const truncated = variant(small, 'truncated');
    fs.unlinkSync(path.join(truncated, 'model.safetensors'));
    const whole = fs.readFileSync(path.join(small, 'model.safetensors'));
    fs.writeFileSync(path.join(truncated, 'model.safetensors'), whole.subarray(0, whole.length >> 1));

    // A quantized folder (docs/quantization.md) naming a type this build does not know.
    const unknownQuant = variant(small, 'unknown-quant-type');
    fs.unlinkSync(path.join(unknownQuant, 'model.safetensors'));
    const weights = [...readSafetensorsF32(path.join(small, 'model.safetensors'))];
    writeSafetensorsF32(path.join(unknownQuant, 'model.safetensors'), weights, { format: 'pt', 'tuner.quant.model.layers.0.mlp.up_proj.weight': 'q5_k' });

    const gguf = path.join(tmp, 'gguf-only');
    fs.mkdirSync(gguf);
    fs.writeFileSync(path.join(gguf, 'model.gguf'), Buffer.from('GGUF\x03\x00\x00\x00'));

    // A PEFT adapter made for a model with hidden size 48, not this one's 64.
    const adapter = path.join(tmp, 'other-adapter');
    fs.mkdirSync(adapter);
    fs.writeFileSync(path.join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'], base_model_name_or_path: 'someone/other-model' }));
    const tensors: Array<[string, { shape: number[]; data: Float32Array }]> = [];
    for (let l = 0; l < 2; l++) {
      const p = `base_model.model.model.layers.${l}.self_attn.q_proj`;
      tensors.push([`${p}.lora_A.weight`, { shape: [4, 48], data: new Float32Array(4 * 48) }]);
      tensors.push([`${p}.lora_B.weight`, { shape: [48, 4], data: new Float32Array(48 * 4) }]);
    }
    writeSafetensorsF32(path.join(adapter, 'adapter_model.safetensors'), tensors);

    const c = client();
    try {
      await c.start();
      await rejectsWith(c.load({ model: truncated, context_length: 64 }), 'truncated_file', /model\.safetensors/);
      await rejectsWith(c.load({ model: gguf }), 'unknown_format', /no config\.json.*model\.gguf/);
      await rejectsWith(c.load({ model: path.join(tmp, 'missing') }), 'model_not_found');
      await rejectsWith(c.load({ model: small, quant: 'q5_k' as never }), 'unknown_quant', /q5_k/);
      await rejectsWith(c.load({ model: unknownQuant, context_length: 64 }), 'unknown_quant_type', /up_proj.*"q5_k"/);
      const mismatch = await rejectsWith(c.load({ model: small, adapter, context_length: 64 }), 'adapter_mismatch', /q_proj/);
      assert.match(mismatch.hint, /someone\/other-model/);
      await rejectsWith(c.generate(greedy(4)).done, 'no_model', /no model is loaded/);
      // Still the same worker, and it loads a good model after all that.
      const pid = c.pid;
      await c.load({ model: small, context_length: 64, threads: 2 });
      assert.equal(c.pid, pid);
      assert.equal(c.restarts, 0);
      const ok = await collect(c.generate(greedy(2)));
      assert.ok(ok.done.timings.generated_tokens > 0);
      await c.unload();
      await rejectsWith(c.generate(greedy(2)).done, 'no_model');
    } finally {
      await c.dispose();
    }
  });

  test('kill -9 of the worker is an error event; the next request starts a new worker', async () => {
    const c = client();
    const errors: InferEvent[] = [];
    c.onEvent((e) => e.type === 'error' && errors.push(e));
    try {
      await c.load({ model: slow, context_length: 1024, threads: 2 });
      const pid = c.pid as number;
      const g = c.generate(greedy(1000, { sampling: { temperature: 1, seed: 1 } }));
      const iter = g[Symbol.asyncIterator]();
      await iter.next(); // the first token: it is generating
      process.kill(pid, 'SIGKILL');
      await rejectsWith(g.done, 'worker_exited', /killed by SIGKILL/);
      await assert.rejects(async () => {
        for (let r = await iter.next(); !r.done; r = await iter.next());
      }, /SIGKILL/);
      assert.ok(errors.some((e) => e.type === 'error' && e.id === null && e.code === 'worker_exited'));
      const loaded = await c.load({ model: small, context_length: 64, threads: 2 });
      assert.equal(loaded.model.dir, small);
      assert.notEqual(c.pid, pid);
      assert.equal(c.restarts, 1);
    } finally {
      await c.dispose();
    }
  });

  test('the worker sees only the variables it needs, and is gone after dispose', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
    process.env.TUNER_TEST_SECRET_TOKEN = 'not-for-the-worker';
    const c = client();
    try {
      await c.start();
      const pid = c.pid as number;
      const names = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => kv.slice(0, kv.indexOf('=')));
      assert.ok(!names.includes('TUNER_TEST_SECRET_TOKEN'));
      // NODE_CHANNEL_*: the IPC channel fork() opens.
      for (const n of names) assert.ok(WORKER_ENV_PASS_THROUGH.includes(n) || n === 'ELECTRON_RUN_AS_NODE' || n.startsWith('NODE_CHANNEL_'), `unexpected variable ${n}`);
      await c.dispose();
      assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the worker is gone');
    } finally {
      delete process.env.TUNER_TEST_SECRET_TOKEN;
      await c.dispose();
    }
  });
});
