// 10 AdamW steps of tuner-train against torch.optim.AdamW (reference/train_steps_reference.py, float64
// PyTorch on the same files): per-step loss, lr and grad norm, and every trainable tensor after
// the last step, for a full fine-tune (weight decay, clipping, linear warmup) and for LoRA
// (cosine schedule, starting from the adapter tuner-train saved at step 0).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import type { RunPlan } from '../../src/core/engine/plan';
import { basePlan, makeShards, makeTinyModel, runTrainer, tempDir, writePlan } from './trainer-fixtures';
import { checkSteps, compareWeights, fullBatchDocs, readF32Tensors, referenceSteps, trainFromSavedStart } from './train-steps-reference';

const VOCAB = 96;
const STEPS = 10;

describe('AdamW steps match PyTorch', () => {
  let root: string;
  before(() => {
    ensurePyTorch();
    root = tempDir('adamw');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), fullBatchDocs(4, VOCAB), VOCAB);
  });

  it('full fine-tune: weight decay, clipping, linear warmup', async () => {
    const plan: RunPlan = basePlan(root, {
      output_dir: path.join(root, 'out-full'),
      method: 'full',
      optimizer: { lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 },
      schedule: 'linear',
      warmup_steps: 3,
      max_steps: STEPS,
      max_grad_norm: 0.5,
    });
    const planPath = writePlan(root, plan, 'full.json');
    const exit = await runTrainer({ planPath });
    assert.equal(exit.code, 0, exit.stderrTail);
    const ref = referenceSteps(planPath, STEPS);
    checkSteps(exit.events, ref.log, STEPS);
    assert.ok(ref.log.some((s) => s.grad_norm > 0.5), 'clipping should be exercised');
    const initial = readF32Tensors(path.join(root, 'model', 'model.safetensors'));
    const worst = compareWeights(path.join(plan.output_dir, 'model', 'model.safetensors'), initial, ref.weights);
    console.log(`full fine-tune: worst weight error / update = ${worst.toExponential(2)}`);
  });

  it('LoRA: cosine schedule from the step-0 adapter', async () => {
    const plan: RunPlan = basePlan(root, {
      output_dir: path.join(root, 'out-lora'),
      optimizer: { lr: 2e-2, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.01 },
      lora: { rank: 4, alpha: 16, dropout: 0, target_modules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] },
      schedule: 'cosine',
      warmup_steps: 2,
      max_steps: STEPS,
      max_grad_norm: 0,
    });
    const planPath = writePlan(root, plan, 'lora.json');
    // Save the freshly initialised adapter before the first step, so the reference starts there.
    const { exit, initialDir } = await trainFromSavedStart(planPath, plan.output_dir);
    const ref = referenceSteps(planPath, STEPS, { adapter: initialDir });
    checkSteps(exit.events, ref.log, STEPS);
    const initial = readF32Tensors(path.join(initialDir, 'adapter_model.safetensors'));
    const worst = compareWeights(path.join(plan.output_dir, 'adapter', 'adapter_model.safetensors'), initial, ref.weights);
    console.log(`LoRA: worst weight error / update = ${worst.toExponential(2)}`);
  });
});
