import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { applyTextEdits } from '../../../src/core/args/edits';
import { causalKeysPerRow, estimateMemory, estimateTime, sampleFlopsPerPoint, trainingFlopsPerToken } from '../../../src/core/args/estimate';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { PREFLIGHT_CODES, preflightProblems, type MachineInfo } from '../../../src/core/args/preflight';
import { validateArgsText } from '../../../src/core/args/validate';
import { parameterCount, parseModelSpec, type ModelSpec } from '../../../src/core/model/spec';
import { llama8bWorkspace } from './preflight-workspace';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const GiB = 1024 ** 3;

interface Row {
  name: string; params: number; method: Args['method']; lora_rank: number | null; lora_target_modules: string[] | null; batch_size: number; max_length: number; threads: number;
  quantization?: Args['quantization']; optimizer?: Args['optimizer']; gradient_checkpointing?: boolean; stage?: Args['stage'];
  model: { vocab: number; hidden: number; layers: number; heads: number; kvHeads: number; intermediate: number; arch?: string };
  dataset_tokens: number; dataset_documents: number; weight_file_bytes: number; estimate_bytes: number; measured_bytes: number;
}

/** The config.json test/native/reference/make_tiny_model.py writes for these shapes. */
function specOf(m: Row['model']): ModelSpec {
  const qwen = m.arch === 'qwen2';
  return parseModelSpec({
    architectures: [qwen ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'], model_type: qwen ? 'qwen2' : 'llama', vocab_size: m.vocab, hidden_size: m.hidden,
    intermediate_size: m.intermediate, num_hidden_layers: m.layers, num_attention_heads: m.heads, num_key_value_heads: m.kvHeads, tie_word_embeddings: false, torch_dtype: 'float32',
  });
}

const calibration = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'estimator-calibration.json'), 'utf8')) as { rows: Row[] };

describe('memory estimate vs tuner-train measured peak (scripts/calibrate-estimator.mjs)', () => {
  it('covers full, LoRA, QLoRA (nf4, int8), LOMO, Lion, SGD and checkpointing, several batch shapes', () => {
    assert.ok(calibration.rows.length >= 8);
    for (const m of ['full', 'lora', 'qlora', 'lomo'] as const) assert.ok(calibration.rows.some((r) => r.method === m), m);
    for (const q of ['nf4', 'int8'] as const) assert.ok(calibration.rows.some((r) => r.quantization === q), q);
    for (const o of ['lion', 'sgd'] as const) assert.ok(calibration.rows.some((r) => r.optimizer === o && r.method === 'full'), o);
    assert.ok(calibration.rows.some((r) => r.gradient_checkpointing && r.method === 'full') && calibration.rows.some((r) => r.gradient_checkpointing && r.method === 'lora'));
    assert.ok(new Set(calibration.rows.map((r) => `${r.batch_size}x${r.max_length}`)).size >= 5);
    for (const m of ['lora', 'full'] as const) assert.ok(calibration.rows.some((r) => r.stage === 'dpo' && r.method === m), `dpo ${m}`);
  });
  for (const r of calibration.rows) {
    it(`${r.name}: estimate within ±15% of the measured ${(r.measured_bytes / 2 ** 20).toFixed(1)} MiB`, () => {
      const spec = specOf(r.model);
      assert.equal(parameterCount(spec), r.params);
      const args = resolveArgs({ model: 'm', data: 'd', method: r.method, lora_rank: r.lora_rank ?? 8, lora_target_modules: (r.lora_target_modules ?? ['q_proj']) as Args['lora_target_modules'], batch_size: r.batch_size, max_length: r.max_length, threads: r.threads,
        quantization: r.quantization ?? 'none', optimizer: r.optimizer ?? 'adamw', momentum: 0.9, gradient_checkpointing: r.gradient_checkpointing ?? false, stage: r.stage ?? 'sft' });
      const est = estimateMemory(spec, args, { threads: r.threads, weightFileBytes: r.weight_file_bytes, datasetTokens: r.dataset_tokens, datasetDocuments: r.dataset_documents });
      const ratio = est.total / r.measured_bytes;
      assert.ok(Math.abs(ratio - 1) <= 0.15, `estimate ${est.total} vs measured ${r.measured_bytes}: ratio ${ratio.toFixed(3)}`);
    });
  }
});

const LLAMA_8B = parseModelSpec({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336,
  num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, torch_dtype: 'bfloat16', tie_word_embeddings: false,
});

