// The expert-plan suite: every scenario of expert-scenarios.ts (goal × machine × model × data)
// planned by the rules, each choice checked against the range its cited recipe gives; every plan
// accepted by the engine for its device (the trainer's plan check, argsToRunPlan, and the
// schema validator); every explanation naming why those modules, what the length histogram
// implies, how long here and where the speed comes from, and what is given up for speed; and
// follow-ups that change one thing changing only that thing.
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { throughputFromMeasurement } from '../../../src/core/args/cpu-speed';
import { engineSupport } from '../../../src/core/args/engine-support';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { validateArgsText } from '../../../src/core/args/validate';
import { engineEstimator } from '../../../src/core/planner/engine-estimator';
import { planDevice } from '../../../src/core/planner/estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { renderPlan } from '../../../src/core/planner/render';
import { planWithRules } from '../../../src/core/planner/rules';
import { MACHINES, SCENARIOS, type Range, type Scenario } from './expert-scenarios';
import { localModel } from './models';

const ALL_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
/** This machine's speed as the addon would report it: the engine's sgemm measured at 200 GFLOP/s. */
const MEASURED = engineEstimator(() => throughputFromMeasurement({ gflops: 200, threads: 4, kernel: 'avx2' }));

function plan(s: Scenario, goal = s.goal, current?: Args) {
  const model = localModel(s.model);
  const others = (['qwen-0.5b', 'qwen2.5-1.5b'] as const).filter((m) => m !== s.model).map((m) => localModel(m));
  return planWithRules({ intent: parseGoal(goal), hardware: MACHINES[s.machine], model, models: [...others, model], dataset: s.data, estimator: MEASURED, current });
}

const within = (x: number | undefined, [lo, hi]: Range, what: string) => {
  assert.ok(x !== undefined && x >= lo * (1 - 1e-9) && x <= hi * (1 + 1e-9), `${what} ${x} outside [${lo}, ${hi}]`);
};

test('the suite covers every machine, several models, tiny to large data, and SFT, chat, pretraining, long context and preference data', () => {
  assert.ok(SCENARIOS.length >= 24, `${SCENARIOS.length} scenarios`);
  for (const m of Object.keys(MACHINES)) assert.ok(SCENARIOS.filter((s) => s.machine === m).length >= 4, m);
  assert.ok(new Set(SCENARIOS.map((s) => s.model)).size >= 5);
  assert.ok(SCENARIOS.some((s) => s.data.records < 500) && SCENARIOS.some((s) => s.data.records >= 100_000));
  for (const f of ['messages', 'input-output', 'text', 'preference']) assert.ok(SCENARIOS.some((s) => s.data.format === f), f);
  assert.ok(SCENARIOS.some((s) => s.expect.maxLength[0] >= 32768), 'long context');
  for (const r of ['LF-SFT', 'LF-PT', 'LF-DPO', 'LF-FULL', 'TT-LORA', 'QLORA', 'UNSLOTH']) assert.ok(SCENARIOS.some((s) => s.recipe.includes(r)), r);
});

describe('expert plans: each choice within its recipe\'s range', () => {
  for (const s of SCENARIOS) {
    test(`${s.name} [${s.recipe}]`, () => {
      const r = plan(s);
      assert.deepEqual(r.questions, [], s.name);
      assert.ok(r.args, s.name);
      const a = resolveArgs(r.args);
      const e = s.expect;
      const gpus = planDevice(a, MACHINES[s.machine]) === 'cuda' ? a.gpus : 1;
      assert.ok(e.method.includes(a.method), `method ${a.method}, expected ${e.method.join(' or ')}`);
      if (a.method === 'lora' || a.method === 'qlora') {
        if (e.rank) within(a.lora_rank, e.rank, 'lora_rank');
        if (e.alpha) within(a.lora_alpha, e.alpha, 'lora_alpha');
        assert.deepEqual(a.lora_target_modules, ALL_LINEAR, 'adapters on every linear layer');
      } else {
        assert.equal(r.args.lora_rank, undefined, 'no adapter keys for full / LOMO');
      }
      within(a.learning_rate, e.lr, 'learning_rate');
      within(a.batch_size * a.gradient_accumulation * gpus, e.effectiveBatch, 'effective batch');
      if (e.epochs) { assert.equal(r.args.max_steps, undefined, 'whole epochs'); within(a.epochs, e.epochs, 'epochs'); }
      if (e.maxSteps) within(a.max_steps, e.maxSteps, 'max_steps');
      within(a.max_length, e.maxLength, 'max_length');
      assert.equal(a.packing, e.packing, 'packing');
      assert.ok(e.quantization.includes(a.quantization), `quantization ${a.quantization}`);
      assert.equal(a.stage, e.stage ?? a.stage, 'stage');
      if (e.stage === 'dpo') assert.equal(r.args.pref_beta, 0.1, 'pref_beta');
      if (e.evalSplit) within(a.eval_split, e.evalSplit, 'eval_split');
      if (e.warns) assert.match(r.warnings.join('\n'), e.warns);
      else assert.ok(r.estimate?.fits, `fits: ${r.warnings.join(' ')}`);
    });
  }
});

