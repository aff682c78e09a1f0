// Current LoRA practice in fresh plans: rank 16 on every linear layer with alpha 32 (Unsloth's
// r=16 / lora_alpha=16-32, LLaMA-Factory's lora_target: all, the QLoRA paper's every linear
// layer); a learning rate that follows model size (the QLoRA paper: 2e-4 for 7B/13B, 1e-4 for
// 33B/65B); small data gets an effective batch of 4-8, more epochs and no token eval split, each
// said in the reasons.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describedHardware } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

const data = (records: number): DatasetInfo => ({ ref: './train.jsonl', file: '/w/train.jsonl', format: 'messages', records, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: Math.min(records, 2000), counter: 'tokenizer' } });
const GPU24 = describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 });
const GPU2x48 = describedHardware({ gpus: 2, gpuMemoryGiB: 48, gpuName: 'RTX 6000 Ada', ramGiB: 256 });
const ALL_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

const plan = (model: string, hw = GPU24, records = 2000, goal = 'teach it our support answers') =>
  planWithRules({ intent: parseGoal(goal), hardware: hw, model: localModel(model), models: [], dataset: data(records), estimator: defaultEstimator });

test('LoRA: rank 16, alpha 32, every linear layer, and the reason says why those modules', () => {
  for (const model of ['llama-3.1-8b', 'qwen2.5-7b', 'mistral-7b', 'qwen2.5-1.5b']) {
    const r = plan(model);
    assert.equal(r.args?.method, 'lora', model);
    assert.equal(r.args?.lora_rank, 16, model);
    assert.equal(r.args?.lora_alpha, 32, model);
    assert.deepEqual(r.args?.lora_target_modules, ALL_LINEAR, model);
    assert.match(r.reasons.lora_target_modules ?? '', /every linear layer \(attention and MLP\).*LLaMA-Factory \(lora_target all\) and Unsloth/);
    assert.equal(r.args?.learning_rate, 2e-4, model);
  }
});

test('the learning rate follows model size: 1e-4 from 30B parameters (QLoRA paper, 33B/65B)', () => {
  const big = plan('llama-70b', GPU2x48);
  assert.equal(big.args?.method, 'qlora');
  assert.equal(big.args?.learning_rate, 1e-4);
  assert.match(big.reasons.learning_rate ?? '', /the QLoRA paper used 1e-4 from 33B/);
  assert.equal(plan('llama-13b', GPU2x48).args?.learning_rate, 2e-4);
});

test('200 examples: an effective batch of 4, five epochs, every record trained on, said so', () => {
  const r = plan('qwen2.5-1.5b', GPU24, 200);
  const a = r.args!;
  assert.equal((a.batch_size ?? 0) * (a.gradient_accumulation ?? 1), 4);
  assert.equal(a.epochs, 5);
  assert.ok((r.estimate?.optimizerSteps ?? 0) >= 200, `${r.estimate?.optimizerSteps} steps`);
  assert.equal(a.eval_split, 0);
  assert.match(r.reasons.eval_split ?? '', /200 records are too few to spare a useful eval set/);
  assert.match(r.reasons.gradient_accumulation ?? '', /small data wants 4-8/);
  // Medium data keeps the split and a batch of 16 on a GPU.
  const medium = plan('qwen2.5-1.5b', GPU24, 5000).args!;
  assert.equal(medium.eval_split, 0.05);
  assert.equal((medium.batch_size ?? 0) * (medium.gradient_accumulation ?? 1), 16);
});