describe('estimate terms', () => {
  it('counts Llama 3 8B at 8.03 B parameters', () => {
    assert.equal(parameterCount(LLAMA_8B), 8_030_261_248);
  });
  it('LoRA needs far less than full; QLoRA less than LoRA; checkpointing cuts activations', () => {
    const base = { model: 'm', data: 'd', batch_size: 1, max_length: 512 } as const;
    const e = (a: Partial<Args>) => estimateMemory(LLAMA_8B, resolveArgs({ ...base, ...a }), { threads: 8 }).total;
    const full = e({ method: 'full' }), lora = e({ method: 'lora' }), qlora = e({ method: 'qlora', quantization: 'nf4' });
    assert.ok(full > 4 * 4 * 8e9 * 0.95, `full ${full / GiB}`); // weights + grads + 2 Adam states, fp32
    assert.ok(lora < full / 2.5 && qlora < lora / 3, `${full / GiB} ${lora / GiB} ${qlora / GiB}`);
    const acts = (a: Partial<Args>) => estimateMemory(LLAMA_8B, resolveArgs({ ...base, ...a }), { threads: 8 }).parts.find((p) => p.name === 'activations')!.bytes;
    assert.ok(acts({ method: 'lora', gradient_checkpointing: true }) < acts({ method: 'lora' }) / 4);
  });
  it('time per epoch follows FLOPs per token / throughput', () => {
    const a = resolveArgs({ model: 'm', data: 'd', method: 'full', max_length: 512 });
    const f = trainingFlopsPerToken(LLAMA_8B, a);
    assert.ok(f > 6 * 7e9 && f < 6 * 8.1e9, String(f)); // ≈ 6 × parameters for full tuning
    const t = estimateTime(LLAMA_8B, a, { documents: 1000 }, { flopsPerSecond: 1e12, source: 'test' });
    assert.equal(t.secondsPerEpoch, (f * 1000 * 512) / 1e12);
    assert.equal(t.stepsPerEpoch, 250);
    assert.equal(t.sampleSecondsPerEpoch, 0);
  });
  it('samples add one forward of every prompt over the whole width per new token, at each interval', () => {
    const base = { model: 'm', data: 'd', method: 'lora', max_length: 512, batch_size: 4 } as const;
    const plain = estimateTime(LLAMA_8B, resolveArgs(base), { documents: 1000 }, { flopsPerSecond: 1e12, source: 'test' });
    const prompts = ['What is the capital of France?', 'Name three primes.'];
    const a = resolveArgs({ ...base, sample_prompts: prompts, sample_interval: 25, sample_max_new_tokens: 32 });
    const t = estimateTime(LLAMA_8B, a, { documents: 1000 }, { flopsPerSecond: 1e12, source: 'test' });
    const point = sampleFlopsPerPoint(LLAMA_8B, a);
    const width = Math.ceil(prompts[0].length / 4) + 8 + 32;
    assert.ok(point > 32 * 2 * width * 2 * 6.5e9 && point < 32 * 2 * width * 2 * 8.1e9, String(point));
    assert.equal(t.sampleSecondsPerEpoch, ((250 / 25) * point) / 1e12);
    assert.equal(t.secondsPerEpoch, plain.secondsPerEpoch + t.sampleSecondsPerEpoch);
    assert.ok(t.sampleSecondsPerEpoch < plain.secondsPerEpoch / 20, 'two prompts every 25 steps cost a few percent of training');
    assert.equal(sampleFlopsPerPoint(LLAMA_8B, resolveArgs({ ...base, sample_prompts: prompts })), 0, 'no interval, no samples');
  });
  it('reads sliding windows as transformers does and counts only the keys a window keeps', () => {
    const cfg = { vocab_size: 1000, hidden_size: 256, intermediate_size: 512, num_hidden_layers: 4, num_attention_heads: 4, torch_dtype: 'float32' };
    const mistral = (extra: Record<string, unknown>) => parseModelSpec({ ...cfg, architectures: ['MistralForCausalLM'], ...extra });
    const qwen2 = (extra: Record<string, unknown>) => parseModelSpec({ ...cfg, architectures: ['Qwen2ForCausalLM'], ...extra });
    const w = (s: ModelSpec) => [s.slidingWindow, s.slidingLayers];
    assert.deepEqual(w(mistral({})), [4096, 4]); // MistralConfig's default
    assert.deepEqual(w(mistral({ sliding_window: null })), [0, 0]);
    assert.deepEqual(w(mistral({ sliding_window: 128 })), [128, 4]);
    assert.deepEqual(w(qwen2({ sliding_window: 128 })), [0, 0]); // use_sliding_window defaults to false
    assert.deepEqual(w(qwen2({ sliding_window: 128, use_sliding_window: true })), [128, 0]); // max_window_layers 28 > 4
    assert.deepEqual(w(qwen2({ sliding_window: 128, use_sliding_window: true, max_window_layers: 1 })), [128, 3]);
    const types = ['full_attention', 'sliding_attention', 'full_attention', 'sliding_attention'];
    assert.deepEqual(w(qwen2({ sliding_window: 128, use_sliding_window: true, layer_types: types })), [128, 2]);
    assert.deepEqual(w(parseModelSpec({ ...cfg, architectures: ['LlamaForCausalLM'], sliding_window: 128 })), [0, 0]);

    const a = resolveArgs({ model: 'm', data: 'd', method: 'full', max_length: 1024 });
    const attention = (s: ModelSpec) => trainingFlopsPerToken(s, a) - trainingFlopsPerToken(mistral({ sliding_window: 1 }), a);
    // Per layer, forward + backward: 7 products of 2 x keys x heads x head_dim; the engine's
    // causal blocks of 64 rows meet (T + 64) / 2 keys on average, a window of 1 keeps 64 + 1 - 1.
    const perKey = 7 * 2 * 4 * 64;
    assert.equal(causalKeysPerRow(1024), (1024 + 64) / 2);
    assert.equal(causalKeysPerRow(1024, 1), 64);
    assert.equal(causalKeysPerRow(1024, 256), (4 * 64 * (64 * 2.5) + 12 * 64 * (64 + 255)) / 1024);
    assert.equal(attention(mistral({ sliding_window: null })), 4 * (544 - 64) * perKey);
    assert.equal(attention(mistral({ sliding_window: 256 })), 4 * (causalKeysPerRow(1024, 256) - 64) * perKey);
    assert.equal(attention(mistral({ sliding_window: 4096 })), 4 * (544 - 64) * perKey); // window >= T: no change
    const saved = trainingFlopsPerToken(qwen2({}), a) - trainingFlopsPerToken(qwen2({ sliding_window: 256, use_sliding_window: true, max_window_layers: 1 }), a);
    assert.equal(saved, 3 * (544 - causalKeysPerRow(1024, 256)) * perKey); // layers 1-3 windowed, layer 0 full
  });
});

