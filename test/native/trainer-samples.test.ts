// Samples during training: ARGS.json's sample_prompts, rendered with the chat template into the
// plan, answered greedily by tuner-train from its current weights every sample_interval steps
// and after the last, as `sample` events. Sampling reads the weights only: the losses of a run
// with samples equal those of the same run without, bit for bit.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';

import type { SampleEvent, StepEvent } from '../../src/core/engine/protocol';
import { loadTokenizer } from '../../src/core/model/tokenizer';
import { RunManager } from '../../src/core/run/run-manager';
import { RunStore } from '../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER } from '../unit/run/tiny-run';
import { tempDir } from './trainer-fixtures';

async function train(ws: string, name: string, extra: Record<string, unknown>) {
  const args = makeTinyProject(path.join(ws, name), { args: { max_steps: 40, save_interval: 0, learning_rate: 0.02, ...extra } });
  const manager = new RunManager(RunStore.forWorkspace(ws), PREPARE_WORKER);
  const { session } = await manager.start(args, { mode: 'free' });
  await session.exited;
  assert.equal(session.snapshot.status, 'done', JSON.stringify(session.snapshot.error));
  return manager.store.open(session.record.id);
}

test('samples every sample_interval steps and after the last, from the current weights, without changing the run', async () => {
  const ws = tempDir('samples');
  const prompts = ['what is the capital of france ?', 'how many legs does a spider have ?'];
  const withSamples = await train(ws, 'a', { sample_prompts: prompts, sample_interval: 15, sample_max_new_tokens: 6 });
  const plain = await train(ws, 'b', {});

  const plan = withSamples.plan();
  assert.equal(plan.samples?.interval, 15);
  assert.deepEqual(plan.samples?.texts, prompts);
  const tok = loadTokenizer(path.join(ws, 'a', 'model'));
  // The default template renders a user turn and the assistant's prompt; ids are the tokenizer's.
  assert.ok(plan.samples!.prompts.every((ids, i) => tok.decode(ids, { cleanUpSpaces: false }).includes(prompts[i])), JSON.stringify(plan.samples!.prompts.map((ids) => tok.decode(ids))));
  assert.ok(plan.samples!.stop_ids.includes(tok.tokenToId('</s>')!));

  const events = withSamples.events();
  const samples = events.filter((e): e is SampleEvent => e.type === 'sample');
  assert.deepEqual(samples.map((s) => s.step), [15, 30, 40]);
  for (const s of samples) {
    assert.deepEqual(s.outputs.map((o) => o.index), [0, 1]);
    for (const o of s.outputs) {
      assert.ok(o.ids.length <= 6 && (o.stop === 'eos' || o.ids.length === 6), JSON.stringify(o));
      assert.ok(!plan.samples!.stop_ids.some((id) => o.ids.includes(id)), 'the stop token is not part of the answer');
    }
  }
  // By the last sample the answers have the data's form: one word, " .", then EOS.
  const last = samples.at(-1)!.outputs.map((o) => tok.decode(o.ids, { cleanUpSpaces: false }).trim());
  assert.ok(samples.at(-1)!.outputs.every((o) => o.stop === 'eos'));
  assert.ok(last.every((a) => /^\w+ \.$/.test(a)), `answers at step 40: ${JSON.stringify(last)}`);

  const losses = (rec: typeof plain) => rec.events().filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);
  assert.deepEqual(losses(withSamples), losses(plain), 'sampling does not change a single loss');
});

test('a sample prompt longer than the model\'s positions is refused before training, naming the fix', async () => {
  const ws = tempDir('samples-long');
  const args = makeTinyProject(path.join(ws, 'c'), { args: { max_steps: 4, sample_prompts: ['what is the capital of france ? '.repeat(10)], sample_interval: 2 } });
  const manager = new RunManager(RunStore.forWorkspace(ws), PREPARE_WORKER);
  const { session } = await manager.start(args, { mode: 'free' });
  await session.exited;
  assert.equal(session.snapshot.status, 'failed');
  assert.match(session.snapshot.error!.message, /samples\.prompts\[0\] is \d+ tokens; with 32 new tokens that is more than the model's 64 positions/);
  assert.match(session.snapshot.error!.hint, /Shorten the sample prompt/);
});
