// The inference worker's failures, with the real native engine: a prompt longer than the
// context, bad model folders (truncated weights, no config.json, an unknown quantization, an
// adapter for another model), each an error event with a hint while the worker keeps serving;
// a worker killed with SIGKILL surfaces as an error event and the next request starts a new
// one; the worker's environment holds only what it needs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';

import { WORKER_ENV_PASS_THROUGH } from '../../src/core/engine/infer-client';
import type { InferEvent } from '../../src/core/engine/infer-protocol';
import { client, collect, greedy, modelWithTokenizer, rejectsWith, skip, SLOW, SMALL, tempRoot, variant } from './infer-fixtures';
import { readSafetensorsF32, writeSafetensorsF32 } from './safetensors-f32';

let tmp = '';
let small = '';
let slow = '';

describe('inference worker errors', { skip }, () => {
  before(() => {
    tmp = tempRoot();
    small = modelWithTokenizer(path.join(tmp, 'small'), SMALL);
    slow = modelWithTokenizer(path.join(tmp, 'slow'), SLOW);
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
    const truncated = variant(tmp, small, 'truncated');
    fs.unlinkSync(path.join(truncated, 'model.safetensors'));
    const whole = fs.readFileSync(path.join(small, 'model.safetensors'));
    fs.writeFileSync(path.join(truncated, 'model.safetensors'), whole.subarray(0, whole.length >> 1));

    // A quantized folder (docs/quantization.md) naming a type this build does not know.
    const unknownQuant = variant(tmp, small, 'unknown-quant-type');
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
