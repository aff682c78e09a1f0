// DPO in tuner-train against float64 PyTorch (reference/train_steps_reference.py, stage dpo) on
// a tiny random Llama: per-step DPO loss, lr, grad norm, reward margin and accuracy, and every
// trainable tensor after the last step, for LoRA and QLoRA (reference = the base with adapters
// off; QLoRA against PyTorch on the dequantized nf4 weights) and a
// full fine-tune and LOMO (reference log-probs of the initial weights, computed before the first
// step).
// Then kill -9 and --resume of a full DPO run (the reference log-probs are in the checkpoint) and
// of a LoRA DPO run with dropout continue bit for bit, and data of the wrong layout is refused
// naming the manifest.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import type { RunPlan } from '../../src/core/engine/plan';
import type { StepEvent } from '../../src/core/engine/protocol';
import type { TrainerExit } from '../../src/core/engine/trainer-client';
import { writeShards, type ShardDocument } from '../../src/core/engine/shards';
import { findTool, runTool } from './native-tools';
import { basePlan, makeShards, makeTinyModel, runTrainer, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';
import { checkSteps, compareWeights, readF32Tensors, referenceSteps, trainFromSavedStart, type RefStep } from './train-steps-reference';

const VOCAB = 96;
const STEPS = 8;

/** `count` pairs: a shared prompt (mask 0), then a chosen and a rejected answer of other lengths (mask 1). */
export function preferencePairs(count: number, vocab: number): ShardDocument[] {
  const docs: ShardDocument[] = [];
  for (let i = 0; i < count; i++) {
    const prompt = Array.from({ length: 4 + i }, (_, j) => (3 + i * 13 + j * 5) % vocab);
    for (const [len, step] of [[7 + 2 * i, 7], [5 + (i % 3), 11]]) {
      const answer = Array.from({ length: len }, (_, j) => (9 + i * 3 + j * step) % vocab);
      docs.push({ tokens: [...prompt, ...answer], mask: [...prompt.map(() => 0), ...answer.map(() => 1)] });
    }
  }
  return docs;
}

type RewardStep = StepEvent & { rewards: NonNullable<StepEvent['rewards']> };

function checkRewards(events: Parameters<typeof steps>[0], log: (RefStep & { margin?: number; accuracy?: number })[]): number {
  let worst = 0;
  for (const [i, s] of (steps(events) as RewardStep[]).entries()) {
    assert.ok(s.rewards, `step ${s.step} has no rewards`);
    const m = log[i].margin!;
    const err = Math.abs(s.rewards.margin - m);
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-5 + 1e-4 * Math.abs(m), `margin at step ${s.step}: ${s.rewards.margin} vs ${m}`);
    // A margin within rounding of 0 (the first step) may land on either side.
    if (Math.abs(m) > 1e-6) assert.equal(s.rewards.accuracy, log[i].accuracy, `accuracy at step ${s.step}`);
    assert.ok(Math.abs(s.rewards.chosen - s.rewards.rejected - s.rewards.margin) < 1e-9);
  }
  return worst;
}

