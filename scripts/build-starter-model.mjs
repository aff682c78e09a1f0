// Builds models/starter/, the small model Tuner ships so that `npm start` has something to tune
// offline: a Llama-architecture model pretrained from scratch by Tuner's own trainer on short
// English text made from WordNet (Debian's wordnet-base). Seeded end to end: the corpus
// shuffle, the tokenizer (deterministic BPE), the initial weights and the trainer's data order.
//
//   node scripts/build-starter-model.mjs [--steps N] [--threads N] [--out DIR] [--work DIR]
//   node scripts/build-starter-model.mjs --finish-only    (folder + README again from --work)
//
// Needs `npm run build` (out/ and build/native) and wordnet-base (installed through
// test/ensure-debian-packages.sh). Takes ~30-40 minutes on 2 cores. The run folder (events,
// checkpoints, log) stays under --work for inspection; models/starter/README.md gets the loss
// curve, the time and sample answers.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

import { buildCorpus, corpusText } from './starter/corpus.mjs';
import { writeStarterReadme } from './starter/readme.mjs';
import { trainTokenizer } from './starter/tokenizer.mjs';
import { initWeights, parameterCount, readSafetensorsF32, starterConfig, writeSafetensors } from './starter/weights.mjs';
import { readWordNet, WORDNET_DIR } from './starter/wordnet.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000' },
    threads: { type: 'string', default: '2' },
    out: { type: 'string', default: path.join(root, 'models', 'starter') },
    work: { type: 'string', default: path.join(root, 'build', 'starter-model') },
    'finish-only': { type: 'boolean', default: false },
  },
});

/** Everything that decides the model; README.md records it. */
export const RECIPE = {
  seed: 1234,
  minCount: 25,
  vocab: 2048,
  shape: { hidden: 192, layers: 6, heads: 6, kvHeads: 2, intermediate: 512, maxPositions: 512 },
  train: { max_length: 256, batch_size: 8, learning_rate: 0.002, warmup_steps: 60, weight_decay: 0.01, eval_split: 0.01, eval_interval: 100 },
};

const log = (s) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);
const t0 = Date.now();

const work = path.resolve(opt.work);
const infoFile = path.join(work, 'build-info.json');
if (!opt['finish-only']) await pretrain();
await finish(JSON.parse(fs.readFileSync(infoFile, 'utf8')));

