// The rule-based planner on a table of goals x machines: the method and quantization it picks
// are the ones a practitioner would (LoRA when the base fits, QLoRA when only 4 bits fit, LOMO
// for a full tune without room for optimizer state), and every plan it writes validates against
// the ARGS.json schema and fits by the estimator (the pre-flight estimator of src/core/args for CPU runs).
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveArgs } from '../../../src/core/args/fields';
import { validateArgsText } from '../../../src/core/args/validate';
import { describedHardware, type HardwareProfile } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

const MACHINES: Record<string, HardwareProfile> = {
  'cpu-8gb': describedHardware({ ramGiB: 8, cores: 8 }),
  'gpu-24gb': describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 }),
  'gpu-2x48gb': describedHardware({ gpus: 2, gpuMemoryGiB: 48, gpuName: 'RTX 6000 Ada', ramGiB: 256 }),
  'gpu-80gb': describedHardware({ gpus: 1, gpuMemoryGiB: 80, gpuName: 'A100 80GB', ramGiB: 512 }),
};

const DATA: DatasetInfo = { ref: './train.jsonl', file: '/w/train.jsonl', format: 'messages', records: 2000, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: 2000, counter: 'tokenizer' } };

// [goal, model, machine, expected method, expected quantization] ("none fits": no plan fits).
const TABLE: [string, string, string, string, string][] = [
  ['Teach it to answer support tickets', 'qwen-0.5b', 'cpu-8gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'qwen-0.5b', 'gpu-24gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'llama-7b', 'cpu-8gb', 'qlora', 'nf4'],
  ['Teach it to answer support tickets', 'llama-7b', 'gpu-24gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'llama-7b', 'gpu-2x48gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'llama-7b', 'gpu-80gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'llama-13b', 'cpu-8gb', 'none fits', ''],
  ['Teach it to answer support tickets', 'llama-13b', 'gpu-24gb', 'qlora', 'nf4'],
  ['Teach it to answer support tickets', 'llama-13b', 'gpu-2x48gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'llama-33b', 'gpu-24gb', 'qlora', 'nf4'],
  ['Teach it to answer support tickets', 'llama-33b', 'gpu-2x48gb', 'qlora', 'nf4'],
  ['Teach it to answer support tickets', 'llama-33b', 'gpu-80gb', 'lora', 'none'],
  ['Teach it to answer support tickets', 'llama-70b', 'gpu-24gb', 'none fits', ''],
  ['Teach it to answer support tickets', 'llama-70b', 'gpu-2x48gb', 'qlora', 'nf4'],
  ['Teach it to answer support tickets', 'llama-70b', 'gpu-80gb', 'qlora', 'nf4'],
  ['Full fine-tune on my data', 'qwen-0.5b', 'cpu-8gb', 'lomo', 'none'],
  ['Full fine-tune on my data', 'qwen-0.5b', 'gpu-24gb', 'full', 'none'],
  ['Full fine-tune on my data', 'llama-7b', 'gpu-24gb', 'lomo', 'none'],
  ['Full fine-tune on my data', 'llama-7b', 'gpu-80gb', 'lomo', 'none'],
  ['QLoRA please, 4-bit', 'llama-7b', 'gpu-80gb', 'qlora', 'nf4'],
  ['LoRA with an int8 base', 'llama-7b', 'gpu-24gb', 'lora', 'int8'],
  ['Make it fit in 8 GB', 'llama-7b', 'gpu-24gb', 'qlora', 'nf4'],
];

for (const [goal, modelName, machine, method, quant] of TABLE) {
  test(`${goal} | ${modelName} | ${machine} -> ${method} ${quant}`, () => {
    const model = localModel(modelName);
    const r = planWithRules({ intent: parseGoal(goal), hardware: MACHINES[machine], model, models: [localModel('qwen-0.5b'), model], dataset: DATA, estimator: defaultEstimator });
    assert.deepEqual(r.questions, []);
    assert.ok(r.args && r.estimate);
    const check = validateArgsText(JSON.stringify(r.args, null, 2));
    assert.deepEqual(check.problems.map((p) => `${p.code} ${p.message}`), [], 'the plan validates against the ARGS.json schema');
    if (method === 'none fits') {
      assert.equal(r.estimate.fits, false);
      assert.match(r.warnings.join('\n'), /needs about .* GB but .* GB is available/);
      return;
    }
    assert.equal(r.args.method, method);
    assert.equal(r.args.quantization, quant);
    // Independent re-estimate of the written file, the way the pre-flight check reads it.
    const again = defaultEstimator(resolveArgs(r.args), { model: model.spec, hardware: MACHINES[machine], memoryLimitBytes: parseGoal(goal).memoryLimitBytes });
    assert.ok(again.fits, `${again.memoryBytes} bytes fit in ${again.budgetBytes}`);
    for (const k of Object.keys(r.args)) assert.ok(r.reasons[k as keyof typeof r.reasons], `a reason for ${k}`);
  });
}

test('without a model or data the planner asks instead of guessing', () => {
  const r = planWithRules({ intent: parseGoal('fine-tune something'), hardware: MACHINES['gpu-24gb'], models: [localModel('qwen-0.5b'), localModel('llama-7b')], estimator: defaultEstimator });
  assert.equal(r.args, undefined);
  assert.equal(r.questions.length, 2);
  assert.match(r.questions[0], /Which model.*qwen-0\.5b.*llama-7b/);
  assert.match(r.questions[1], /JSON lines/);
});

test('follow-ups change only what they name: "use Lion" keeps the rest, "fit in 8 GB" re-fits', () => {
  const hw = MACHINES['gpu-24gb'];
  const model = localModel('llama-7b');
  const base = { hardware: hw, model, models: [model], dataset: DATA, estimator: defaultEstimator };
  const first = planWithRules({ ...base, intent: parseGoal('tune llama for support answers, rank 32') });
  assert.equal(first.args?.method, 'lora');
  assert.equal(first.args?.lora_rank, 32);
  const lion = planWithRules({ ...base, intent: parseGoal('use Lion'), current: first.args });
  assert.equal(lion.args?.optimizer, 'lion');
  assert.equal(lion.args?.lora_rank, 32, 'rank kept');
  assert.equal(lion.args?.method, 'lora');
  assert.ok((lion.args?.learning_rate ?? 1) < (first.args?.learning_rate ?? 0), 'Lion gets a smaller learning rate');
  assert.equal(lion.args?.weight_decay, 0.1);
  const small = planWithRules({ ...base, intent: parseGoal('make it fit in 8 GB'), current: lion.args });
  assert.equal(small.args?.method, 'qlora');
  assert.equal(small.args?.optimizer, 'lion', 'optimizer kept');
  assert.ok(small.estimate && small.estimate.memoryBytes <= 8 * 1024 ** 3);
});

test('a time budget caps the steps', () => {
  const hw = MACHINES['cpu-8gb'];
  const big: DatasetInfo = { ...DATA, records: 50000 };
  const r = planWithRules({ intent: parseGoal('tune it, I can wait 1 hour'), hardware: hw, model: localModel('qwen-0.5b'), models: [], dataset: big, estimator: defaultEstimator });
  assert.ok(r.args?.max_steps, 'max_steps set');
  assert.equal(r.args?.epochs, undefined);
  assert.ok((r.estimate?.seconds ?? Infinity) <= 3600 * 1.01);
});
