// The `set` command: a new learning rate from the next step on, kept in the checkpoint so a
// resume goes on with it bit for bit. Compared against the same plan trained without `set`.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { StepEvent, TrainerEvent } from '../../src/core/engine/protocol';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

function byStep(events: TrainerEvent[]): Map<number, StepEvent> {
  return new Map(steps(events).map((e) => [e.step, e]));
}

describe('tuner-train set lr', () => {
  let root: string;
  // Linear decay with warmup, so the factor is seen to ride on the schedule rather than replace it.
  const planFor = (out: string) => basePlan(root, { output_dir: path.join(root, out), max_steps: 10, save_interval: 4, schedule: 'linear', warmup_steps: 2 });
  before(() => {
    root = tempDir('set-lr');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(16, 33, VOCAB), VOCAB);
  });

  it('lr_scale applies from the next step, is checkpointed, and a resume continues bit for bit', async () => {
    const reference = byStep((await runTrainer({ planPath: writePlan(root, planFor('out-ref'), 'ref.json'), closeInput: true })).events);

    const p = startTrainer({ planPath: writePlan(root, planFor('out-set'), 'set.json'), startPaused: true });
    for (let s = 1; s <= 3; s++) {
      p.send('step');
      await p.waitFor((e) => e.type === 'paused' && e.step === s);
    }
    p.setLearningRate({ lr_scale: 0.5 });
    p.send('resume');
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    const scaled = byStep(exit.events);
    assert.equal(scaled.size, 10);
    for (let s = 1; s <= 10; s++) {
      const want = s <= 3 ? reference.get(s)!.lr : reference.get(s)!.lr * 0.5;
      assert.equal(scaled.get(s)!.lr, want, `lr at step ${s}`);
    }
    // Step 4's loss is measured before its update, on weights the first three (unscaled) steps made.
    for (let s = 1; s <= 4; s++) assert.equal(scaled.get(s)!.loss, reference.get(s)!.loss, `loss at step ${s}`);
    assert.notEqual(scaled.get(6)!.loss, reference.get(6)!.loss);

    const ckpt8 = exit.events.find((e) => e.type === 'checkpoint' && e.step === 8);
    assert.ok(ckpt8 && ckpt8.type === 'checkpoint');
    const state = JSON.parse(fs.readFileSync(path.join(ckpt8.path, 'trainer_state.json'), 'utf8')) as { lr_scale: number };
    assert.equal(state.lr_scale, 0.5);

    const resumed = await runTrainer({ planPath: writePlan(root, planFor('out-resumed'), 'resumed.json'), resumeDir: ckpt8.path, closeInput: true });
    assert.equal(resumed.code, 0, resumed.stderrTail);
    const after = byStep(resumed.events);
    assert.deepEqual([...after.keys()], [9, 10]);
    for (const s of [9, 10]) {
      assert.equal(after.get(s)!.lr, scaled.get(s)!.lr, `lr at step ${s} after resume`);
      assert.equal(after.get(s)!.loss, scaled.get(s)!.loss, `loss at step ${s} after resume`);
    }
  });

  it('set lr by hand replaces the peak lr; bad values are refused and training goes on', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-hand'), max_steps: 3 });
    const p = startTrainer({ planPath: writePlan(root, plan, 'hand.json'), startPaused: true });
    await p.waitFor((e) => e.type === 'paused' && e.step === 0);
    p.sendRaw('{"version":1,"type":"set","lr":-1}\n{"version":1,"type":"set","lr":0.1,"lr_scale":2}\nset lr fast\n');
    p.send('step');
    await p.waitFor((e) => e.type === 'paused' && e.step === 1);
    p.sendRaw('set lr 0.02\n');
    p.send('resume');
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.equal((exit.stderrTail.match(/ignored command: /g) ?? []).length, 3, exit.stderrTail);
    assert.deepEqual(steps(exit.events).map((e) => e.lr), [0.01, 0.02, 0.02]);
    assert.throws(() => p.setLearningRate({ lr: Number.NaN }), RangeError);
  });
});