describe('every plan is accepted by the engine for its device and by the schema', () => {
  for (const s of SCENARIOS) {
    test(s.name, () => {
      const r = plan(s);
      const a = resolveArgs(r.args!);
      const device = planDevice(a, MACHINES[s.machine]);
      assert.equal(engineSupport.refuses(a, device, localModel(s.model).spec), undefined, JSON.stringify(r.args));
      assert.deepEqual(validateArgsText(JSON.stringify(r.args, null, 2)).problems.filter((p) => p.severity === 'error').map((p) => p.message), []);
    });
  }
});

describe('every explanation: modules, lengths, time here with the speed\'s source, what is given up for speed', () => {
  for (const s of SCENARIOS) {
    test(s.name, () => {
      const r = plan(s);
      const a = resolveArgs(r.args!);
      const [modules, lengths, time, traded] = r.explanation;
      assert.equal(r.explanation.length, 4);
      if (a.method === 'lora' || a.method === 'qlora') assert.match(modules, /^Targeted modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj, every linear layer .* MLP holds/);
      else assert.match(modules, /^Trained weights: every weight, embed_tokens and lm_head included/);
      assert.match(lengths, new RegExp(`^Lengths: records average [\\d,]+ tokens \\(tokenizer\\), p95 [\\d,]+, longest [\\d,]+.*max_length ${a.max_length} (cuts no record|cuts [\\d,]+ records \\()`));
      if (a.packing) assert.match(lengths, /packing fills each/);
      const device = planDevice(a, MACHINES[s.machine]);
      if (device === 'cpu') assert.match(time, /^Time: about .+ for [\d,]+ steps on this machine's CPU \(4 cores\); speed measured on this machine: 200 GFLOP\/s \(the engine's sgemm, 4 threads\)\.$/);
      else assert.match(time, /^Time: about .+ for [\d,]+ steps on .*GB\)?; speed assumed for .*TFLOP\/s .*nothing measured on it yet\)\.$/);
      assert.match(traded, /^Given up for speed: /);
      if (a.method === 'lora' || a.method === 'qlora') assert.match(traded, new RegExp(`adapters \\(rank ${a.lora_rank}\\) instead of every weight`));
      if (a.gradient_checkpointing) assert.match(traded, /Speed given up: recomputing each layer in backward to fit memory \(\d+% more compute\)/);
    });
  }
});

describe('follow-ups change only what they name', () => {
  const base = SCENARIOS.find((s) => s.name.startsWith('24 GB GPU, Llama-3.1-8B, 5,000'))!;
  const cpu = SCENARIOS.find((s) => s.name.startsWith('CPU laptop, 0.5B, 5,000'))!;
  const changed = (before: Args, after: Args) => [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => JSON.stringify((before as Record<string, unknown>)[k]) !== JSON.stringify((after as Record<string, unknown>)[k])).sort();
  for (const s of [base, cpu]) {
    const first = plan(s).args!;
    test(`${s.name}: "rank 32" changes the rank and its alpha only`, () => {
      assert.deepEqual(changed(first, plan(s, 'rank 32', first).args!), ['lora_alpha', 'lora_rank']);
    });
    test(`${s.name}: "2 epochs" changes epochs only`, () => {
      const next = plan(s, first.epochs === 2 ? '3 epochs' : '2 epochs', first).args!;
      assert.deepEqual(changed(first, next), ['epochs']);
    });
    test(`${s.name}: "learning rate 5e-5" changes the learning rate only`, () => {
      assert.deepEqual(changed(first, plan(s, 'learning rate 5e-5', first).args!), ['learning_rate']);
    });
    test(`${s.name}: "use less memory" changes batch, accumulation and recomputation only`, () => {
      const diff = changed(first, plan(s, 'use less memory', first).args!);
      assert.ok(diff.length > 0 && diff.every((k) => ['batch_size', 'gradient_accumulation', 'gradient_checkpointing'].includes(k)), diff.join(', '));
    });
    test(`${s.name}: "max length 512" changes max_length only`, () => {
      assert.deepEqual(changed(first, plan(s, 'max length 512', first).args!), ['max_length']);
    });
  }
});

test('the chat shows the explanation under the plan table, and the estimate line names the speed', () => {
  const s = SCENARIOS.find((x) => x.machine === 'cpu-laptop')!;
  const r = plan(s);
  const text = renderPlan({ kind: 'plan', args: r.args, estimate: r.estimate, hardware: MACHINES[s.machine], reasons: r.reasons, text: '', notes: r.warnings, questions: [], source: 'rules', explanation: r.explanation });
  assert.match(text, /\nEstimate: peak .+ [\d,]+ steps, about .+; speed measured on this machine: 200 GFLOP\/s \(the engine's sgemm, 4 threads\)\.\n/);
  assert.match(text, /\n\n- Targeted modules: .+\n- Lengths: .+\n- Time: .+\n- Given up for speed: .+\n\n_Planned by rules\._$/);
});
