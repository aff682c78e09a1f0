// kill -9 in the middle of a run, then --resume from the last checkpoint: the losses after the
// checkpoint equal an uninterrupted run's bit for bit (same plan, same threads), for LoRA, a full
// fine-tune, Lion, QLoRA with SGD Nesterov momentum and LOMO (each optimizer's state is in the
// checkpoint). Also: a resume refuses a checkpoint made under another plan.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { RunPlan } from '../../src/core/engine/plan';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 128;

describe('tuner-train resume', () => {
  let root: string;
  before(() => {
    root = tempDir('resume');
    // Big enough that 40 steps take a noticeable time, so the kill lands mid-run.
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 });
    makeShards(path.join(root, 'data'), repetitiveDocuments(24, 65, VOCAB), VOCAB);
  });

  async function killAndResume(name: string, overrides: Partial<RunPlan>): Promise<void> {
    const common = { max_steps: 60, seq_len: 64, save_interval: 10, schedule: 'cosine' as const, warmup_steps: 5, ...overrides };
    const refPlan = basePlan(root, { ...common, output_dir: path.join(root, `${name}-ref`) });
    const ref = await runTrainer({ planPath: writePlan(root, refPlan, `${name}-ref.json`) });
    assert.equal(ref.code, 0, ref.stderrTail);
    const refLoss = new Map(steps(ref.events).map((s) => [s.step, s.loss]));
    assert.equal(refLoss.size, 60);

    const plan = basePlan(root, { ...common, output_dir: path.join(root, `${name}-run`) });
    const planPath = writePlan(root, plan, `${name}-run.json`);
    const p = startTrainer({ planPath });
    await p.waitFor((e) => e.type === 'checkpoint' && e.step === 20);
    p.kill('SIGKILL');
    const killed = await p.exited;
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(!killed.events.some((e) => e.type === 'done'), 'the run should have been killed before it finished');
    const killedAt = steps(killed.events).length;

    // The newest complete checkpoint; interrupted saves never appear under a step-* name.
    const ckptRoot = path.join(plan.output_dir, 'checkpoints');
    const ckpts = fs.readdirSync(ckptRoot).filter((d) => d.startsWith('step-')).sort();
    const last = path.join(ckptRoot, ckpts[ckpts.length - 1]);
    const resumedFrom = Number(ckpts[ckpts.length - 1].slice(5));
    assert.ok(resumedFrom >= 20 && resumedFrom <= killedAt);

    const resumed = await runTrainer({ planPath, resumeDir: last });
    assert.equal(resumed.code, 0, resumed.stderrTail);
    const start = resumed.events[0];
    assert.ok(start.type === 'start' && start.step === resumedFrom && start.resumed_from === last);
    const st = steps(resumed.events);
    assert.equal(st[0].step, resumedFrom + 1);
    assert.equal(st[st.length - 1].step, 60);
    for (const s of st) {
      // Exact equality of the parsed JSON numbers: the trainer prints the shortest text that
      // round-trips the float, so equal numbers mean equal bits.
      assert.equal(s.loss, refLoss.get(s.step), `loss at step ${s.step} after resume`);
    }
    // The killed run's own losses matched too, up to where it died.
    for (const s of steps(killed.events)) assert.equal(s.loss, refLoss.get(s.step));
  }

  it('LoRA: identical loss sequence after kill -9 and --resume', async () => {
    await killAndResume('lora', { lora: { rank: 4, alpha: 8, dropout: 0.1, target_modules: ['q_proj', 'v_proj', 'down_proj'] } });
  });

  it('full fine-tune: identical loss sequence after kill -9 and --resume', async () => {
    await killAndResume('full', { method: 'full', optimizer: { lr: 1e-3, weight_decay: 0.01 }, grad_accum: 2, batch_size: 2 });
  });

  it('Lion: identical loss sequence after kill -9 and --resume', async () => {
    await killAndResume('lion', { method: 'full', optimizer: { name: 'lion', lr: 1e-4, weight_decay: 0.1 } });
  });

  it('QLoRA (nf4) with SGD Nesterov momentum: identical loss sequence after kill -9 and --resume', async () => {
    await killAndResume('qlora-sgd', {
      method: 'qlora', base_quant: 'nf4', optimizer: { name: 'sgd', lr: 5e-2, momentum: 0.9, nesterov: true },
      lora: { rank: 4, alpha: 8, dropout: 0.1, target_modules: ['q_proj', 'v_proj', 'down_proj'] },
    });
  });

  it('LOMO with two-pass clipping: identical loss sequence after kill -9 and --resume', async () => {
    await killAndResume('lomo', { method: 'lomo', optimizer: { name: 'sgd', lr: 1e-2, weight_decay: 0.01 }, max_grad_norm: 0.5 });
  });

  it('refuses a checkpoint of a different plan', async () => {
    const ckpt = path.join(root, 'lora-ref', 'checkpoints', 'step-00000010');
    const plan = basePlan(root, { max_steps: 60, seq_len: 64, output_dir: path.join(root, 'other'), optimizer: { lr: 5e-3 } });
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'other.json'), resumeDir: ckpt });
    assert.notEqual(exit.code, 0);
    assert.equal(exit.signal, null);
    assert.equal(exit.error?.code, 'plan_mismatch');
  });

  it('refuses to resume on different data', async () => {
    const ckpt = path.join(root, 'lora-ref', 'checkpoints', 'step-00000010');
    const other = makeShards(path.join(root, 'data2'), repetitiveDocuments(25, 65, VOCAB), VOCAB);
    const plan = basePlan(root, {
      max_steps: 60, seq_len: 64, save_interval: 10, schedule: 'cosine', warmup_steps: 5, data_dir: other,
      lora: { rank: 4, alpha: 8, dropout: 0.1, target_modules: ['q_proj', 'v_proj', 'down_proj'] },
      output_dir: path.join(root, 'other-data'),
    });
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'other-data.json'), resumeDir: ckpt });
    assert.equal(exit.signal, null);
    assert.notEqual(exit.code, 0);
    assert.equal(exit.error?.code, 'data_mismatch');
  });
});
