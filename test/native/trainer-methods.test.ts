// The trainer's other optimizers and methods against float64 PyTorch on the same files
// (reference/train_steps_reference.py), 10 full-batch steps each: per-step loss, lr and grad
// norm, and every trainable tensor after the last step.
//   Lion       the paper's update rule written out in the reference (full fine-tune)
//   SGD        torch.optim.SGD with Nesterov momentum and weight decay (LoRA)
//   LOMO       every weight updated during backward, LOMO's two-pass clipping (full)
//   QLoRA      LoRA on an nf4 base and on an int8 base, against PyTorch on the dequantized
//              weights of the folder tuner-export quantize writes (the same quantization)
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import type { RunPlan } from '../../src/core/engine/plan';
import { findTool, runTool } from './native-tools';
import { basePlan, makeShards, makeTinyModel, runTrainer, tempDir, writePlan } from './trainer-fixtures';
import { checkSteps, compareWeights, fullBatchDocs, readF32Tensors, referenceSteps, trainFromSavedStart } from './train-steps-reference';

const VOCAB = 96;
const STEPS = 10;
const ALL_LINEAR: NonNullable<RunPlan['lora']>['target_modules'] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

describe('optimizers and methods match PyTorch', () => {
  let root: string;
  before(() => {
    ensurePyTorch();
    root = tempDir('methods');
    // Widths that are multiples of 64, so every decoder linear quantizes to nf4 blocks.
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2 });
    makeShards(path.join(root, 'data'), fullBatchDocs(4, VOCAB), VOCAB);
  });

  async function fullRun(name: string, overrides: Partial<RunPlan>): Promise<number> {
    const plan = basePlan(root, { output_dir: path.join(root, `out-${name}`), method: 'full', max_steps: STEPS, ...overrides });
    const planPath = writePlan(root, plan, `${name}.json`);
    const exit = await runTrainer({ planPath });
    assert.equal(exit.code, 0, exit.stderrTail);
    const ref = referenceSteps(planPath, STEPS);
    checkSteps(exit.events, ref.log, STEPS);
    const initial = readF32Tensors(path.join(root, 'model', 'model.safetensors'));
    return compareWeights(path.join(plan.output_dir, 'model', 'model.safetensors'), initial, ref.weights);
  }

  async function adapterRun(name: string, overrides: Partial<RunPlan>, quantized?: string): Promise<number> {
    const plan = basePlan(root, { output_dir: path.join(root, `out-${name}`), max_steps: STEPS, ...overrides });
    const planPath = writePlan(root, plan, `${name}.json`);
    const { exit, initialDir } = await trainFromSavedStart(planPath, plan.output_dir);
    const ref = referenceSteps(planPath, STEPS, { adapter: initialDir, quantized });
    checkSteps(exit.events, ref.log, STEPS);
    const initial = readF32Tensors(path.join(initialDir, 'adapter_model.safetensors'));
    return compareWeights(path.join(plan.output_dir, 'adapter', 'adapter_model.safetensors'), initial, ref.weights);
  }

  it('Lion: the paper\'s rule with decoupled weight decay, clipping and warmup', async () => {
    const worst = await fullRun('lion', {
      optimizer: { name: 'lion', lr: 3e-4, betas: [0.9, 0.99], weight_decay: 0.1 },
      schedule: 'linear',
      warmup_steps: 3,
      max_grad_norm: 0.5,
    });
    console.log(`Lion: worst weight error / update = ${worst.toExponential(2)}`);
  });

  it('SGD: Nesterov momentum and weight decay on LoRA adapters', async () => {
    const worst = await adapterRun('sgd', {
      optimizer: { name: 'sgd', lr: 5e-2, momentum: 0.9, nesterov: true, weight_decay: 0.01 },
      schedule: 'cosine',
      warmup_steps: 2,
      max_grad_norm: 1.0,
    });
    console.log(`SGD Nesterov: worst weight error / update = ${worst.toExponential(2)}`);
  });

  it('SGD: plain momentum on a full fine-tune', async () => {
    const worst = await fullRun('sgd-momentum', { optimizer: { name: 'sgd', lr: 2e-2, momentum: 0.8 }, max_grad_norm: 0 });
    console.log(`SGD momentum: worst weight error / update = ${worst.toExponential(2)}`);
  });

  it('LOMO: updates during backward equal SGD on the whole gradient, with two-pass clipping', async () => {
    const worst = await fullRun('lomo', {
      method: 'lomo',
      optimizer: { name: 'sgd', lr: 5e-2, weight_decay: 0.05 },
      max_grad_norm: 0.5,
    });
    console.log(`LOMO: worst weight error / update = ${worst.toExponential(2)}`);
  });

  for (const quant of ['nf4', 'int8'] as const) {
    it(`QLoRA: adapters on an ${quant} base match PyTorch on the dequantized weights`, async () => {
      const qdir = path.join(root, `model-${quant}`);
      const r = runTool(findTool('tuner-export'), ['quantize', '--model', path.join(root, 'model'), '--quant', quant, '--out', qdir]);
      assert.equal(r.status, 0, r.stderr);
      const worst = await adapterRun(`qlora-${quant}`, {
        method: 'qlora',
        base_quant: quant,
        optimizer: { lr: 2e-2, betas: [0.9, 0.99], weight_decay: 0.01 },
        lora: { rank: 4, alpha: 16, dropout: 0, target_modules: ALL_LINEAR },
        max_grad_norm: 1.0,
      }, qdir);
      console.log(`QLoRA ${quant}: worst weight error / update = ${worst.toExponential(2)}`);
    });
  }
});
