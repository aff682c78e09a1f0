// The addon's inference surface (native/addon/infer.cpp) as src/core/engine/infer-addon.ts
// declares it: a session's info, cache position, append / truncate, seeded sampling, logits,
// memory, free; engine errors as JS Errors with code and hint; greedy tokens equal to
// tuner-generate's (the same engine through its other front end).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { loadAddon } from '../../src/core/engine/addon';
import type { InferAddon, InferError, InferSession, SamplerSettings } from '../../src/core/engine/infer-addon';
import { writeTinyModel } from './tiny-model';
import { findTool } from './native-tools';

const GREEDY: SamplerSettings = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0, seed: 0 };

function engineError(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as InferError;
    assert.ok(err instanceof Error, 'a JS Error');
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    assert.ok(typeof err.hint === 'string' && err.hint.length > 0, 'with a hint');
    return true;
  });
}

/** Greedy continuation of `prompt` through the session, `n` tokens. */
function generate(s: InferSession, prompt: number[], n: number, settings = GREEDY): number[] {
  s.truncate(0);
  s.setSampler(settings);
  s.append(Uint32Array.from(prompt));
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = s.sample();
    out.push(t);
    s.append(Uint32Array.from([t]));
  }
  return out;
}

let tmp = '';
let model = '';
let addon: InferAddon;
const VOCAB = 64;
const PROMPT = [3, 17, 42, 8, 5];

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-infer-addon-'));
  model = writeTinyModel(path.join(tmp, 'model'), { vocab: VOCAB, hidden: 32, intermediate: 64, layers: 2, heads: 4, kvHeads: 2, maxPos: 64, seed: 3 });
  const a = loadAddon() as ReturnType<typeof loadAddon> & Partial<InferAddon>;
  assert.equal(typeof a.inferLoad, 'function', 'the addon in build/native has inferLoad (run npm run build:native)');
  addon = a as unknown as InferAddon;
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('inference session through the addon', () => {
  test('info, position, logits and memory', () => {
    const s = addon.inferLoad({ model, quant: 'f32', contextLength: 48, threads: 2 });
    const info = s.info();
    assert.equal(info.architecture, 'LlamaForCausalLM');
    assert.equal(info.vocabSize, VOCAB);
    assert.equal(info.contextLength, 48);
    assert.equal(info.quant, 'f32');
    assert.equal(info.lora, false);
    assert.equal(info.kvCacheBytes, 2 * 2 * 48 * 2 * 8 * 4);
    assert.ok(info.weightBytes > 0 && info.loadMs >= 0 && info.kernel.length > 0);
    assert.equal(s.position(), 0);
    s.append(Uint32Array.from(PROMPT));
    assert.equal(s.position(), PROMPT.length);
    const l = s.logits();
    assert.ok(l instanceof Float32Array && l.length === VOCAB);
    assert.ok(l.every((x) => Number.isFinite(x)));
    assert.ok(s.residentBytes() > 1 << 20);
    s.free();
    engineError(() => s.position(), 'session_freed', /freed/);
  });

  test('greedy tokens equal tuner-generate', () => {
    const s = addon.inferLoad({ model, quant: 'f32', contextLength: 48, threads: 2 });
    const ids = generate(s, PROMPT, 32);
    const r = spawnSync(findTool('tuner-generate'), [model, '--ids', PROMPT.join(','), '--max-new', '32', '--greedy', '--context', '48'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(ids, (JSON.parse(r.stdout) as { ids: number[] }).ids);
    // Chunked prompt, same tokens.
    s.truncate(0);
    s.setSampler(GREEDY);
    s.append(Uint32Array.from(PROMPT.slice(0, 2)));
    s.append(Uint32Array.from(PROMPT.slice(2)));
    assert.equal(s.sample(), ids[0]);
    // Banned ids are never drawn.
    assert.notEqual(s.sample(Uint32Array.from([ids[0]])), ids[0]);
    s.free();
  });

  // Closeness to f32's logits is test_infer_quant's (native/test): here the name reaches the engine.
  test('bf16 weights: half of f32\'s bytes, products in bf16 (prefill through gemm_bf16)', () => {
    const f32 = addon.inferLoad({ model, quant: 'f32', contextLength: 64, threads: 2 });
    const b16 = addon.inferLoad({ model, quant: 'bf16', contextLength: 64, threads: 2 });
    const info = b16.info();
    assert.equal(info.quant, 'bf16');
    assert.match(info.kernel, /bf16 .*activations rounded to bf16.*prefill: gemm_bf16/);
    assert.ok(info.weightBytes < 0.6 * f32.info().weightBytes, `${info.weightBytes} vs f32 ${f32.info().weightBytes}`);
    const tokens = generate(b16, PROMPT, 12);
    assert.equal(tokens.length, 12);
    assert.ok(tokens.every((t) => t >= 0 && t < info.vocabSize), tokens.join(','));
    f32.free();
    b16.free();
  });

  test('seeded sampling repeats; another seed differs', () => {
    const s = addon.inferLoad({ model, quant: 'q8_0', contextLength: 64, threads: 1 });
    const settings: SamplerSettings = { temperature: 1.2, topK: 40, topP: 0.95, minP: 0.01, repetitionPenalty: 1.1, noRepeatNgramSize: 3, seed: 7 };
    const a = generate(s, PROMPT, 40, settings);
    const b = generate(s, PROMPT, 40, settings);
    const c = generate(s, PROMPT, 40, { ...settings, seed: 8 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    // no_repeat_ngram_size 3: no trigram occurs twice in prompt + generation.
    const seq = [...PROMPT, ...a];
    const seen = new Set<string>();
    for (let i = 0; i + 3 <= seq.length; i++) {
      const key = seq.slice(i, i + 3).join(',');
      assert.ok(!seen.has(key), `trigram ${key} repeated`);
      seen.add(key);
    }
    s.free();
  });

  test('errors carry the engine code and a hint', () => {
    engineError(() => addon.inferLoad({ model: path.join(tmp, 'nope'), quant: 'f32', contextLength: 16, threads: 1 }), 'missing_model', /not found/);
    engineError(() => addon.inferLoad({ model, quant: 'q3' as never, contextLength: 16, threads: 1 }), 'unknown_quant', /q3/);
    engineError(() => addon.inferLoad({ model, quant: 'f32', contextLength: 100000, threads: 1 }), 'context_too_long', /longer than the model supports/);
    engineError(() => addon.inferLoad({ model, adapter: path.join(tmp, 'model'), quant: 'f32', contextLength: 16, threads: 1 }), 'bad_adapter', /adapter_config\.json/);
    const s = addon.inferLoad({ model, quant: 'f32', contextLength: 8, threads: 1 });
    engineError(() => s.sample(), 'no_logits', /nothing appended/);
    engineError(() => s.append(Uint32Array.from([VOCAB])), 'bad_token', /outside the vocabulary/);
    s.append(Uint32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    engineError(() => s.append(Uint32Array.from([1])), 'context_full', /context of 8 tokens/);
    engineError(() => s.truncate(9), 'bad_position', /holds 8 tokens/);
    engineError(() => s.setSampler({ ...GREEDY, topP: 0 }), 'bad_sampler', /top_p/);
    engineError(() => s.append([1, 2] as unknown as Uint32Array), 'bad_arguments', /Uint32Array/);
    s.free();
  });
});
