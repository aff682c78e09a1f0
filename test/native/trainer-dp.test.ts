// Data parallel: `mpirun -n 2 tuner-train` (Open MPI, ranks on loopback TCP) against one process
// with the same global batch. The two ranks see the one-process samples of every step, so the
// losses and final weights are the one-process ones up to the order of the fp32 additions:
// each step's loss within a relative 1e-5, every final weight within 1e-4 of the largest weight
// of its tensor (measured here: about 1e-7 and 1e-5). Also: kill -9 of rank 1 ends the run with
// rank 0's error event and a last checkpoint that resumes on 2 ranks bit for bit; a 1-process
// resume of a 2-rank checkpoint says what it does; torchrun's variables run the TCP backend; a
// `set` reaches every rank.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { LoraTarget, RunPlan } from '../../src/core/engine/plan';
import { formatSetCommand, type StartEvent, type StepEvent, type TrainerEvent } from '../../src/core/engine/protocol';
import { ensureOpenMpi, RanksRun, runRanks } from './dp-launch';
import { readSafetensorsF32 } from './safetensors-f32';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 128;
const LOSS_RTOL = 1e-5;
const WEIGHT_TOL = 1e-4; // of the tensor's largest |weight|

function stepsOf(events: TrainerEvent[]): StepEvent[] {
  return events.filter((e): e is StepEvent => e.type === 'step');
}

function assertLossesClose(got: StepEvent[], want: StepEvent[]): void {
  assert.deepEqual(got.map((s) => s.step), want.map((s) => s.step));
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i].loss - want[i].loss);
    assert.ok(d <= LOSS_RTOL * Math.abs(want[i].loss), `step ${want[i].step}: loss ${got[i].loss} on 2 ranks, ${want[i].loss} in one process`);
  }
}

function assertWeightsClose(file: string, refFile: string): void {
  const got = readSafetensorsF32(file);
  const want = readSafetensorsF32(refFile);
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [name, w] of want) {
    const g = got.get(name)!;
    let scale = 0;
    let worst = 0;
    for (let i = 0; i < w.data.length; i++) {
      scale = Math.max(scale, Math.abs(w.data[i]));
      worst = Math.max(worst, Math.abs(g.data[i] - w.data[i]));
    }
    assert.ok(worst <= WEIGHT_TOL * scale, `${name}: weights differ by up to ${worst} (largest weight ${scale})`);
  }
}

