// Measures tuner-train's peak memory on CPU for a spread of model sizes and run settings and
// compares it with the pre-flight estimate (src/core/args/estimate.ts). Writes the table to
// test/fixtures/estimator-calibration.json, which test/unit/args/estimate.test.ts checks row by
// row (every estimate within ±15% of the measurement).
//
//   npm run build:ts && node scripts/calibrate-estimator.mjs [--trainer build/native/tuner-train] [--only NAME]
//
// Needs a built tuner-train; the models come from the tests' tiny-model writer (test/native/tiny-model.ts).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { estimateMemory } = require(path.join(ROOT, 'out/src/core/args/estimate.js'));
const { resolveArgs } = require(path.join(ROOT, 'out/src/core/args/fields.js'));
const { readModelSpec, parameterCount } = require(path.join(ROOT, 'out/src/core/model/spec.js'));
const { writeShards } = require(path.join(ROOT, 'out/src/core/engine/shards.js'));
const { writeTinyModel } = require(path.join(ROOT, 'out/test/native/tiny-model.js'));

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const TRAINER = path.resolve(ROOT, opt('--trainer', process.env.TUNER_TRAIN ?? 'build/native/tuner-train'));
const ONLY = opt('--only', undefined);
const THREADS = 2;
const STEPS = 3;

const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

// name, model shape, run settings. Sizes span ~20k to ~30M parameters.
const CONFIGS = [
  { name: 'tiny-full', model: { vocab: 256, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 }, method: 'full', B: 2, T: 32 },
  { name: 'tiny-lora', model: { vocab: 256, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128 }, method: 'lora', rank: 4, B: 4, T: 64 },
  { name: 'small-full', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'full', B: 4, T: 64 },
  { name: 'small-lora-all', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'lora', rank: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], B: 8, T: 128 },
  { name: 'qwen2-lora', model: { vocab: 4096, hidden: 256, layers: 4, heads: 4, kvHeads: 2, intermediate: 704, arch: 'qwen2' }, method: 'lora', rank: 8, B: 4, T: 128 },
  { name: 'long-context-lora', model: { vocab: 1024, hidden: 128, layers: 2, heads: 4, kvHeads: 4, intermediate: 352 }, method: 'lora', rank: 8, B: 1, T: 1024 },
  { name: 'big-vocab-lora', model: { vocab: 32000, hidden: 128, layers: 2, heads: 4, kvHeads: 2, intermediate: 352 }, method: 'lora', rank: 8, B: 8, T: 128 },
  { name: 'medium-lora', model: { vocab: 8000, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376 }, method: 'lora', rank: 8, B: 2, T: 256 },
  { name: 'medium-full', model: { vocab: 8000, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376 }, method: 'full', B: 2, T: 128 },
  // Quantized bases (688 and 1376 are not multiples of 64: nf4 keeps down_proj in fp32), LOMO,
  // Lion, SGD with momentum, activation checkpointing.
  { name: 'small-qlora-nf4', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'qlora', quantization: 'nf4', rank: 16, targets: ALL, B: 8, T: 128 },
  { name: 'small-qlora-int8', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'qlora', quantization: 'int8', rank: 16, targets: ALL, B: 8, T: 128 },
  { name: 'medium-qlora-nf4', model: { vocab: 8000, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376 }, method: 'qlora', quantization: 'nf4', rank: 8, B: 2, T: 256 },
  { name: 'small-lomo', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'lomo', optimizer: 'sgd', B: 4, T: 64 },
  { name: 'medium-lomo', model: { vocab: 8000, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376 }, method: 'lomo', optimizer: 'sgd', B: 2, T: 128 },
  { name: 'small-full-lion', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'full', optimizer: 'lion', B: 4, T: 64 },
  { name: 'small-full-sgd', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'full', optimizer: 'sgd', B: 4, T: 64 },
  { name: 'small-lora-ckpt', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'lora', rank: 16, targets: ALL, ckpt: true, B: 8, T: 128 },
  { name: 'medium-full-ckpt', model: { vocab: 8000, hidden: 512, layers: 8, heads: 8, kvHeads: 4, intermediate: 1376 }, method: 'full', ckpt: true, B: 2, T: 128 },
  // DPO: B pairs are 2B sequences per micro-batch (a full tune also keeps reference log-probs).
  { name: 'small-lora-dpo', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'lora', rank: 8, stage: 'dpo', B: 4, T: 128 },
  { name: 'small-full-dpo', model: { vocab: 2048, hidden: 256, layers: 4, heads: 8, kvHeads: 4, intermediate: 688 }, method: 'full', stage: 'dpo', B: 2, T: 128 },
];

function makeModel(dir, m) {
  writeTinyModel(dir, { ...m, maxPos: 4096 });
}

