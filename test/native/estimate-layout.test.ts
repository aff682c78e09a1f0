// The pre-flight estimator's activation terms (src/core/args/estimate.ts) against the engine's
// own layout: tuner-check reports LlamaModel::activation_bytes(), the bytes plan() lays out for
// a (B, T) micro-batch, and the estimate must name the same buffers to the byte, for full
// fine-tunes and LoRA, with GQA, at several batch shapes, with and without activation
// checkpointing (so the saving the estimate predicts is the engine's).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { engineActivationFloats } from '../../src/core/args/estimate';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { readModelSpec } from '../../src/core/model/spec';
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
