// A full fine-tune in the playground: tuner-train writes every full checkpoint and the final
// model as a complete Hugging Face folder (weights, config and the base's tokenizer files), so
// the picker lists them as loadable and the inference worker loads and answers from them.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import type { PlaygroundController } from '../../src/core/playground/controller';
import type { ModelChoice } from '../../webview/protocol';
import { controllerFor, GREEDY, RecordingHost, trainTinyRun } from './playground-fixtures';
import { tempDir } from './trainer-fixtures';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];

let ws: string;
let runId: string;
let host: RecordingHost;
let pg: PlaygroundController;
let models: ModelChoice[];

before(async () => {
  ws = tempDir('playground-full');
  // The base carries a generation_config.json too, as Hugging Face models do.
  const base = path.join(ws, 'tiny', 'model');
  fs.mkdirSync(base, { recursive: true });
  fs.writeFileSync(path.join(base, 'generation_config.json'), JSON.stringify({ do_sample: false, max_new_tokens: 7 }) + '\n');
  runId = await trainTinyRun(ws, 4, { method: 'full', learning_rate: 0.002, lora_rank: undefined, lora_dropout: undefined });
  host = new RecordingHost(ws);
  pg = controllerFor(host);
  await pg.handle({ v: 1, type: 'ready' });
  models = host.of('init')[0].models.filter((m) => m.runId === runId);
});

after(async () => {
  await pg?.dispose();
});

test('full checkpoints and the final model are complete Hugging Face folders, listed as loadable', () => {
  const runDir = path.join(ws, 'runs', runId);
  for (const dir of [path.join(runDir, 'model'), path.join(runDir, 'checkpoints', 'step-00000002'), path.join(runDir, 'checkpoints', 'step-00000004')]) {
    for (const f of ['config.json', 'model.safetensors', ...TOKENIZER_FILES]) assert.ok(fs.existsSync(path.join(dir, f)), `${f} in ${dir}`);
    assert.equal(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(ws, 'tiny', 'model', 'tokenizer.json'), 'utf8'));
  }
  assert.deepEqual(models.map((m) => m.label), ['final model', 'checkpoint step 4', 'checkpoint step 2']);
  for (const m of models) assert.equal(m.problem, undefined, `${m.label}: ${JSON.stringify(m.problem)}`);
  assert.ok(models.every((m) => !m.adapter), 'whole models, no adapters');
});

test('a full checkpoint loads in the inference worker and answers', async () => {
  const ckpt = models.find((m) => m.label === 'checkpoint step 2')!;
  await pg.handle({ v: 1, type: 'load', side: 0, modelId: ckpt.id, quant: 'f32', force: false });
  const status = pg.sides[0].status;
  assert.equal(status.phase, 'ready', JSON.stringify(status));
  assert.equal(status.loaded!.contextLength, 64);
  const from = host.posted.length;
  await pg.handle({ v: 1, type: 'generate', genId: 'g1', requests: [{ side: 0, prompt: { type: 'chat', messages: [{ role: 'user', content: 'capital of france' }] } }], sampling: GREEDY, history: { mode: 'chat', text: 'q', at: 1 } });
  assert.deepEqual(host.of('genError', from), []);
  const done = host.of('done', from).find((d) => d.genId === 'g1' && d.side === 0);
  assert.ok(done && done.stats.generatedTokens > 0, JSON.stringify(host.posted.slice(from).slice(-3)));
});
