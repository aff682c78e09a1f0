// tuner-train on GPT-2, Bloom, Qwen3 and Gemma 3 against float64 PyTorch on the same files
// (reference/train_steps_reference.py over arch_ref.py): full-batch AdamW steps, per-step loss,
// lr and grad norm, and every trainable tensor after the last step. The Bloom case is the classic
// LoRA tutorial's setting (query_key_value, r = 8, alpha = 32, warmup 2, lr 2e-4 scaled up for
// a tiny model), without dropout so both sides see the same numbers.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import type { RunPlan } from '../../src/core/engine/plan';
import { referencePython } from './native-tools';
import { basePlan, makeShards, runTrainer, tempDir, writePlan } from './trainer-fixtures';
import { checkSteps, compareWeights, fullBatchDocs, readF32Tensors, referenceSteps, trainFromSavedStart } from './train-steps-reference';

const VOCAB = 96;
const STEPS = 6;

describe('GPT-2, Bloom, Qwen3 and Gemma 3 train as PyTorch does, step by step', () => {
  let root: string;
  before(() => {
    ensurePyTorch();
    root = tempDir('arch-train');
    makeShards(path.join(root, 'data'), fullBatchDocs(3, VOCAB), VOCAB);
    const models: Array<[string, string[]]> = [
      ['gpt2', ['--arch', 'gpt2']],
      ['bloom', ['--arch', 'bloom', '--heads', '6', '--hidden', '48']],
      ['qwen3', ['--arch', 'qwen3', '--head-dim', '16']],
      ['gemma3', ['--arch', 'gemma3', '--layers', '3', '--pattern', '2', '--sliding-window', '9', '--head-dim', '16', '--tied']],
    ];
    for (const [name, opts] of models) referencePython('make_tiny_arch.py', ['--out', path.join(root, name), '--vocab', String(VOCAB), ...opts]);
  });

  async function fullRun(model: string, overrides: Partial<RunPlan>): Promise<number> {
    const plan = basePlan(root, { model_dir: path.join(root, model), output_dir: path.join(root, `out-${model}-full`), method: 'full',
      max_steps: STEPS, batch_size: 3, ...overrides });
    delete plan.lora;
    const planPath = writePlan(root, plan, `${model}-full.json`);
    const exit = await runTrainer({ planPath });
    assert.equal(exit.code, 0, exit.stderrTail);
    const ref = referenceSteps(planPath, STEPS);
    checkSteps(exit.events, ref.log, STEPS);
    const initial = readF32Tensors(path.join(root, model, 'model.safetensors'));
    return compareWeights(path.join(plan.output_dir, 'model', 'model.safetensors'), initial, ref.weights);
  }

  async function loraRun(model: string, lora: NonNullable<RunPlan['lora']>, overrides: Partial<RunPlan> = {}): Promise<number> {
    const plan = basePlan(root, { model_dir: path.join(root, model), output_dir: path.join(root, `out-${model}-lora`), lora,
      max_steps: STEPS, batch_size: 3, ...overrides });
    const planPath = writePlan(root, plan, `${model}-lora.json`);
    const { exit, initialDir } = await trainFromSavedStart(planPath, plan.output_dir);
    const ref = referenceSteps(planPath, STEPS, { adapter: initialDir });
    checkSteps(exit.events, ref.log, STEPS);
    const initial = readF32Tensors(path.join(initialDir, 'adapter_model.safetensors'));
    return compareWeights(path.join(plan.output_dir, 'adapter', 'adapter_model.safetensors'), initial, ref.weights);
  }

  it('GPT-2 full fine-tune (Conv1D weights, learned positions, tied head)', async () => {
    // SGD: the key bias's gradient is zero in exact arithmetic (softmax ignores a shift shared by a
    // row's scores), so AdamW would turn float rounding noise into full-size steps on both sides.
    console.log(`GPT-2 full: worst weight error / update = ${(await fullRun('gpt2', { optimizer: { name: 'sgd', lr: 5e-2, momentum: 0.9 } })).toExponential(2)}`);
  });
  it('GPT-2 LoRA on c_attn, c_proj, c_fc', async () => {
    console.log(`GPT-2 LoRA: ${(await loraRun('gpt2', { rank: 4, alpha: 8, dropout: 0, target_modules: ['c_attn', 'c_proj', 'c_fc'] })).toExponential(2)}`);
  });
  it('Bloom LoRA on query_key_value, r = 8, alpha = 32, warmup 2', async () => {
    const worst = await loraRun('bloom', { rank: 8, alpha: 32, dropout: 0, target_modules: ['query_key_value'] },
      { warmup_steps: 2, schedule: 'linear', optimizer: { lr: 5e-3, betas: [0.9, 0.999], weight_decay: 0 } });
    console.log(`Bloom LoRA: worst weight error / update = ${worst.toExponential(2)}`);
  });
  it('Bloom full fine-tune (ALiBi, embedding LayerNorm)', async () => {
    console.log(`Bloom full: ${(await fullRun('bloom', { optimizer: { name: 'sgd', lr: 5e-2, momentum: 0.9 } })).toExponential(2)}`);
  });
  it('Qwen3 full fine-tune (per-head q/k norms)', async () => {
    console.log(`Qwen3 full: ${(await fullRun('qwen3', { optimizer: { name: 'sgd', lr: 5e-2, momentum: 0.9, nesterov: true } })).toExponential(2)}`);
  });
  it('Gemma 3 LoRA on every projection (local and global layers)', async () => {
    const worst = await loraRun('gemma3', { rank: 4, alpha: 8, dropout: 0, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    console.log(`Gemma 3 LoRA: worst weight error / update = ${worst.toExponential(2)}`);
  });
  it('Gemma 3 full fine-tune', async () => {
    console.log(`Gemma 3 full: ${(await fullRun('gemma3', { optimizer: { lr: 3e-3, betas: [0.9, 0.999], weight_decay: 0 } })).toExponential(2)}`);
  });
});