describe('DPO matches PyTorch', () => {
  let root: string;
  before(() => {
    ensurePyTorch();
    root = tempDir('dpo');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB, hidden: 64, intermediate: 128, heads: 4, kvHeads: 2 });
    writeShards(path.join(root, 'data'), preferencePairs(4, VOCAB), { vocabSize: VOCAB, layout: 'preference-pairs' });
  });

  const dpo = (overrides: Partial<RunPlan>): Partial<RunPlan> => ({ stage: 'dpo', pref_beta: 0.5, max_steps: STEPS, batch_size: 4, ...overrides });

  interface Compared { exit: TrainerExit; outputDir: string; worst: number; margin: number }

  /** Trains `name` against the reference: adapters from a saved initial adapter (on `quantized`'s base), else every weight. */
  async function compareRun(name: string, overrides: Partial<RunPlan>, o: { adapters: boolean; quantized?: string }): Promise<Compared> {
    const plan = basePlan(root, { ...dpo(overrides), output_dir: path.join(root, `out-${name}`) });
    if (!o.adapters) delete plan.lora;
    const planPath = writePlan(root, plan, `${name}.json`);
    let exit: TrainerExit;
    let initialFile = path.join(root, 'model', 'model.safetensors');
    let ref;
    if (o.adapters) {
      const started = await trainFromSavedStart(planPath, plan.output_dir);
      exit = started.exit;
      initialFile = path.join(started.initialDir, 'adapter_model.safetensors');
      ref = referenceSteps(planPath, STEPS, { adapter: started.initialDir, quantized: o.quantized });
    } else {
      exit = await runTrainer({ planPath });
      assert.equal(exit.code, 0, exit.stderrTail);
      ref = referenceSteps(planPath, STEPS);
    }
    checkSteps(exit.events, ref.log, STEPS);
    const margin = checkRewards(exit.events, ref.log);
    const out = path.join(plan.output_dir, o.adapters ? 'adapter/adapter_model.safetensors' : 'model/model.safetensors');
    const worst = compareWeights(out, readF32Tensors(initialFile), ref.weights);
    console.log(`DPO ${name}: worst weight error / update ${worst.toExponential(2)}, worst margin error ${margin.toExponential(2)}`);
    return { exit, outputDir: plan.output_dir, worst, margin };
  }

  it('LoRA: the base with adapters off is the reference; loss, rewards and adapters match', async () => {
    const { exit } = await compareRun('lora', { optimizer: { lr: 2e-2, betas: [0.9, 0.99], weight_decay: 0.01 }, schedule: 'linear', warmup_steps: 2 }, { adapters: true });
    const start = exit.events[0];
    assert.ok(start.type === 'start' && start.stage === 'dpo' && start.tokens_per_step === 2 * 4 * 32);
    const last = steps(exit.events).at(-1) as RewardStep;
    assert.ok(last.rewards.margin > 0 && last.rewards.accuracy === 1, `training should separate the pairs: ${JSON.stringify(last.rewards)}`);
  });

  it('full fine-tune: precomputed reference log-probs; loss, rewards and weights match', async () => {
    const { outputDir } = await compareRun('full', { method: 'full', optimizer: { lr: 1e-3, weight_decay: 0.01 }, max_grad_norm: 0.5 }, { adapters: false });
    assert.ok(fs.existsSync(path.join(outputDir, 'checkpoints', `step-0000000${STEPS}`, 'dpo_reference.safetensors')));
  });

  it('QLoRA (nf4): the reference is the quantized base with adapters off; matches PyTorch on the dequantized weights', async () => {
    const qdir = path.join(root, 'model-nf4');
    const r = runTool(findTool('tuner-export'), ['quantize', '--model', path.join(root, 'model'), '--quant', 'nf4', '--out', qdir]);
    assert.equal(r.status, 0, r.stderr);
    await compareRun('qlora-nf4', { method: 'qlora', base_quant: 'nf4', optimizer: { lr: 2e-2, betas: [0.9, 0.99] } }, { adapters: true, quantized: qdir });
  });

  it('LOMO: DPO with each weight updated during backward (two-pass clipping) matches SGD on the whole gradient', async () => {
    await compareRun('lomo', { method: 'lomo', optimizer: { name: 'sgd', lr: 2e-2, weight_decay: 0.01 }, max_grad_norm: 0.5 }, { adapters: false });
  });

  // Full: the reference log-probs come back from the checkpoint; LoRA (with dropout): the
  // reference is recomputed with the adapters off, the dropout draws from the saved RNG state.
  for (const method of ['full', 'lora'] as const) {
    it(`${method}: kill -9 and --resume continue bit for bit`, async () => {
      const data = path.join(root, 'pairs16');
      if (!fs.existsSync(data)) writeShards(data, preferencePairs(16, VOCAB), { vocabSize: VOCAB, layout: 'preference-pairs' });
      const common = dpo({ method, data_dir: data, batch_size: 2, grad_accum: 2, max_steps: 40, save_interval: 4, optimizer: { lr: 1e-3 } });
      const refPlan = basePlan(root, { ...common, output_dir: path.join(root, `resume-${method}-ref`) });
      if (method === 'full') delete refPlan.lora;
      else refPlan.lora = { ...refPlan.lora!, dropout: 0.1 };
      const ref = await runTrainer({ planPath: writePlan(root, refPlan, `resume-${method}-ref.json`) });
      assert.equal(ref.code, 0, ref.stderrTail);
      const refSteps = new Map((steps(ref.events) as RewardStep[]).map((s) => [s.step, s]));

      const plan = { ...refPlan, output_dir: path.join(root, `resume-${method}-run`) };
      const planPath = writePlan(root, plan, `resume-${method}-run.json`);
      const p = startTrainer({ planPath });
      await p.waitFor((e) => e.type === 'checkpoint' && e.step === 8);
      p.kill('SIGKILL');
      const killed = await p.exited;
      assert.equal(killed.signal, 'SIGKILL');
      assert.ok(!killed.events.some((e) => e.type === 'done'), 'the run should have been killed before it finished');
      const ckpts = fs.readdirSync(path.join(plan.output_dir, 'checkpoints')).filter((d) => d.startsWith('step-')).sort();
      const last = path.join(plan.output_dir, 'checkpoints', ckpts[ckpts.length - 1]);
      const resumed = await runTrainer({ planPath, resumeDir: last });
      assert.equal(resumed.code, 0, resumed.stderrTail);
      const st = steps(resumed.events) as RewardStep[];
      assert.equal(st[st.length - 1].step, 40);
      for (const s of st) {
        const r = refSteps.get(s.step)!;
        assert.equal(s.loss, r.loss, `loss at step ${s.step} after resume`);
        assert.deepEqual(s.rewards, r.rewards, `rewards at step ${s.step} after resume`);
      }
    });
  }

  it('refuses single documents for stage dpo and pairs for stage sft, naming the manifest', async () => {
    makeShards(path.join(root, 'single'), preferencePairs(4, VOCAB), VOCAB);
    const bad = await runTrainer({ planPath: writePlan(root, basePlan(root, { ...dpo({}), data_dir: path.join(root, 'single'), output_dir: path.join(root, 'bad1') }), 'bad1.json') });
    assert.notEqual(bad.code, 0);
    assert.equal(bad.error?.code, 'bad_shards');
    assert.match(bad.error!.message, /single[/\\]manifest\.json: stage "dpo" trains on preference pairs/);
    const sft = await runTrainer({ planPath: writePlan(root, basePlan(root, { output_dir: path.join(root, 'bad2') }), 'bad2.json') });
    assert.equal(sft.error?.code, 'bad_shards');
    assert.match(sft.error!.message, /preference pairs/);
  });
});
