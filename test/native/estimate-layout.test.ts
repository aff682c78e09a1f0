// The pre-flight estimator's activation terms (src/core/args/estimate.ts) against the engine's
// own layout: tuner-check reports LlamaModel::activation_bytes(), the bytes plan() lays out for
// a (B, T) micro-batch, and the estimate must name the same buffers to the byte, for full
// fine-tunes and LoRA, with GQA, at several batch shapes, with and without activation
// checkpointing (so the saving the estimate predicts is the engine's). With precision bf16 the
// estimate's weights must be the bytes the engine holds (Model::f32_weight_bytes and
// bf16_weight_bytes): the fp32 masters and a plain bf16 copy for a full fine-tune; for LoRA where
// the CPU has the bf16 kernel, the frozen base packed twice and the masters but for the decoder
// linears'; elsewhere the masters and the plain copy, less than the estimate. An estimate that
// does not know the CPU is not below either.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { engineActivationFloats, estimateMemory } from '../../src/core/args/estimate';
import { resolveArgs } from '../../src/core/args/fields';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { layerLinears, parameterCount, readModelSpec } from '../../src/core/model/spec';
import { makeTinyModel, tempDir } from './trainer-fixtures';

const CASES: Array<{ name: string; B: number; T: number; lora?: { rank: number; targets: string[] }; checkpointing?: boolean }> = [
  { name: 'full B2 T16', B: 2, T: 16 },
  { name: 'full B1 T150', B: 1, T: 150 },
  { name: 'lora q,v B3 T33', B: 3, T: 33, lora: { rank: 4, targets: ['q_proj', 'v_proj'] } },
  { name: 'lora all B2 T64', B: 2, T: 64, lora: { rank: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } },
  { name: 'full checkpointing B2 T16', B: 2, T: 16, checkpointing: true },
  { name: 'lora all checkpointing B2 T64', B: 2, T: 64, lora: { rank: 8, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] }, checkpointing: true },
];

test('estimated activation bytes equal the engine layout', () => {
  const check = path.join(path.dirname(findTrainerBinary()), process.platform === 'win32' ? 'tuner-check.exe' : 'tuner-check');
  assert.ok(fs.existsSync(check), `${check} is missing; run npm run build:native`);
  const model = makeTinyModel(path.join(tempDir('estimate-layout'), 'model'), { vocab: 300, hidden: 48, layers: 3, heads: 4, kvHeads: 2, intermediate: 80 });
  const spec = readModelSpec(model);
  for (const c of CASES) {
    const args = ['--model', model, '--bench', '1', '--B', String(c.B), '--T', String(c.T)];
    if (c.lora) args.push('--lora', `${c.lora.rank},${2 * c.lora.rank},${c.lora.targets.join('+')}`);
    if (c.checkpointing) args.push('--checkpointing', '1');
    const r = spawnSync(check, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${c.name}: tuner-check failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { activation_bytes: number; hardware_threads: number };
    // activation_bytes() sizes the per-thread attention scratch for every hardware thread.
    const f = engineActivationFloats(spec, c.B, c.T, report.hardware_threads, c.lora?.rank ?? 0, c.lora?.targets ?? [], c.checkpointing);
    const estimated = (f.activations + f.logits + f.workspace) * 4 + c.B * c.T * 9;
    assert.equal(estimated, report.activation_bytes, `${c.name}: estimate ${estimated} B, engine ${report.activation_bytes} B`);
  }
});

test('estimated bf16 weights equal the engine\'s, with and without the bf16 kernel', () => {
  const check = path.join(path.dirname(findTrainerBinary()), process.platform === 'win32' ? 'tuner-check.exe' : 'tuner-check');
  // Odd widths (hidden 50, intermediate 81): slivers padded, and LoRA's room only where K is even.
  const model = makeTinyModel(path.join(tempDir('estimate-bf16'), 'model'), { vocab: 301, hidden: 50, layers: 2, heads: 5, kvHeads: 1, intermediate: 81 });
  const spec = readModelSpec(model);
  const targets = ['q_proj', 'v_proj', 'down_proj'] as const;
  const weights = (method: 'full' | 'lora', bf16Kernel: boolean | undefined) =>
    estimateMemory(spec, resolveArgs({ model: 'm', data: 'd', method, precision: 'bf16', lora_rank: 8, lora_target_modules: [...targets] }), { threads: 1, bf16Kernel })
      .parts.find((p) => p.name === 'weights')!.bytes;
  const masters = 4 * parameterCount(spec);
  const plain = 2 * (spec.numLayers * Object.values(layerLinears(spec)).reduce((n, [o, i]) => n + o * i, 0) + spec.vocabSize * spec.hiddenSize);
  // This CPU as it is, and limited to AVX2 (the engine's other layout, on any CPU).
  for (const limit of [undefined, 'avx2']) {
    for (const method of ['full', 'lora'] as const) {
      const args = ['--model', model, '--bench', '1', '--B', '1', '--T', '8', '--precision', 'bf16'];
      if (method === 'lora') args.push('--lora', `8,16,${targets.join('+')}`);
      const env = limit ? { ...process.env, TUNER_CPU_LIMIT: limit } : process.env;
      const r = spawnSync(check, args, { encoding: 'utf8', timeout: 60_000, env });
      assert.equal(r.status, 0, `${method}: tuner-check failed: ${r.stderr}`);
      const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { bf16_weight_bytes: number; f32_weight_bytes: number; bf16_kernel: string };
      const kernel = report.bf16_kernel === 'avx512bf16';
      const held = report.f32_weight_bytes + report.bf16_weight_bytes;
      const where = `${method} on ${report.bf16_kernel}`;
      if (method === 'full' || !kernel) {
        assert.equal(report.f32_weight_bytes, masters, `${where}: every fp32 master`);
        assert.equal(report.bf16_weight_bytes, plain, `${where}: the plain bf16 copy`);
      } else {
        assert.ok(report.f32_weight_bytes < masters, `${where}: the frozen linears' masters dropped`);
      }
      if (method === 'full' || kernel) assert.equal(weights(method, kernel), held, where);
      else assert.ok(weights(method, kernel) >= held, `${where}: estimate ${weights(method, kernel)} B below the engine's ${held} B`);
      assert.ok(weights(method, undefined) >= held, `${where}: the estimate for an unknown CPU ${weights(method, undefined)} B below the engine's ${held} B`);
    }
  }
});
