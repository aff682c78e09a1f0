// The playground's model catalog over a real workspace layout: runs with adapters and checkpoints
// (newest first, step and losses from events.jsonl), merged folders and GGUF exports, workspace
// models; problems (a deleted base, a broken folder) carried on the entry. Also the memory
// estimate and where merges and exports are written.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { readModelSpec } from '../../../src/core/model/spec';
import { buildCatalog, type CatalogEntry } from '../../../src/core/playground/catalog';
import { ExportError, freshPath, planExport } from '../../../src/core/playground/export-job';
import { estimateLoad, memoryWarning } from '../../../src/core/playground/memory';
import { writeTinyModel } from '../../native/tiny-model';
import { writeTokenizer } from '../run/tiny-run';

let ws: string;
const RUN = '20260101-120000';
const OLD_RUN = '20251231-090000';

function writeRun(id: string, baseDir: string, steps: number[], withFinal: boolean): string {
  const dir = path.join(ws, 'runs', id);
  fs.mkdirSync(path.join(dir, 'checkpoints'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ version: 1, id, argsFile: path.join(ws, 'ARGS.json'), created: '2026-01-01T12:00:00Z' }));
  fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ model_dir: baseDir, method: 'lora', output_dir: dir }));
  const events: object[] = [];
  for (let s = 1; s <= Math.max(...steps); s++) events.push({ version: 1, type: 'step', step: s, epoch: 0, loss: 3 - s / 10, lr: 0.01, grad_norm: 1, tokens: 64, tokens_per_s: 1000, ms: 10, peak_memory_bytes: 1 });
  events.push({ version: 1, type: 'eval', step: 4, loss: 2.5, tokens: 100 });
  events.push({ version: 1, type: 'eval', step: 8, loss: 2.25, tokens: 100 });
  if (withFinal) events.push({ version: 1, type: 'done', step: Math.max(...steps), reason: 'completed', outputs: { adapter: path.join(dir, 'adapter') } });
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  const adapter = (d: string) => {
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 4, lora_alpha: 8, target_modules: ['q_proj'] }));
    fs.writeFileSync(path.join(d, 'adapter_model.safetensors'), '');
  };
  for (const s of steps) adapter(path.join(dir, 'checkpoints', `step-${String(s).padStart(8, '0')}`));
  if (withFinal) adapter(path.join(dir, 'adapter'));
  return dir;
}

before(() => {
  ws = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-catalog-'));
  const base = writeTinyModel(path.join(ws, 'models', 'tiny'), { vocab: 20 });
  writeTokenizer(base);
  writeRun(RUN, base, [4, 8, 10], true);
  writeRun(OLD_RUN, path.join(ws, 'models', 'gone'), [2], false);
  const exports = path.join(ws, 'runs', RUN, 'exports');
  const merged = writeTinyModel(path.join(exports, 'merged-final'), { vocab: 20 });
  writeTokenizer(merged);
  fs.writeFileSync(path.join(exports, 'final-q4_0.gguf'), 'GGUF....');
  fs.mkdirSync(path.join(ws, 'broken'));
  fs.writeFileSync(path.join(ws, 'broken', 'config.json'), '{}');
});

after(() => fs.rmSync(ws, { recursive: true, force: true }));

const byLabel = (entries: CatalogEntry[], group: string) => entries.filter((e) => e.group === group).map((e) => e.label);

test('runs come newest first; in a run the final adapter, then checkpoints newest step first, with step and losses', () => {
  const c = buildCatalog({ workspaceDir: ws, cacheDir: path.join(ws, 'no-cache') });
  const groups = [...new Set(c.entries.map((e) => e.group))];
  assert.deepEqual(groups.slice(0, 2), [`Run ${RUN}`, `Run ${OLD_RUN}`]);
  assert.deepEqual(byLabel(c.entries, `Run ${RUN}`), ['final adapter', 'checkpoint step 10', 'checkpoint step 8', 'checkpoint step 4', 'merged: merged-final']);
  const step8 = c.entries.find((e) => e.label === 'checkpoint step 8')!;
  assert.equal(step8.description, 'step 8 · loss 2.200 · eval loss 2.250');
  assert.equal(step8.evalLoss, 2.25);
  assert.equal(c.entries.find((e) => e.label === 'checkpoint step 10')!.evalLoss, 2.25, 'the last eval at or before the step');
  assert.equal(step8.modelDir, path.join(ws, 'models', 'tiny'));
  assert.equal(step8.adapterDir, path.join(ws, 'runs', RUN, 'checkpoints', 'step-00000008'));
  assert.equal(step8.baseId, `model:${path.join(ws, 'models', 'tiny')}`, 'base vs tuned knows the base');
  assert.equal(step8.problem, undefined);
  assert.deepEqual(c.exports.map((x) => [x.kind, path.basename(x.path)]).sort(), [['gguf', 'final-q4_0.gguf'], ['merged', 'merged-final']]);
});

