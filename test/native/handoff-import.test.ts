// Importing a cluster's result: an adapter tuner-train wrote, copied into a folder of its own as
// if it came back from a cluster (with the tokenizer files train.py saves beside it), imports as
// a run that the run store lists and the playground's catalog offers without a problem; the same
// adapter against a model of another shape is refused before anything is written.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { importTrained, isImportedRun } from '../../src/core/handoff/import';
import { HandoffError } from '../../src/core/handoff/settings';
import { buildCatalog } from '../../src/core/playground/catalog';
import { RunStore } from '../../src/core/run/run-store';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, tempDir, writePlan } from './trainer-fixtures';

const STARTER = path.resolve(__dirname, '..', '..', '..', 'models', 'starter');

describe('hand-off import', () => {
  let root: string, fromCluster: string;
  before(async () => {
    root = tempDir('handoff-import');
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 17, 2048), 2048);
    const plan = basePlan(root, { model_dir: STARTER, max_steps: 2, seq_len: 16, batch_size: 2 });
    const exit = await runTrainer({ planPath: writePlan(root, plan) });
    assert.equal(exit.code, 0, exit.stderrTail);
    fromCluster = path.join(root, 'cluster-output', 'adapter');
    fs.mkdirSync(fromCluster, { recursive: true });
    for (const f of fs.readdirSync(path.join(plan.output_dir, 'adapter'))) fs.copyFileSync(path.join(plan.output_dir, 'adapter', f), path.join(fromCluster, f));
    fs.copyFileSync(path.join(STARTER, 'tokenizer.json'), path.join(fromCluster, 'tokenizer.json'));
    fs.writeFileSync(path.join(fromCluster, 'trainer_state.json'), JSON.stringify({ global_step: 120 }));
  });

  function workspace(model: string): { ws: string; argsFile: string } {
    const ws = tempDir('handoff-ws');
    const argsFile = path.join(ws, 'ARGS.json');
    fs.writeFileSync(argsFile, JSON.stringify({ model, data: './train.jsonl', method: 'lora' }));
    return { ws, argsFile };
  }

  it('imports the adapter as a run the runs view lists and the playground loads', () => {
    const { ws, argsFile } = workspace(STARTER);
    const r = importTrained({ argsFile, from: fromCluster, workspaceDir: ws });
    assert.equal(r.kind, 'adapter');
    assert.ok(isImportedRun(r.run.dir));
    assert.deepEqual(fs.readFileSync(path.join(r.dir, 'adapter_model.safetensors')), fs.readFileSync(path.join(fromCluster, 'adapter_model.safetensors')));
    const { runs, problems } = RunStore.forWorkspace(ws).list();
    assert.deepEqual(problems, []);
    assert.equal(runs.length, 1);
    assert.equal(runs[0].meta.method, 'lora');
    assert.equal(runs[0].snapshot.status, 'done');
    const catalog = buildCatalog({ workspaceDir: ws, cacheDir: path.join(ws, 'no-cache') });
    const entry = catalog.entries.find((e) => e.runId === r.run.id);
    assert.ok(entry, JSON.stringify(catalog));
    assert.equal(entry.kind, 'adapter');
    assert.equal(entry.adapterDir, r.dir);
    assert.equal(entry.modelDir, STARTER);
    assert.equal(entry.step, 120);
    assert.equal(entry.problem, undefined);
  });

  it('refuses the adapter for a base model of another shape, writing no run', () => {
    const other = makeTinyModel(path.join(tempDir('handoff-other'), 'model'), { vocab: 96 });
    const { ws, argsFile } = workspace(other);
    assert.throws(() => importTrained({ argsFile, from: fromCluster, workspaceDir: ws }), (e: unknown) => e instanceof HandoffError && /needs \[\d+, \d+\] at rank 4/.test(e.message));
    assert.equal(fs.existsSync(path.join(ws, 'runs')), false);
  });
});
