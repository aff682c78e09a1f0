// RoPE parameters against formulas written independently in reference/rope_ref.py (transformers'
// modeling_rope_utils for linear, dynamic NTK, YaRN and llama3; NTK-by-parts as the YaRN authors
// implement it; torchscale's xPos): tuner-check --rope reports the engine's inverse frequencies,
// attention factor and xPos query factors for real models' shapes, from config.json and from
// ARGS.json's rope_scaling (ropeScalingPlan, the object the trainer reads in the run plan).
// The forward passes, gradients and cached generation of every variant are checked against
// PyTorch in reference.test.ts and generate-reference.test.ts.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import { ropeScalingPlan } from '../../src/core/args/run-plan';
import { findTool, PYTHON, REFERENCE_DIR, runTool } from './native-tools';

interface Case {
  config: Record<string, unknown>;
  T: number;
  /** ARGS.json's override (the plan's rope_scaling), passed to tuner-check as the trainer applies it. */
  override?: Record<string, unknown>;
  ntk_by_parts?: boolean;
}

const llama = (extra: Record<string, unknown>) => ({
  architectures: ['LlamaForCausalLM'], vocab_size: 32, hidden_size: 4096, intermediate_size: 64, num_hidden_layers: 1,
  num_attention_heads: 32, num_key_value_heads: 8, rope_theta: 10000, max_position_embeddings: 4096, ...extra,
});

const CASES: Record<string, Case> = {
  default: { config: llama({}), T: 4096 },
  linear: { config: llama({ rope_scaling: { type: 'linear', factor: 4 } }), T: 4096 },
  'dynamic within max_position_embeddings': { config: llama({ rope_scaling: { type: 'dynamic', factor: 2 } }), T: 2048 },
  'dynamic at 4x max_position_embeddings': { config: llama({ rope_scaling: { type: 'dynamic', factor: 2 } }), T: 16384 },
  // Llama 3.1 8B's config.
  llama3: {
    config: llama({ rope_theta: 500000, max_position_embeddings: 131072,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }),
    T: 131072,
  },
  // Qwen2.5's long-context recipe: factor 4 over 32768 positions.
  'yarn (Qwen2.5)': {
    config: llama({ architectures: ['Qwen2ForCausalLM'], hidden_size: 3584, num_attention_heads: 28, num_key_value_heads: 4, rope_theta: 1000000,
      max_position_embeddings: 131072, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32768 } }),
    T: 131072,
  },
  // DeepSeek's mscale / mscale_all_dim attention factor, no truncation of the ramp.
  'yarn mscale, untruncated': {
    config: llama({ rope_scaling: { rope_type: 'yarn', factor: 40, mscale: 0.707, mscale_all_dim: 1, beta_fast: 32, beta_slow: 1, truncate: false } }),
    T: 4096,
  },
  'ARGS linear x2': { config: llama({}), T: 8192, override: ropeScalingPlan({ rope_scaling: 'linear', rope_scaling_factor: 2 }) },
  'ARGS dynamic x4': { config: llama({}), T: 16384, override: ropeScalingPlan({ rope_scaling: 'dynamic', rope_scaling_factor: 4 }) },
  'ARGS yarn x4': { config: llama({}), T: 16384, override: ropeScalingPlan({ rope_scaling: 'yarn', rope_scaling_factor: 4 }) },
  'ARGS ntk_by_parts x4': { config: llama({}), T: 16384, override: ropeScalingPlan({ rope_scaling: 'ntk_by_parts', rope_scaling_factor: 4 }), ntk_by_parts: true },
  'ARGS llama3 x8 (original context from config.json)': { config: llama({ rope_theta: 500000 }), T: 32768, override: ropeScalingPlan({ rope_scaling: 'llama3', rope_scaling_factor: 8 }) },
  'ARGS xpos': { config: llama({ hidden_size: 2048, num_attention_heads: 16 }), T: 2048, override: ropeScalingPlan({ rope_scaling: 'xpos', rope_scaling_factor: 1 }) },
};

let report: Record<string, { inv_freq_rel: number; attention_factor: [number, number]; xpos_rel: number | null }> = {};
let tmp = '';

before(() => {
  ensurePyTorch();
  const check = findTool('tuner-check');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-rope-'));
  const jobs: Record<string, unknown> = {};
  for (const [name, c] of Object.entries(CASES)) {
    const dir = path.join(tmp, name.replace(/\W+/g, '-'));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c.config));
    const args = ['--model', dir, '--rope', String(c.T)];
    if (c.override) args.push('--rope-scaling', JSON.stringify(c.override));
    const r = runTool(check, args);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    // The reference reads the override the way the trainer applies it: config.json's rope_scaling
    // replaced, llama3's original context being the model's max_position_embeddings.
    const config = { ...c.config };
    if (c.override) {
      config.rope_scaling = c.override.rope_type === 'llama3'
        ? { original_max_position_embeddings: c.config.max_position_embeddings, ...c.override }
        : c.override;
    }
    jobs[name] = { config, T: c.T, native: JSON.parse(r.stdout), ntk_by_parts: c.ntk_by_parts ?? false };
  }
  const file = path.join(tmp, 'cases.json');
  fs.writeFileSync(file, JSON.stringify(jobs));
  const out = runTool(PYTHON, [path.join(REFERENCE_DIR, 'rope_ref.py'), '--cases', file]);
  assert.equal(out.status, 0, out.stderr);
  report = JSON.parse(out.stdout);
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('RoPE inverse frequencies and attention factor match the reference formulas', () => {
  for (const name of Object.keys(CASES)) {
    test(name, (t) => {
      const r = report[name];
      assert.ok(r, 'compared');
      t.diagnostic(`inv_freq max rel ${r.inv_freq_rel.toExponential(2)}, attention factor ${r.attention_factor[0]} vs ${r.attention_factor[1]}` +
        (r.xpos_rel === null ? '' : `, xPos factors max rel ${r.xpos_rel.toExponential(2)}`));
      assert.ok(r.inv_freq_rel < 1e-12, `inv_freq max rel ${r.inv_freq_rel}`);
      assert.ok(Math.abs(r.attention_factor[0] - r.attention_factor[1]) < 1e-6, `attention factor ${r.attention_factor}`);
      if (r.xpos_rel !== null) assert.ok(r.xpos_rel < 1e-6, `xPos max rel ${r.xpos_rel}`);
    });
  }
  test('the variants differ from plain RoPE and from each other', () => {
    // A scaling that was silently ignored would report the default frequencies.
    assert.notEqual(report['ARGS ntk_by_parts x4'].attention_factor[0], report['ARGS yarn x4'].attention_factor[0]);
    assert.ok(report['ARGS xpos'].xpos_rel !== null);
  });
});
