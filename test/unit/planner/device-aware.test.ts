// The rule planner proposes only what the engine on the plan's device runs, asked of the engine
// (src/core/args/engine-support.ts), and says plainly when a run is impractical on this machine,
// with the alternatives. An engine whose rule refuses qlora and lomo (the CPU trainer before it
// learned them) stands in to show the planner follows the engine rather than a list of its own.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineSupport, type EngineSupport } from '../../../src/core/args/engine-support';
import { resolveArgs } from '../../../src/core/args/fields';
import { validateArgsText } from '../../../src/core/args/validate';
import { describedHardware } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { planDevice } from '../../../src/core/planner/estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

const DATA: DatasetInfo = { ref: './train.jsonl', file: '/w/train.jsonl', format: 'messages', records: 2000, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: 2000, counter: 'tokenizer' } };
const LAPTOP_16GB = describedHardware({ ramGiB: 16, cores: 4 });
const TWO_CORES = describedHardware({ ramGiB: 24, cores: 2 });

/** An engine that runs only full and lora with AdamW on the CPU, and everything on CUDA. */
const ADAMW_LORA_FULL_ON_CPU: EngineSupport = {
  refuses: (a, device) => {
    if (device === 'cuda') return undefined;
    if (a.method !== 'full' && a.method !== 'lora') return `method "${a.method}" is not available in the CPU trainer.`;
    if (a.quantization !== 'none') return `quantization "${a.quantization}" is not available in the CPU trainer.`;
    return undefined;
  },
  attention: engineSupport.attention,
};

const plan = (goal: string, o: { model?: string; hw?: typeof LAPTOP_16GB; data?: DatasetInfo; engine?: EngineSupport; models?: string[] } = {}) => {
  const model = localModel(o.model ?? 'llama-7b');
  return planWithRules({ intent: parseGoal(goal), hardware: o.hw ?? LAPTOP_16GB, model, models: (o.models ?? ['qwen-0.5b']).map((m) => localModel(m)).concat(model), dataset: o.data ?? DATA, estimator: defaultEstimator, engine: o.engine });
};

test('an engine that cannot run qlora or lomo on the CPU is never offered them there', () => {
  for (const [goal, model] of [['Teach it to answer support tickets', 'llama-7b'], ['Full fine-tune on my data', 'qwen-0.5b'], ['Full fine-tune on my data', 'llama-7b']]) {
    const r = plan(goal, { model, engine: ADAMW_LORA_FULL_ON_CPU });
    assert.ok(r.args, goal);
    const a = resolveArgs(r.args);
    assert.equal(ADAMW_LORA_FULL_ON_CPU.refuses(a, 'cpu'), undefined, `${goal} / ${model}: ${a.method} ${a.quantization}`);
    assert.ok(a.method === 'lora' || a.method === 'full', `${goal} / ${model}: ${a.method}`);
  }
});

test('a method asked for that the engine cannot run here is replaced, and the plan says why', () => {
  const r = plan('QLoRA please, 4-bit', { model: 'qwen-0.5b', engine: ADAMW_LORA_FULL_ON_CPU });
  assert.equal(r.args?.method, 'lora');
  assert.equal(r.args?.quantization, 'none');
  assert.match(r.warnings.join('\n'), /qlora is not something the CPU trainer can run \(method "qlora" is not available in the CPU trainer\.\), so the plan uses lora/);
  assert.match(r.reasons.method ?? '', /qlora cannot run on the CPU trainer/);
  // The same request on a GPU machine keeps QLoRA: the engine runs it there.
  const gpu = plan('QLoRA please, 4-bit', { model: 'qwen-0.5b', engine: ADAMW_LORA_FULL_ON_CPU, hw: describedHardware({ gpus: 1, gpuMemoryGiB: 24, ramGiB: 64 }) });
  assert.equal(gpu.args?.method, 'qlora');
});

