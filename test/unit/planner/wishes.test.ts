// Wishes about the run that are not settings. Speed words choose faster settings and say the
// trade-off, never a silent step cap; "quick test" is a stated trial run; "best quality, I have
// time" and the follow-up "use less memory" change what they mean and only that; a wish the
// planner cannot act on is named under the plan. (Unsloth's and LLaMA-Factory's speed advice:
// packing short records and one epoch on large data; their quality presets: rank 16-32 on every
// linear layer.)
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describedHardware } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

const DATA: DatasetInfo = { ref: './train.jsonl', file: '/w/train.jsonl', format: 'messages', records: 20000, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: 2000, counter: 'tokenizer' } };
const LAPTOP = describedHardware({ ramGiB: 16, cores: 4 });
const GPU = describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 });

const plan = (goal: string, o: { hw?: typeof LAPTOP; data?: DatasetInfo; model?: string; current?: ReturnType<typeof planWithRules>['args'] } = {}) =>
  planWithRules({ intent: parseGoal(goal), hardware: o.hw ?? LAPTOP, model: localModel(o.model ?? 'qwen-0.5b'), models: [], dataset: o.data ?? DATA, estimator: defaultEstimator, current: o.current });

test('speed words are wishes, not a time budget; a stated wait still is one', () => {
  for (const g of ['as fast as possible', 'make it quick', 'I need it fast']) {
    const i = parseGoal(g);
    assert.equal(i.speed, 'fast', g);
    assert.equal(i.timeBudgetHours, undefined, g);
  }
  assert.equal(parseGoal('just a quick test').speed, 'test');
  assert.equal(parseGoal('best quality, I have time').speed, 'quality');
  assert.equal(parseGoal('use less memory').lessMemory, true);
  assert.equal(parseGoal('I can wait 2 hours').timeBudgetHours, 2);
});

test('"as fast as possible": packing, one epoch on large data, every record kept, the trade-off said', () => {
  const base = plan('tune it on my data');
  const fast = plan('tune it on my data as fast as possible');
  assert.equal(fast.args?.max_steps, undefined, 'no step cap');
  assert.equal(fast.args?.epochs, 1);
  assert.equal(fast.args?.packing, true, 'records of 180 tokens in sequences of 512 are packed');
  assert.ok((fast.estimate?.seconds ?? Infinity) < (base.estimate?.seconds ?? 0), 'faster than the default plan');
  assert.match(fast.warnings.join('\n'), /For speed: packing on: records average 180 tokens of 512.*Nothing is cut from the data: every record is trained on\./);
});

test('"quick test" is a short trial run, said to be one', () => {
  const r = plan('a quick test of my data');
  assert.equal(r.args?.max_steps, 20);
  assert.match(r.warnings.join('\n'), /A test run: 20 steps to check data, memory and speed end to end\. Remove "max_steps"/);
  assert.match(r.reasons.max_steps ?? '', /A test run/);
});

test('"best quality, I have time": more capacity on every linear layer, more passes on small data, an eval split', () => {
  const small: DatasetInfo = { ...DATA, records: 800 };
  const base = plan('tune it', { data: small, hw: GPU });
  const best = plan('best quality, I have time', { data: small, hw: GPU });
  assert.equal(best.args?.lora_rank, 32);
  assert.deepEqual(best.args?.lora_target_modules, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  assert.equal(best.args?.epochs, 3);
  assert.equal(best.args?.eval_split, 0.05);
  assert.notDeepEqual(best.args, base.args);
  assert.match(best.warnings.join('\n'), /For quality: rank 32 instead of \d+.*It takes longer\./);
});

test('follow-up "use less memory" lowers the peak and changes only batch, accumulation and recomputation', () => {
  const first = plan('tune it', { hw: GPU, model: 'llama-7b' });
  assert.ok(first.args && first.estimate);
  const less = plan('use less memory', { hw: GPU, model: 'llama-7b', current: first.args });
  assert.ok(less.args && less.estimate);
  assert.ok(less.estimate.memoryBytes < first.estimate.memoryBytes, `${less.estimate.memoryBytes} < ${first.estimate.memoryBytes}`);
  const changed = Object.keys({ ...first.args, ...less.args }).filter((k) => JSON.stringify((first.args as Record<string, unknown>)[k]) !== JSON.stringify((less.args as Record<string, unknown>)[k]));
  assert.deepEqual(changed.filter((k) => !['batch_size', 'gradient_accumulation', 'gradient_checkpointing'].includes(k)), [], `changed: ${changed.join(', ')}`);
  assert.equal((less.args.batch_size ?? 1) * (less.args.gradient_accumulation ?? 1), (first.args.batch_size ?? 1) * (first.args.gradient_accumulation ?? 1), 'same sequences per step');
  assert.match(less.warnings.join('\n'), /Less memory: batch 1 with gradient accumulation \d+ .*peak .* instead of /);
});

test('a wish the planner cannot act on is named under the plan', () => {
  const r = plan('tune it on my data, make it sound friendlier');
  assert.match(r.warnings.join('\n'), /Not acted on: "make it sound friendlier"\. What the model says comes from the data/);
  assert.doesNotMatch(plan('tune it on my data as fast as possible').warnings.join('\n'), /Not acted on/);
});