test('an adapter whose base is gone, and a folder without weights, carry their problem', () => {
  const c = buildCatalog({ workspaceDir: ws, cacheDir: path.join(ws, 'no-cache') });
  const orphan = c.entries.find((e) => e.runId === OLD_RUN)!;
  assert.match(orphan.problem!.message, /base model of this adapter, .*models\/gone, is missing/);
  assert.match(orphan.problem!.hint, /model_dir/);
  const broken = c.entries.find((e) => e.label === 'broken');
  assert.equal(broken, undefined, 'a config.json that does not parse is not a model the planner lists');
  const models = c.entries.filter((e) => e.group === 'Workspace models').map((e) => e.label);
  assert.deepEqual(models, ['models/tiny']);
});

test('without a workspace or any model the catalog is empty, not an error', () => {
  const c = buildCatalog({ cacheDir: path.join(ws, 'no-cache') });
  assert.deepEqual(c, { entries: [], exports: [], problems: [] });
});

test('memory estimate: quantized formats need less, a model larger than free memory is a warning with numbers', () => {
  const spec = readModelSpec(path.join(ws, 'models', 'tiny'));
  const f32 = estimateLoad(spec, 'f32', 64);
  const q4 = estimateLoad(spec, 'q4_0', 64);
  assert.ok(q4.weightBytes < f32.weightBytes, `${q4.weightBytes} < ${f32.weightBytes}`);
  assert.equal(f32.kvCacheBytes, spec.numLayers * 2 * 64 * spec.numKvHeads * spec.headDim * 4);
  assert.equal(memoryWarning(f32, 16 * 1024 ** 3, 'f32'), undefined);
  const big = { ...spec, hiddenSize: 4096, intermediateSize: 14336, numLayers: 32, numHeads: 32, numKvHeads: 8, headDim: 128, vocabSize: 128256 };
  const w = memoryWarning(estimateLoad(big, 'f32', 4096), 8 * 1024 ** 3, 'f32');
  assert.match(w!, /needs about 3\d(\.\d)? GiB in f32 .* only 8 GiB of memory is available\. Choose int4 \(q4_0\) or nf4/);
});

test('merges and exports go under their run, never over an existing file, never outside the workspace', () => {
  const c = buildCatalog({ workspaceDir: ws, cacheDir: path.join(ws, 'no-cache') });
  const final = c.entries.find((e) => e.label === 'final adapter')!;
  const exports = path.join(ws, 'runs', RUN, 'exports');
  const merge = planExport(final, 'merge', 'f16', ws);
  assert.equal(merge.out, path.join(exports, 'merged-final-2'), 'merged-final exists: a fresh name');
  assert.deepEqual(merge.steps[0].args, ['merge', '--base', final.modelDir, '--adapter', final.adapterDir, '--out', merge.out]);
  const gguf = planExport(final, 'gguf', 'q4_0', ws);
  assert.equal(gguf.out, path.join(exports, 'final-q4_0-2.gguf'));
  const step4 = c.entries.find((e) => e.label === 'checkpoint step 4')!;
  const ollama = planExport(step4, 'ollama', 'q8_0', ws);
  assert.equal(ollama.out, path.join(exports, 'ollama-step-4-q8_0'));
  assert.equal(ollama.ollama?.name, `tuner-${RUN}-step-4`);
  assert.deepEqual(ollama.steps[0].args.slice(-4), ['--type', 'q8_0', '--out', path.join(ollama.out, 'model-q8_0.gguf')]);
  const base = c.entries.find((e) => e.label === 'models/tiny')!;
  assert.equal(planExport(base, 'gguf', 'f16', ws).out, path.join(ws, 'exports', 'tiny-f16.gguf'));
  assert.throws(() => planExport(base, 'merge', 'f16', ws), (e: ExportError) => /nothing to merge/.test(e.message));
  assert.throws(() => planExport(base, 'gguf', 'f16', undefined), (e: ExportError) => /open a folder/.test(e.hint));
  const orphan = c.entries.find((e) => e.runId === OLD_RUN)!;
  assert.throws(() => planExport(orphan, 'gguf', 'f16', ws), /is missing/);
  assert.equal(freshPath(path.join(ws, 'nothing-here')), path.join(ws, 'nothing-here'));
});