function makeData(dir, vocab, docs, len, layout) {
  const out = [];
  for (let i = 0; i < docs; i++) {
    const tokens = [], mask = [];
    for (let j = 0; j < len; j++) {
      tokens.push((7 + i * 13 + j * 5) % vocab);
      mask.push(j < len / 4 ? 0 : 1);
    }
    out.push({ tokens, mask });
  }
  writeShards(dir, out, { vocabSize: vocab, ...(layout ? { layout } : {}) });
  return { documents: docs, tokens: docs * len };
}

function measure(planFile) {
  const r = spawnSync(TRAINER, ['--plan', planFile], { input: '', encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tuner-train failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const steps = events.filter((e) => e.type === 'step');
  if (steps.length === 0) throw new Error('no step events');
  return { peak: Math.max(...steps.map((s) => s.peak_memory_bytes)), tokensPerSecond: steps.map((s) => s.tokens_per_s) };
}

const rows = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-calib-'));
for (const c of CONFIGS) {
  if (ONLY && c.name !== ONLY) continue;
  const dir = path.join(work, c.name);
  fs.mkdirSync(dir, { recursive: true });
  makeModel(path.join(dir, 'model'), c.model);
  const dpo = c.stage === 'dpo';
  const docs = Math.max(c.B * 4, 16) * (dpo ? 2 : 1);
  const data = makeData(path.join(dir, 'data'), c.model.vocab, docs, c.T + 1, dpo ? 'preference-pairs' : undefined);
  const targets = c.targets ?? ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
  const plan = {
    version: 1, model_dir: path.join(dir, 'model'), data_dir: path.join(dir, 'data'), output_dir: path.join(dir, 'out'),
    method: c.method, optimizer: { lr: 1e-3 }, schedule: 'constant', max_steps: STEPS, batch_size: c.B, seq_len: c.T, grad_accum: 1, seed: 1, threads: THREADS, save_interval: 0,
  };
  const adapters = c.method === 'lora' || c.method === 'qlora';
  if (adapters) plan.lora = { rank: c.rank, alpha: 2 * c.rank, dropout: 0, target_modules: targets };
  if (c.method === 'qlora') plan.base_quant = c.quantization;
  const optimizer = c.optimizer ?? 'adamw';
  plan.optimizer.name = optimizer;
  if (optimizer === 'sgd' && c.method !== 'lomo') plan.optimizer.momentum = 0.9;
  if (c.ckpt) plan.gradient_checkpointing = true;
  if (dpo) plan.stage = 'dpo';
  fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify(plan, null, 2));
  const { peak } = measure(path.join(dir, 'plan.json'));
  const spec = readModelSpec(path.join(dir, 'model'));
  const args = resolveArgs({
    model: 'm', data: 'd', method: c.method, lora_rank: c.rank ?? 8, lora_target_modules: targets, batch_size: c.B, max_length: c.T, threads: THREADS,
    quantization: c.quantization ?? 'none', optimizer, momentum: 0.9, gradient_checkpointing: !!c.ckpt, stage: c.stage ?? 'sft',
  });
  const weightFileBytes = fs.readdirSync(path.join(dir, 'model')).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + fs.statSync(path.join(dir, 'model', f)).size, 0);
  const est = estimateMemory(spec, args, { threads: THREADS, weightFileBytes, datasetTokens: data.tokens, datasetDocuments: data.documents });
  const row = {
    name: c.name, params: parameterCount(spec), method: c.method, lora_rank: c.rank ?? null, lora_target_modules: adapters ? targets : null,
    quantization: c.quantization ?? 'none', optimizer, gradient_checkpointing: !!c.ckpt, ...(dpo ? { stage: 'dpo' } : {}),
    batch_size: c.B, max_length: c.T, threads: THREADS, model: c.model, dataset_tokens: data.tokens, dataset_documents: data.documents, weight_file_bytes: weightFileBytes,
    estimate_bytes: Math.round(est.total), measured_bytes: peak, ratio: Number((est.total / peak).toFixed(4)),
  };
  rows.push(row);
  if (ONLY) console.log(JSON.stringify(row, null, 2));
  console.log(`${c.name.padEnd(18)} params ${String(row.params).padStart(9)}  estimate ${(row.estimate_bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  measured ${(peak / 2 ** 20).toFixed(1).padStart(7)} MiB  ratio ${row.ratio.toFixed(3)}`);
}
fs.rmSync(work, { recursive: true, force: true });
if (!ONLY) {
  const out = path.join(ROOT, 'test/fixtures/estimator-calibration.json');
  fs.writeFileSync(out, JSON.stringify({ trainer: path.relative(ROOT, TRAINER), machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`, date: new Date().toISOString().slice(0, 10), rows }, null, 2) + '\n');
  console.log(`wrote ${path.relative(ROOT, out)}`);
}