describe('tuner-train data parallel', () => {
  let root: string;
  before(() => {
    ensureOpenMpi();
    root = tempDir('dp');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 });
    // Prompts of 4 masked tokens and documents of two lengths: the ranks' rows hold different
    // numbers of loss tokens, which the token-weighted sum must account for.
    const docs = repetitiveDocuments(24, 41, VOCAB).map((d, i) => (i % 3 === 0 ? { tokens: Array.from(d.tokens).slice(0, 20), mask: Array.from(d.mask).slice(0, 20) } : d));
    makeShards(path.join(root, 'data'), docs, VOCAB);
  });

  const plan = (name: string, o: Partial<RunPlan> = {}): [string, RunPlan] => {
    const p = basePlan(root, { output_dir: path.join(root, name), threads: 1, max_steps: 12, batch_size: 4, ...o });
    return [writePlan(root, p, `${name}.json`), p];
  };

  async function compareWithOneProcess(name: string, o: Partial<RunPlan>, weights: string): Promise<void> {
    const [onePath, one] = plan(`${name}-1`, o);
    const ref = await runTrainer({ planPath: onePath });
    assert.equal(ref.code, 0, ref.stderrTail);
    const [twoPath, two] = plan(`${name}-2`, o);
    const dp = await runRanks({ ranks: 2, planPath: twoPath });
    assert.equal(dp.code, 0, dp.stderr);
    const start = dp.events[0] as StartEvent;
    assert.deepEqual(start.data_parallel, { world_size: 2, backend: 'mpi', rank_batch_size: (o.batch_size ?? 4) / 2 });
    assert.equal(start.tokens_per_step, (ref.events[0] as StartEvent).tokens_per_step);
    const st = stepsOf(dp.events);
    assertLossesClose(st, steps(ref.events));
    for (const s of st) {
      assert.deepEqual(s.ranks?.map((r) => r.rank), [0, 1]);
      assert.ok(s.ranks!.every((r) => r.tokens_per_s > 0) && s.allreduce_ms! >= 0);
    }
    assert.equal(dp.events.at(-1)?.type, 'done');
    assertWeightsClose(path.join(two.output_dir, weights), path.join(one.output_dir, weights));
  }

  it('LoRA with dropout: 2 MPI ranks give the one-process losses and final adapter', async () => {
    // Dropout masks follow the global row, so the ranks drop what the one process drops.
    const lora = { rank: 4, alpha: 8, dropout: 0.1, target_modules: ['q_proj', 'v_proj', 'down_proj'] as LoraTarget[] };
    await compareWithOneProcess('lora', { lora }, 'adapter/adapter_model.safetensors');
  });

  it('full fine-tune with grad_accum 2: 2 MPI ranks give the one-process losses and final weights', async () => {
    await compareWithOneProcess('full', { method: 'full', optimizer: { lr: 1e-3, weight_decay: 0.01 }, grad_accum: 2 }, 'model/model.safetensors');
  });

  it('kill -9 of rank 1: rank 0 reports rank_lost, and the last checkpoint resumes on 2 ranks bit for bit', async () => {
    const common = { max_steps: 24, save_interval: 8 };
    const [refPath] = plan('kill-ref', common);
    const ref = await runRanks({ ranks: 2, planPath: refPath });
    assert.equal(ref.code, 0, ref.stderr);
    const refLoss = new Map(stepsOf(ref.events).map((s) => [s.step, s.loss]));

    const [runPath, run] = plan('kill-run', common);
    const ranks = await RanksRun.start({ ranks: 2, planPath: runPath });
    await ranks.waitFor((e) => e.type === 'checkpoint' && e.step === 8);
    // Paused, the run cannot reach its end before the kill lands: rank 1 waits in a collective.
    ranks.send('{"version":1,"type":"pause"}\n');
    await ranks.waitFor((e) => e.type === 'paused');
    process.kill(ranks.rankPid(1), 'SIGKILL');
    const killed = await ranks.exited;
    assert.notEqual(killed.code, 0);
    const error = killed.events.at(-1);
    assert.ok(error?.type === 'error' && error.code === 'rank_lost', `last event: ${JSON.stringify(error)}\n${killed.stderr}`);
    assert.ok(!killed.events.some((e) => e.type === 'done'));

    const ckptRoot = path.join(run.output_dir, 'checkpoints');
    const ckpts = fs.readdirSync(ckptRoot).filter((d) => d.startsWith('step-')).sort();
    const last = path.join(ckptRoot, ckpts.at(-1)!);
    const from = Number(ckpts.at(-1)!.slice(5));
    const resumed = await runRanks({ ranks: 2, planPath: runPath, resumeDir: last });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal((resumed.events[0] as StartEvent).data_parallel?.resumed_world_size, 2);
    const st = stepsOf(resumed.events);
    assert.equal(st[0].step, from + 1);
    assert.equal(st.at(-1)?.step, 24);
    for (const s of st) assert.equal(s.loss, refLoss.get(s.step), `loss at step ${s.step} after the 2-rank resume`);

    // One process resuming the 2-rank checkpoint continues the same samples, within fp32 rounding.
    const one = await runTrainer({ planPath: runPath, resumeDir: last });
    assert.equal(one.code, 0, one.stderrTail);
    assert.match(one.stderrTail, /was trained on 2 rank\(s\), this run has 1: the same samples follow/);
    const oneSteps = steps(one.events);
    assertLossesClose(oneSteps, stepsOf(ref.events).filter((s) => s.step > from));
  });

  it('torchrun variables: the TCP backend gives the one-process losses, and a killed rank ends the run with rank_lost', async () => {
    const [onePath] = plan('tcp-1', { max_steps: 8 });
    const ref = await runTrainer({ planPath: onePath });
    assert.equal(ref.code, 0, ref.stderrTail);
    const [twoPath] = plan('tcp-2', { max_steps: 8 });
    const dp = await runRanks({ ranks: 2, planPath: twoPath, backend: 'tcp' });
    assert.equal(dp.code, 0, dp.stderr);
    assert.equal((dp.events[0] as StartEvent).data_parallel?.backend, 'tcp');
    assertLossesClose(stepsOf(dp.events), steps(ref.events));

    const [killPath] = plan('tcp-kill', { max_steps: 100000 });
    const ranks = await RanksRun.start({ ranks: 2, planPath: killPath, backend: 'tcp' });
    await ranks.waitFor((e) => e.type === 'step' && e.step === 3);
    process.kill(ranks.rankPid(1), 'SIGKILL');
    const killed = await ranks.exited;
    const error = killed.events.at(-1);
    assert.ok(error?.type === 'error' && error.code === 'rank_lost', `last event: ${JSON.stringify(error)}\n${killed.stderr}`);
    assert.match(error.message, /rank 1 closed its connection/);
  });

  it('commands reach every rank: `set` halves the lr on both (the final weights hash the same), and a diverged step is reported by rank 0', async () => {
    const [p] = plan('set', { max_steps: 20, save_interval: 5 });
    const ranks = await RanksRun.start({ ranks: 2, planPath: p });
    await ranks.waitFor((e) => e.type === 'step' && e.step === 2);
    ranks.send('{"version":1,"type":"pause"}\n');
    const paused = await ranks.waitFor((e) => e.type === 'paused');
    ranks.send(formatSetCommand({ lr_scale: 0.5 }));
    ranks.send('{"version":1,"type":"resume"}\n');
    // Rank 1 keeping the old lr would leave it other weights: ranks_diverged at the next save.
    const exit = await ranks.exited;
    assert.equal(exit.code, 0, exit.stderr);
    const st = stepsOf(exit.events);
    const at = (paused as { step: number }).step;
    assert.ok(st.filter((s) => s.step <= at).every((s) => s.lr === 1e-2) && st.filter((s) => s.step > at).every((s) => s.lr === 5e-3));

    const [q] = plan('diverge', { method: 'full', max_steps: 100000 });
    const diverging = await RanksRun.start({ ranks: 2, planPath: q });
    await diverging.waitFor((e) => e.type === 'step' && e.step === 2);
    diverging.send(formatSetCommand({ lr: 1e15 }));
    const failed = await diverging.exited;
    assert.notEqual(failed.code, 0);
    const error = failed.events.at(-1);
    assert.ok(error?.type === 'error' && /^non_finite_(loss|gradient)$/.test(error.code), `last event: ${JSON.stringify(error)}\n${failed.stderr}`);
    assert.match(error.message, /at step \d+/);
  });

  it('refuses a batch that does not split over the ranks, naming the fix', async () => {
    const [p] = plan('odd', { batch_size: 3 });
    const r = await runRanks({ ranks: 2, planPath: p });
    assert.notEqual(r.code, 0);
    const error = r.events.find((e) => e.type === 'error');
    assert.ok(error?.type === 'error' && error.code === 'bad_plan', r.stderr);
    assert.match(error.message, /batch_size 3 does not split evenly over 2 ranks/);
    assert.match(error.hint, /multiple of the number of ranks/);
  });
});
