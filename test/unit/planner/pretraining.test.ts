// Continued pretraining is a recipe of its own, recognised from the goal or from plain-text
// data: packing, 2,048-token sequences (LLaMA-Factory's pretraining examples: stage pt,
// cutoff_len 2048, packing, lora_target all, learning rate 1e-4), full fine-tuning where it fits,
// else rank 64 adapters (Unsloth's continued-pretraining guide: a high rank), one pass over a
// large corpus, an eval set capped at 1,000 records instead of 5% of it.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describedHardware } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

/** About 2 GB of legal text: 400,000 records of ~1,200 tokens. */
const LEGAL: DatasetInfo = { ref: './legal.jsonl', file: '/w/legal.jsonl', format: 'text', records: 400000, errors: 0, warnings: 0, tokens: { mean: 1200, p95: 3000, max: 9000, sampled: 2000, counter: 'tokenizer' } };
const CHAT: DatasetInfo = { ...LEGAL, format: 'messages', records: 20000, tokens: { mean: 300, p95: 700, max: 1500, sampled: 2000, counter: 'tokenizer' } };
const GPU24 = describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 });
const H100 = describedHardware({ gpus: 1, gpuMemoryGiB: 80, gpuName: 'H100 80GB', ramGiB: 256 });

const plan = (goal: string, model: string, hw: typeof GPU24, dataset: DatasetInfo) =>
  planWithRules({ intent: parseGoal(goal), hardware: hw, model: localModel(model), models: [], dataset, estimator: defaultEstimator });

test('"continue pretraining on 2 GB of legal text": packed 2k sequences, rank 64 adapters where full does not fit, one pass, a capped eval set', () => {
  const r = plan('continue pretraining on 2 GB of legal text', 'llama-3.1-8b', GPU24, LEGAL);
  const a = r.args!;
  assert.equal(a.packing, true);
  assert.equal(a.max_length, 2048);
  assert.ok(a.method === 'lora' || a.method === 'qlora', a.method);
  assert.equal(a.lora_rank, 64);
  assert.equal(a.lora_target_modules?.length, 7);
  assert.equal(a.learning_rate, 1e-4);
  assert.equal(a.epochs, 1);
  assert.ok((a.eval_split ?? 0) * LEGAL.records <= 1000 && (a.eval_split ?? 0) > 0, `eval_split ${a.eval_split}`);
  assert.match(r.warnings.join('\n'), /Continued pretraining: every token of the text is trained on, packed into 2048-token sequences/);
});

test('plain-text data means continued pretraining even unsaid; a model that fits is tuned in full', () => {
  const r = plan('tune it on my corpus', 'qwen2.5-1.5b', H100, LEGAL);
  assert.equal(r.args?.method, 'full');
  assert.equal(r.args?.packing, true);
  assert.equal(r.args?.learning_rate, 2e-5);
  // Chat data with the same words stays an SFT plan.
  const sft = plan('tune it on my corpus', 'qwen2.5-1.5b', H100, CHAT);
  assert.equal(sft.args?.method, 'lora');
  assert.notEqual(sft.args?.packing, true);
  assert.doesNotMatch(sft.warnings.join('\n'), /Continued pretraining/);
});

test('the eval split of any large dataset holds at most 1,000 records', () => {
  const r = plan('tune it', 'qwen2.5-1.5b', H100, { ...CHAT, records: 400000 });
  assert.ok((r.args?.eval_split ?? 0) * 400000 <= 1000 * 1.01, `eval_split ${r.args?.eval_split}`);
});