describe('pre-flight diagnostics on ARGS.json', () => {
  const { root, argsFile } = llama8bWorkspace('tuner-preflight-');
  const machine: MachineInfo = { freeMemoryBytes: 64 * GiB, totalMemoryBytes: 96 * GiB, cores: 8, throughput: { flopsPerSecond: 2e11, source: 'measured in a test' } };

  it('says how much a run needs and offers the change that fits', () => {
    const text = '{\n  "model": "./llama8b",\n  "data": "./train.jsonl",\n  "method": "full",\n  "batch_size": 2\n}\n';
    const check = validateArgsText(text);
    const { problems } = preflightProblems(check, argsFile, machine);
    const p = problems.find((x) => x.code === PREFLIGHT_CODES.doesNotFit);
    assert.ok(p, JSON.stringify(problems));
    assert.match(p.message, /^needs ~[\d.]+ GiB, this machine has 64 GiB free: method "lora" needs ~[\d.]+ GiB/);
    const fixed = applyTextEdits(text, p.fixes![0].edits);
    assert.match(fixed, /"method": "lora"/);
    const after = preflightProblems(validateArgsText(fixed), argsFile, machine).problems;
    assert.deepEqual(after.map((x) => x.code), [PREFLIGHT_CODES.estimate]);
    // 3 epochs (the default) of 50 steps: the whole run, not one epoch.
    assert.match(after[0].message, /for 150 steps \(3 epochs; 100 records by record count; speed measured in a test\)/);
  });

  it('packed records are timed as the max_length rows they fill (prep report, else the file size), their attention per record', () => {
    const text = '{"model": "./llama8b", "data": "./train.jsonl", "method": "lora", "batch_size": 1, "max_length": 512, "packing": true, "output_dir": "./packed-out"}';
    // Not prepared: 100 lines of about 31 bytes, about 4 characters a token: 2 rows of 512.
    const bySize = preflightProblems(validateArgsText(text), argsFile, machine);
    assert.equal(bySize.preflight!.documents, Math.ceil((fs.statSync(path.join(root, 'train.jsonl')).size / 4) / 512));
    assert.match(bySize.problems.find((x) => x.code === PREFLIGHT_CODES.estimate)!.message, /for 6 steps \(3 epochs; 2 packed sequences by record count and file size, about 4 characters a token; speed measured in a test\)/);
    // Prepared: the report's packed rows, and each record's own causal attention (30 tokens, not 512).
    fs.mkdirSync(path.join(root, 'packed-out', 'data'), { recursive: true });
    fs.writeFileSync(path.join(root, 'packed-out', 'data', 'prep-report.json'), JSON.stringify({ dataFile: path.join(root, 'train.jsonl'), trainDocuments: 100, tokens: 3000, meanTokens: 30, packedSequences: 7 }));
    const prepared = preflightProblems(validateArgsText(text), argsFile, machine);
    assert.match(prepared.problems.find((x) => x.code === PREFLIGHT_CODES.estimate)!.message, /for 21 steps \(3 epochs; 7 packed sequences by prep report;/);
    const spec = prepared.preflight!.spec;
    const a = resolveArgs(JSON.parse(text) as Args);
    assert.equal(prepared.preflight!.time!.flopsPerToken, trainingFlopsPerToken(spec, { ...a, packing: false, max_length: 30 }));
    assert.ok(prepared.preflight!.time!.flopsPerToken < trainingFlopsPerToken(spec, a));
    // Unpacked, the same data is 100 rows of 512.
    const unpacked = preflightProblems(validateArgsText(text.replace('"packing": true', '"packing": false')), argsFile, machine);
    assert.equal(unpacked.preflight!.documents, 100);
    assert.equal(unpacked.preflight!.time!.flopsPerToken, trainingFlopsPerToken(spec, a));
  });

  it('the time is for max_steps when set, not per epoch', () => {
    const text = '{"model": "./llama8b", "data": "./train.jsonl", "method": "lora", "batch_size": 2, "max_steps": 20000}';
    const { problems, preflight } = preflightProblems(validateArgsText(text), argsFile, machine);
    assert.deepEqual(preflight!.run && { steps: preflight!.run.steps, basis: preflight!.run.basis }, { steps: 20000, basis: 'max_steps' });
    assert.ok(Math.abs(preflight!.run!.seconds - (preflight!.time!.secondsPerEpoch / 50) * 20000) < 1e-6 * preflight!.run!.seconds);
    assert.match(problems.find((x) => x.code === PREFLIGHT_CODES.estimate)!.message, /for 20000 steps \(max_steps;/);
  });

  it('adds keys that are absent when a fix needs them', () => {
    // batch_size (default 4) and gradient_accumulation are absent; the run needs more than the 64 GiB free.
    const text = '{"model": "./llama8b", "data": "./train.jsonl", "max_length": 1280}';
    const p = preflightProblems(validateArgsText(text), argsFile, machine).problems.find((x) => x.code === PREFLIGHT_CODES.doesNotFit)!;
    assert.ok(p, 'expected a does-not-fit diagnostic');
    // The engine runs a 4-bit base on the CPU too, so it is offered without a GPU.
    assert.deepEqual(p.fixes!.map((f) => f.title.replace(/~[\d.]+ GiB/, '~N GiB')), ['Use half the batch, twice the accumulation (~N GiB)', 'Use batch_size 1 (~N GiB)', 'Use gradient_checkpointing (~N GiB)', 'Use half the max_length (~N GiB)', 'Use method "qlora" (4-bit base) (~N GiB)']);
    // On a 48 GiB GPU the GPU's memory decides, and the same changes are offered, sized for it.
    const withGpu = preflightProblems(validateArgsText(text), argsFile, { ...machine, cudaGpus: 1, gpuMemoryBytes: 48 * GiB }).problems.find((x) => x.code === PREFLIGHT_CODES.doesNotFit)!;
    assert.match(withGpu.message, /^needs ~[\d.]+ GiB of GPU memory, the GPU has 48 GiB: /);
    assert.equal(withGpu.fixes!.at(-1)!.title.replace(/~[\d.]+ GiB/, '~N GiB'), 'Use method "qlora" (4-bit base) (~N GiB)');
    const fixed = applyTextEdits(text, p.fixes![1].edits);
    assert.deepEqual(JSON.parse(fixed), { model: './llama8b', batch_size: 1, gradient_accumulation: 4, data: './train.jsonl', max_length: 1280 });
    for (const f of p.fixes!) assert.deepEqual(validateArgsText(applyTextEdits(text, f.edits)).problems.filter((x) => x.severity === 'error'), [], f.title);
  });

  it('a model that is not found is one diagnostic on "model"', () => {
    const check = validateArgsText('{"model": "./nowhere", "data": "./train.jsonl"}');
    const { problems } = preflightProblems(check, argsFile, machine);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].code, PREFLIGHT_CODES.model);
    assert.match(problems[0].message, /model "\.\/nowhere" not found/);
    assert.deepEqual(problems[0].range, check.locations.get('model')!.value);
  });
});