test('every plan the planner writes is accepted by this build\'s engine for its device, and validates', () => {
  const machines = [LAPTOP_16GB, TWO_CORES, describedHardware({ ramGiB: 8, cores: 8 }), describedHardware({ gpus: 1, gpuMemoryGiB: 24, ramGiB: 64 }), describedHardware({ gpus: 2, gpuMemoryGiB: 48, ramGiB: 256 })];
  const goals = ['Teach it to answer support tickets', 'Full fine-tune on my data', 'QLoRA please, 4-bit', 'LoRA with an int8 base', 'use LOMO', 'use Lion', 'sgd with momentum, rank 32', 'make it fit in 6 GB'];
  for (const hw of machines) {
    for (const goal of goals) {
      for (const model of ['qwen-0.5b', 'llama-7b', 'llama-13b']) {
        const r = plan(goal, { model, hw });
        if (!r.args || !r.estimate?.fits) continue;
        const a = resolveArgs(r.args);
        assert.equal(engineSupport.refuses(a, planDevice(a, hw)), undefined, `${goal} / ${model} / ${hw.gpus.length} GPUs: ${JSON.stringify(r.args)}`);
        assert.deepEqual(validateArgsText(JSON.stringify(r.args)).problems.map((p) => p.message), [], `${goal} / ${model}`);
      }
    }
  }
});

test('LOMO plans accumulate nothing: gradient_accumulation 1 (it updates during backward)', () => {
  const r = plan('Full fine-tune on my data', { model: 'llama-7b', hw: describedHardware({ gpus: 1, gpuMemoryGiB: 24, ramGiB: 64 }) });
  assert.equal(r.args?.method, 'lomo');
  assert.equal(r.args?.gradient_accumulation, 1);
  const explicit = plan('use LOMO', { model: 'qwen-0.5b', hw: describedHardware({ gpus: 1, gpuMemoryGiB: 24, ramGiB: 64 }) });
  assert.equal(explicit.args?.method, 'lomo');
  assert.equal(explicit.args?.gradient_accumulation, 1);
});

test('a run of days on this machine is called impractical, with a smaller model, a GPU and /readme as alternatives', () => {
  const r = plan('Teach it to answer support tickets', { model: 'llama-7b', hw: LAPTOP_16GB, data: { ...DATA, records: 20000 } });
  const w = r.warnings.join('\n');
  assert.match(w, /This run would take about .+ on this machine's 4-core CPU \([\d,]+ steps\): too long to be practical here/);
  assert.match(w, /a machine with a GPU \(one 24 GB GPU: about /);
  assert.match(w, /\/readme/);
  const slowSmall = plan('Teach it to answer support tickets', { model: 'qwen-0.5b', hw: TWO_CORES, data: { ...DATA, records: 200000 }, models: [] });
  assert.match(slowSmall.warnings.join('\n'), /too long to be practical here/);
  // A short run says nothing of the kind.
  const quick = plan('Teach it to answer support tickets', { model: 'qwen-0.5b', hw: LAPTOP_16GB, data: { ...DATA, records: 300 } });
  assert.doesNotMatch(quick.warnings.join('\n'), /practical/);
});

test('the smaller local model offered instead of an impractical one comes with its own estimate', () => {
  const r = plan('Teach it to answer support tickets', { model: 'llama-13b', hw: describedHardware({ ramGiB: 64, cores: 8 }), data: { ...DATA, records: 1000 }, models: ['qwen-0.5b'] });
  assert.match(r.warnings.join('\n'), /a smaller local model: \.\/models\/qwen-0\.5b \(about [^)]+\)/);
});

test('a GPU without bf16 (compute 7.5) gets the precision the engine trains in: fp32 while it refuses fp16, fp16 once it runs it', () => {
  const t4 = describedHardware({ gpus: 1, gpuMemoryGiB: 16, gpuName: 'T4 (16 GB)', ramGiB: 32 });
  t4.gpus[0].computeCapability = '7.5';
  const r = plan('Teach it to answer support tickets', { model: 'qwen-0.5b', hw: t4 });
  assert.equal(r.args?.precision, 'fp32');
  assert.match(r.reasons.precision ?? '', /^fp32: this GPU \(compute 7\.5\) has no bf16, and the engine does not train in fp16/);
  assert.ok(r.estimate?.fits, r.warnings.join(' '));
  assert.doesNotMatch(r.warnings.join('\n'), /cannot run any method/);
  assert.equal(engineSupport.refuses(resolveArgs(r.args!), 'cuda'), undefined);
  const fp16Engine: EngineSupport = { refuses: () => undefined, attention: engineSupport.attention };
  assert.equal(plan('Teach it to answer support tickets', { model: 'qwen-0.5b', hw: t4, engine: fp16Engine }).args?.precision, 'fp16');
  // Ampere and later: bf16.
  assert.equal(plan('Teach it to answer support tickets', { model: 'qwen-0.5b', hw: describedHardware({ gpus: 1, gpuMemoryGiB: 24, ramGiB: 64 }) }).args?.precision, 'bf16');
});
