// The TypeScript tiny-model writer (tiny-model.ts, safetensors-f32.ts) that the trainer, run and
// estimator tests use instead of Python: the file follows the safetensors layout, the tensors are
// the ones the config implies (counted by the product's parameterCount), a seed gives the same
// bytes every time, the weights have the intended scales, and the native engine loads every
// variant through its strict loader (tuner-check).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { parameterCount, readModelSpec } from '../../src/core/model/spec';
import { readSafetensorsF32, writeSafetensorsF32 } from './safetensors-f32';
import { writeTinyModel, type TinyModelSpec } from './tiny-model';
import { tempDir } from './trainer-fixtures';

const VARIANTS: Array<[string, TinyModelSpec]> = [
  ['llama', {}],
  ['llama-tied-mha', { tied: true, kvHeads: 4 }],
  ['mistral', { arch: 'mistral', layers: 3 }],
  ['qwen2-tied', { arch: 'qwen2', tied: true, kvHeads: 1 }],
  ['llama-head-dim-16', { headDim: 16, hidden: 32, heads: 4 }],
];

function moments(xs: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const x of xs) s += x;
  const mean = s / xs.length;
  let v = 0;
  for (const x of xs) v += (x - mean) ** 2;
  return { mean, std: Math.sqrt(v / xs.length) };
}

describe('tiny model writer (no Python)', () => {
  it('writes the safetensors layout: 8-byte aligned header, contiguous offsets, exact values', () => {
    const file = path.join(tempDir('safetensors'), 'x.safetensors');
    const a = { shape: [2, 3], data: Float32Array.from([1, -2.5, 3e-8, Math.PI, -0, 65504]) };
    const b = { shape: [5], data: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5]) };
    writeSafetensorsF32(file, [['a', a], ['b.weight', b]]);
    const buf = fs.readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    assert.equal(n % 8, 0);
    const header = JSON.parse(buf.toString('utf8', 8, 8 + n));
    assert.deepEqual(header.a, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
    assert.deepEqual(header['b.weight'], { dtype: 'F32', shape: [5], data_offsets: [24, 44] });
    assert.deepEqual(header.__metadata__, { format: 'pt' });
    assert.equal(buf.length, 8 + n + 44);
    const back = readSafetensorsF32(file);
    assert.deepEqual([...back.keys()], ['a', 'b.weight']);
    assert.deepEqual(back.get('a'), a);
    assert.deepEqual(back.get('b.weight'), b);
    assert.throws(() => writeSafetensorsF32(file, [['bad', { shape: [4], data: new Float32Array(3) }]]), /bad: shape \[4\] holds 4 values, data has 3/);
  });

  for (const [name, spec] of VARIANTS) {
    it(`${name}: the tensors the config implies, Hugging Face names`, () => {
      const dir = writeTinyModel(path.join(tempDir('tiny'), name), { vocab: 50, ...spec });
      const tensors = readSafetensorsF32(path.join(dir, 'model.safetensors'));
      const total = [...tensors.values()].reduce((s, t) => s + t.data.length, 0);
      assert.equal(total, parameterCount(readModelSpec(dir)));
      assert.equal(tensors.has('lm_head.weight'), !spec.tied);
      assert.equal(tensors.has('model.layers.0.self_attn.k_proj.bias'), spec.arch === 'qwen2');
      assert.equal(tensors.has(`model.layers.${(spec.layers ?? 2) - 1}.mlp.down_proj.weight`), true);
    });
  }

  it('a seed gives the same bytes; another seed other weights', () => {
    const root = tempDir('tiny-seed');
    const bytes = (d: string, seed: number) => fs.readFileSync(path.join(writeTinyModel(path.join(root, d), { seed }), 'model.safetensors'));
    assert.ok(bytes('a', 5).equals(bytes('b', 5)));
    assert.ok(!bytes('c', 6).equals(bytes('a', 5)));
  });

  it('weights have the intended scales: linear N(0, 1/in), norms 1 + N(0, 0.01), embeddings N(0, 0.25)', () => {
    const dir = writeTinyModel(path.join(tempDir('tiny-scale'), 'm'), { vocab: 500, hidden: 64, intermediate: 256 });
    const t = readSafetensorsF32(path.join(dir, 'model.safetensors'));
    const near = (got: number, want: number, tol: number, what: string) => assert.ok(Math.abs(got - want) <= tol, `${what}: ${got}, expected ${want} ± ${tol}`);
    const down = moments(t.get('model.layers.0.mlp.down_proj.weight')!.data);
    near(down.std, 1 / 16, 0.005, 'down_proj std');
    near(down.mean, 0, 0.005, 'down_proj mean');
    const emb = moments(t.get('model.embed_tokens.weight')!.data);
    near(emb.std, 0.5, 0.02, 'embedding std');
    const norm = moments(t.get('model.layers.1.input_layernorm.weight')!.data);
    near(norm.mean, 1, 0.05, 'norm mean');
    near(norm.std, 0.1, 0.03, 'norm std');
  });

  it('the native engine loads every variant', () => {
    const check = path.join(path.dirname(findTrainerBinary()), 'tuner-check');
    assert.ok(fs.existsSync(check), `${check} is missing; run npm run build:native`);
    for (const [name, spec] of VARIANTS) {
      const dir = writeTinyModel(path.join(tempDir('tiny-load'), name), { vocab: 50, ...spec });
      const r = spawnSync(check, ['--model', dir, '--bench', '1', '--B', '1', '--T', '8'], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `${name}: tuner-check failed: ${r.stderr}`);
    }
  });
});
