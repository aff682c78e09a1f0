// The pre-flight estimator's activation terms (src/core/args/estimate.ts) against the engine's
// own layout: tuner-check reports LlamaModel::activation_bytes(), the bytes plan() lays out for
// a (B, T) micro-batch, and the estimate must name the same buffers to the byte, for full
// fine-tunes and LoRA, with GQA, at several batch shapes, with and without activation
// checkpointing (so the saving the estimate predicts is the engine's). With precision bf16 the
// estimate's bf16 weights must be the bytes the engine holds beside its fp32 masters
// (Model::bf16_weight_bytes): a plain copy for a full fine-tune, the frozen base packed twice for
// LoRA where the CPU has the bf16 kernel (and the plain copy, less than the estimate, elsewhere).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { engineActivationFloats, estimateMemory } from '../../src/core/args/estimate';
import { resolveArgs } from '../../src/core/args/fields';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { layerLinears, readModelSpec, type ModelSpec } from '../../src/core/model/spec';
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

test('estimated bf16 weight bytes equal the engine\'s', () => {
  const check = path.join(path.dirname(findTrainerBinary()), process.platform === 'win32' ? 'tuner-check.exe' : 'tuner-check');
  // Odd widths (hidden 50, intermediate 81): slivers padded, and LoRA's room only where K is even.
  const model = makeTinyModel(path.join(tempDir('estimate-bf16'), 'model'), { vocab: 301, hidden: 50, layers: 2, heads: 5, kvHeads: 1, intermediate: 81 });
  const spec = readModelSpec(model);
  const targets = ['q_proj', 'v_proj', 'down_proj'] as const;
  const bf16Bytes = (s: ModelSpec, method: 'full' | 'lora') => {
    const weights = (precision: 'fp32' | 'bf16') => estimateMemory(s, resolveArgs({ model: 'm', data: 'd', method, precision, lora_rank: 8, lora_target_modules: [...targets] }), { threads: 1 }).parts.find((p) => p.name === 'weights')!.bytes;
    return weights('bf16') - weights('fp32');
  };
  const plain = 2 * (spec.numLayers * Object.values(layerLinears(spec)).reduce((n, [o, i]) => n + o * i, 0) + spec.vocabSize * spec.hiddenSize);
  for (const method of ['full', 'lora'] as const) {
    const args = ['--model', model, '--bench', '1', '--B', '1', '--T', '8', '--precision', 'bf16'];
    if (method === 'lora') args.push('--lora', `8,16,${targets.join('+')}`);
    const r = spawnSync(check, args, { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `${method}: tuner-check failed: ${r.stderr}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { bf16_weight_bytes: number; bf16_kernel: string };
    const estimated = bf16Bytes(spec, method);
    if (method === 'full' || report.bf16_kernel !== 'avx512bf16') {
      assert.equal(report.bf16_weight_bytes, plain, `${method} on ${report.bf16_kernel}: the plain bf16 copy`);
      assert.ok(estimated >= plain, `${method}: estimate ${estimated} B below the engine's ${plain} B`);
    }
    if (method === 'full' || report.bf16_kernel === 'avx512bf16') assert.equal(estimated, report.bf16_weight_bytes, `${method} on ${report.bf16_kernel}`);
  }
});