async function pretrain() {
  execFileSync('bash', [path.join(root, 'test', 'ensure-debian-packages.sh'), 'wordnet-base'], { stdio: 'inherit' });
  fs.rmSync(work, { recursive: true, force: true });
  const initDir = path.join(work, 'init');
  fs.mkdirSync(initDir, { recursive: true });

  // 1. Corpus from WordNet.
  const entries = readWordNet({ dir: WORDNET_DIR, minCount: RECIPE.minCount });
  const records = buildCorpus(entries, { seed: RECIPE.seed });
  const corpusFile = path.join(work, 'corpus.jsonl');
  fs.writeFileSync(corpusFile, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  fs.writeFileSync(path.join(work, 'corpus.txt'), corpusText(records));
  log(`corpus: ${entries.length} words -> ${records.length} records (${fs.statSync(corpusFile).size} bytes)`);

  // 2. Tokenizer, 3. initial model.
  const tok = trainTokenizer(path.join(work, 'corpus.txt'), initDir, RECIPE.vocab);
  log(`tokenizer: byte-level BPE, ${tok.vocabSize} tokens (${tok.merges} merges)`);
  const config = starterConfig({ vocab: tok.vocabSize, ...RECIPE.shape });
  fs.writeFileSync(path.join(initDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  const generationConfig = { bos_token_id: 0, eos_token_id: [2, 0], pad_token_id: 0, do_sample: false, max_new_tokens: 64 };
  fs.writeFileSync(path.join(initDir, 'generation_config.json'), JSON.stringify(generationConfig, null, 2) + '\n');
  const init = initWeights(config, RECIPE.seed);
  writeSafetensors(path.join(initDir, 'model.safetensors'), init, 'F32');
  log(`model: ${parameterCount(init)} parameters, ${JSON.stringify(RECIPE.shape)}`);

  // 4. Pretraining through Tuner's own run pipeline (ARGS.json -> prepare -> tuner-train).
  const args = {
    model: './init',
    data: './corpus.jsonl',
    method: 'full',
    ...RECIPE.train,
    packing: true,
    train_on_responses_only: false,
    schedule: 'cosine',
    max_steps: Number(opt.steps),
    save_interval: 250,
    seed: RECIPE.seed,
    threads: Number(opt.threads),
  };
  const argsFile = path.join(work, 'ARGS.json');
  fs.writeFileSync(argsFile, JSON.stringify(args, null, 2) + '\n');
  const { RunManager } = await import(path.join(root, 'out', 'src', 'core', 'run', 'run-manager.js'));
  const { RunStore } = await import(path.join(root, 'out', 'src', 'core', 'run', 'run-store.js'));
  const manager = new RunManager(new RunStore(path.join(work, 'runs')), path.join(root, 'out', 'src', 'core', 'dataset', 'prepare-worker.js'));
  const tTrain = Date.now();
  const { session, prepared } = await manager.start(argsFile, { mode: 'free', onStage: (m) => log(`prepare: ${m}`) });
  log(`prepared: ${prepared.report.trainDocuments} train / ${prepared.report.evalDocuments} eval records, ${prepared.report.tokens} tokens; run ${session.record.dir}`);
  session.listen({
    onEvent: (e) => {
      if (e.type === 'step' && (e.step % 25 === 0 || e.step === 1)) log(`step ${e.step}/${args.max_steps} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} ${Math.round(e.tokens_per_s)} tok/s`);
      if (e.type === 'eval') log(`eval at step ${e.step}: loss ${e.loss.toFixed(4)}`);
      if (e.type === 'error') log(`error: ${e.code} ${e.message}`);
    },
  });
  const exit = await session.exited;
  if (exit.code !== 0 || exit.error) throw new Error(`tuner-train failed (code ${exit.code}): ${exit.error?.message ?? exit.stderrTail}`);
  const trainSeconds = (Date.now() - tTrain) / 1000;
  const info = { entries: entries.length, records: records.length, tokenizer: tok, args, runDir: session.record.dir, trainSeconds, buildSeconds: (Date.now() - t0) / 1000 };
  fs.writeFileSync(infoFile, JSON.stringify(info, null, 2) + '\n');
}

/** 5. The repository's folder from the finished run: f16 weights, tokenizer, configs, README. */
async function finish(info) {
  const initDir = path.join(work, 'init');
  const { parseEventLog } = await import(path.join(root, 'out', 'src', 'core', 'run', 'run-store.js'));
  const eventsFile = path.join(info.runDir, 'events.jsonl');
  const events = parseEventLog(fs.readFileSync(eventsFile, 'utf8'), eventsFile);
  const done = events.find((e) => e.type === 'done');
  if (!done?.outputs.model) throw new Error(`${eventsFile}: the run did not finish with a model`);
  const report = JSON.parse(fs.readFileSync(path.join(info.runDir, 'data', 'prep-report.json'), 'utf8'));
  const out = path.resolve(opt.out);
  fs.mkdirSync(out, { recursive: true });
  const trained = readSafetensorsF32(path.join(done.outputs.model, 'model.safetensors'));
  writeSafetensors(path.join(out, 'model.safetensors'), trained, 'F16');
  const config = JSON.parse(fs.readFileSync(path.join(initDir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify({ ...config, torch_dtype: 'float16' }, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) fs.copyFileSync(path.join(initDir, f), path.join(out, f));
  await writeStarterReadme({ root, out, recipe: RECIPE, args: info.args, events, report, entries: info.entries, records: info.records, tokenizer: info.tokenizer, params: parameterCount(trained), trainSeconds: info.trainSeconds, totalSeconds: info.buildSeconds });
  log(`wrote ${out} (${(fs.statSync(path.join(out, 'model.safetensors')).size / 1e6).toFixed(2)} MB weights)`);
}
