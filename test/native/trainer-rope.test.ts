// ARGS.json's rope_scaling reaches the trainer: a run plan's rope_scaling (what argsToRunPlan
// writes) trains exactly as the same object in config.json does, step for step, and a full
// fine-tune saves it in its config.json, so the tuned model is read with the positions it was
// tuned with. xPos and linear scaling each change the loss against plain RoPE.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { argsToRunPlan } from '../../src/core/args/run-plan';
import { resolveArgs } from '../../src/core/args/fields';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';
import type { RunPlan } from '../../src/core/engine/plan';

const VOCAB = 64;

describe('rope_scaling from ARGS.json in tuner-train', () => {
  let root: string;
  before(() => {
    root = tempDir('rope');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 24, VOCAB), VOCAB);
  });

  const losses = async (name: string, overrides: Partial<RunPlan>): Promise<number[]> => {
    const plan = basePlan(root, { output_dir: path.join(root, `out-${name}`), method: 'full', max_steps: 3, batch_size: 2, ...overrides });
    const exit = await runTrainer({ planPath: writePlan(root, plan, `${name}.json`) });
    assert.equal(exit.code, 0, exit.stderrTail);
    return steps(exit.events).map((s) => s.loss);
  };

  for (const [rope, factor] of [['xpos', 1], ['linear', 4]] as const) {
    it(`${rope}: the plan's override trains as config.json's rope_scaling does`, async () => {
      const paths = { modelDir: path.join(root, 'model'), trainDataDir: path.join(root, 'data'), outputDir: path.join(root, 'unused') };
      const fromArgs = argsToRunPlan(resolveArgs({ model: 'm', data: 'd.jsonl', rope_scaling: rope, rope_scaling_factor: factor, method: 'full' }), paths);
      assert.ok(fromArgs.rope_scaling, 'argsToRunPlan writes rope_scaling');
      const overridden = await losses(`${rope}-plan`, { rope_scaling: fromArgs.rope_scaling });
      // The same object in a copy of the model's config.json.
      const copy = path.join(root, `model-${rope}`);
      fs.cpSync(path.join(root, 'model'), copy, { recursive: true });
      const config = JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify({ ...config, rope_scaling: fromArgs.rope_scaling }));
      const inConfig = await losses(`${rope}-config`, { model_dir: copy });
      const plain = await losses(`${rope}-none`, {});
      assert.deepEqual(overridden, inConfig);
      assert.notEqual(overridden[0], plain[0], `${rope} should change the loss`);
      const saved = JSON.parse(fs.readFileSync(path.join(root, `out-${rope}-plan`, 'model', 'config.json'), 'utf8')) as { rope_scaling?: unknown };
      assert.deepEqual(saved.rope_scaling, fromArgs.rope_scaling);
    });
  }
});
