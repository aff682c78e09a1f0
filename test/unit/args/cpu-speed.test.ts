// Where the CPU time estimate's speed comes from (core/args/cpu-speed.ts), with injected
// measurements and run folders: a finished run of the same model shape first, then the engine's
// sgemm timed here, then another shape's run, then a guess that says so; the measurement cached
// per machine key; and how the FLOPs are counted (causal attention, checkpointing's recompute).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { cachedCpuMeasurement, cpuSpeedKey, cpuThroughputFor, MEASUREMENT_MAX_AGE_MS, throughputFromMeasurement, type CpuGemmMeasurement } from '../../../src/core/args/cpu-speed';
import { estimateMarkdown } from '../../../src/core/args/estimate-markdown';
import { computePreflight } from '../../../src/core/args/preflight';
import { estimateTime, recomputeShare, runFlopsPerToken, trainingFlopsPerToken, type Throughput } from '../../../src/core/args/estimate';
import { resolveArgs } from '../../../src/core/args/fields';
import { parameterCount, parseModelSpec } from '../../../src/core/model/spec';
import { CONFIGS } from '../planner/models';

const QWEN = parseModelSpec(CONFIGS['qwen-0.5b']);
const LLAMA = parseModelSpec(CONFIGS['llama-3.1-8b']);
const MEASURED: CpuGemmMeasurement = { gflops: 212.4, threads: 2, kernel: 'avx512' };

/** A run folder as the run store writes it: plan.json, events.jsonl, and the model's config.json. */
function writeRun(runsDir: string, id: string, config: Record<string, unknown>, speeds: number[], finished = true, plan: Record<string, unknown> = {}): void {
  const dir = path.join(runsDir, id);
  fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'model', 'config.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ version: 1, model_dir: 'model', data_dir: 'data', method: 'lora', seq_len: 512, batch_size: 2, lora: { rank: 16, alpha: 32, dropout: 0, target_modules: ['q_proj', 'v_proj'] }, ...plan }));
  const events = speeds.map((s, i) => JSON.stringify({ version: 1, type: 'step', step: i + 1, tokens_per_s: s }));
  if (finished) events.push(JSON.stringify({ version: 1, type: 'done', step: speeds.length, reason: 'completed', outputs: {} }));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), events.join('\n') + '\n');
}

describe('the CPU speed behind a time estimate', () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-runs-'));
  writeRun(runsDir, '20260101-000000', CONFIGS['qwen-0.5b'], [90, 100, 110]);
  writeRun(runsDir, '20260102-000000', CONFIGS['llama-7b'], [7, 8, 9]);
  writeRun(runsDir, '20260103-000000', CONFIGS['qwen-0.5b'], [500, 600, 700], false); // still running: not a finished run

  it('prefers the newest finished run of the same model shape, in tokens per second', () => {
    const t = cpuThroughputFor(QWEN, { runsDir, measurement: MEASURED, cores: 2, avx2: true });
    assert.equal(t.kind, 'run');
    assert.equal(t.source, 'from run 20260101-000000: 100 tok/s');
    const lora = resolveArgs({ model: 'm', data: 'd', method: 'lora', max_length: 512, batch_size: 2, lora_rank: 16, lora_target_modules: ['q_proj', 'v_proj'] });
    assert.equal(t.flopsPerSecond, 100 * trainingFlopsPerToken(QWEN, lora));
  });

  it('a DPO run\'s tokens also went through the reference forward: at the FLOP/s of an SFT run it reports fewer tokens per second and the same speed', () => {
    const sft = resolveArgs({ model: 'm', data: 'd', method: 'lora', max_length: 512, batch_size: 2, lora_rank: 16, lora_target_modules: ['q_proj', 'v_proj'] });
    const dpo = resolveArgs({ ...sft, stage: 'dpo', packing: false });
    assert.equal(runFlopsPerToken(QWEN, dpo) - runFlopsPerToken(QWEN, sft), 2 * parameterCount(QWEN));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-dpo-'));
    const sftTps = 120;
    writeRun(dir, '20260101-000000', CONFIGS['qwen-0.5b'], [sftTps * (runFlopsPerToken(QWEN, sft) / runFlopsPerToken(QWEN, dpo))], true, { stage: 'dpo', pref_beta: 0.1 });
    const t = cpuThroughputFor(QWEN, { runsDir: dir, cores: 2, avx2: true });
    assert.ok(Math.abs(t.flopsPerSecond / (sftTps * runFlopsPerToken(QWEN, sft)) - 1) < 1e-9, String(t.flopsPerSecond));
  });

  it('else the engine\'s sgemm measured on this machine, which the source names with its figure', () => {
    const t = cpuThroughputFor(LLAMA, { runsDir, measurement: MEASURED, cores: 2, avx2: true });
    assert.deepEqual(t, { flopsPerSecond: 212.4e9, source: 'measured on this machine: 212 GFLOP/s (the engine\'s sgemm, 2 threads)', kind: 'measured' });
  });

  it('else the newest finished run of another shape, else a guess that says nothing was measured', () => {
    assert.equal(cpuThroughputFor(LLAMA, { runsDir, cores: 2, avx2: true }).source, 'from run 20260102-000000: 8 tok/s');
    const guess = cpuThroughputFor(LLAMA, { runsDir: path.join(runsDir, 'none'), cores: 2, avx2: true });
    assert.equal(guess.kind, 'assumed');
    assert.match(guess.source, /assumed for 2 CPU cores \(nothing measured on this machine yet\)/);
  });

  it('a measured speed ten times the guess makes the same run a tenth as long', () => {
    const a = resolveArgs({ model: 'm', data: 'd', method: 'lora', max_length: 512 });
    const guess = estimateTime(QWEN, a, { documents: 1000 }, cpuThroughputFor(QWEN, { cores: 2, avx2: true }));
    const measured = estimateTime(QWEN, a, { documents: 1000 }, cpuThroughputFor(QWEN, { cores: 2, avx2: true, measurement: { ...MEASURED, gflops: 160 } }));
    assert.equal(guess.throughput.flopsPerSecond, 16e9);
    assert.ok(Math.abs(measured.secondsPerEpoch * 10 - guess.secondsPerEpoch) < 1e-9 * guess.secondsPerEpoch);
  });
});

describe('the measurement cache', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-cache-')), 'sub', 'cpu-speed.json');
  const key = cpuSpeedKey('AMD EPYC 9B14', 2, 'avx512');

  it('measures once per machine key, keeps other machines\' entries, and measures again when old', async () => {
    let calls = 0;
    const measure = async () => { calls++; return { ...MEASURED, gflops: 200 + calls }; };
    const now = Date.parse('2026-12-01T00:00:00Z');
    assert.equal((await cachedCpuMeasurement(file, 'AMD EPYC 9B14', key, measure, now))?.gflops, 201);
    assert.equal((await cachedCpuMeasurement(file, 'AMD EPYC 9B14', key, measure, now + 1000))?.gflops, 201);
    const other = cpuSpeedKey('AMD EPYC 9B14', 1, 'avx512');
    assert.equal((await cachedCpuMeasurement(file, 'AMD EPYC 9B14', other, measure, now))?.gflops, 202);
    assert.equal((await cachedCpuMeasurement(file, 'AMD EPYC 9B14', key, measure, now + MEASUREMENT_MAX_AGE_MS + 1))?.gflops, 203);
    assert.equal(calls, 3);
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, { cpuModel: string; gflops: number }>;
    assert.deepEqual(Object.keys(stored).sort(), [key, other].sort());
    assert.equal(stored[key].cpuModel, 'AMD EPYC 9B14');
  });

  it('measured again on request, the faster figure is kept (a busy machine is not taken for a slow one)', async () => {
    const k = cpuSpeedKey('busy', 2, 'avx2');
    const at = (gflops: number) => async () => ({ ...MEASURED, gflops });
    assert.equal((await cachedCpuMeasurement(file, 'busy', k, at(40)))?.gflops, 40);
    assert.equal((await cachedCpuMeasurement(file, 'busy', k, at(190), Date.now(), true))?.gflops, 190);
    assert.equal((await cachedCpuMeasurement(file, 'busy', k, at(60), Date.now(), true))?.gflops, 190);
    assert.equal((await cachedCpuMeasurement(file, 'busy', k, () => Promise.reject(new Error('gone')), Date.now(), true))?.gflops, 190);
    assert.equal((await cachedCpuMeasurement(file, 'busy', k, at(1)))?.gflops, 190);
  });

  it('a failed or meaningless measurement is not cached', async () => {
    const k = cpuSpeedKey('x', 1, 'generic');
    assert.equal(await cachedCpuMeasurement(file, 'x', k, () => Promise.reject(new Error('no addon'))), undefined);
    assert.equal(await cachedCpuMeasurement(file, 'x', k, async () => ({ ...MEASURED, gflops: 0 })), undefined);
    assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>)[k], undefined);
  });
});

describe('FLOPs per token as the engine computes them', () => {
  it('causal attention costs about half the T x T square, in 7 products', () => {
    const full = resolveArgs({ model: 'm', data: 'd', method: 'full', max_length: 4096 });
    const short = resolveArgs({ ...full, max_length: 64 });
    // One block of 64 rows meets 64 keys; 4096 rows meet (4096 + 64) / 2 on average.
    const perKey = 7 * 2 * LLAMA.numHeads * LLAMA.headDim * LLAMA.numLayers;
    assert.equal(trainingFlopsPerToken(LLAMA, full) - trainingFlopsPerToken(LLAMA, short), ((4096 + 64) / 2 - 64) * perKey);
  });
  it('packed rows: attention restarts at every record, so 2,048-token rows of 600-token records cost what 600-token rows do', () => {
    const packed = resolveArgs({ model: 'm', data: 'd', method: 'lora', max_length: 2048, packing: true });
    assert.equal(trainingFlopsPerToken(QWEN, packed, 600), trainingFlopsPerToken(QWEN, { ...packed, packing: false, max_length: 600 }));
    assert.ok(trainingFlopsPerToken(QWEN, packed, 600) < 0.92 * trainingFlopsPerToken(QWEN, packed));
    // Unpacked rows attend over the whole row, padding included: the records' length changes nothing.
    assert.equal(trainingFlopsPerToken(QWEN, { ...packed, packing: false }, 600), trainingFlopsPerToken(QWEN, { ...packed, packing: false }));
  });
  it('a packed run\'s speed counts each record\'s attention, read from the prepare report beside its shards', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-packed-'));
    writeRun(dir, '20260101-000000', CONFIGS['qwen-0.5b'], [300], true, { data_dir: 'data/train', seq_len: 2048 });
    fs.mkdirSync(path.join(dir, '20260101-000000', 'data', 'train'), { recursive: true });
    fs.writeFileSync(path.join(dir, '20260101-000000', 'data', 'prep-report.json'), JSON.stringify({ packedSequences: 40, meanTokens: 600 }));
    const run = resolveArgs({ model: 'm', data: 'd', method: 'lora', max_length: 2048, batch_size: 2, lora_rank: 16, lora_target_modules: ['q_proj', 'v_proj'], packing: true });
    assert.equal(cpuThroughputFor(QWEN, { runsDir: dir, cores: 2, avx2: true }).flopsPerSecond, 300 * runFlopsPerToken(QWEN, run, 600));
  });
  it('checkpointing repeats every layer\'s forward, not the lm_head: about half more for LoRA, a third for full', () => {
    const a = resolveArgs({ model: 'm', data: 'd', method: 'lora', max_length: 1024, lora_rank: 16 });
    const extra = trainingFlopsPerToken(LLAMA, { ...a, gradient_checkpointing: true }) - trainingFlopsPerToken(LLAMA, a);
    // LoRA's step is forward 2P + activation gradients 2P; the layers' forward is 2P less the lm_head.
    const layerForward = 2 * (parameterCount(LLAMA) - 2 * LLAMA.vocabSize * LLAMA.hiddenSize);
    assert.ok(extra > layerForward && extra < layerForward * 1.15, `${extra / layerForward}`);
    assert.ok(Math.abs(recomputeShare(LLAMA, a) - 0.46) < 0.03, String(recomputeShare(LLAMA, a)));
    assert.ok(Math.abs(recomputeShare(LLAMA, { ...a, method: 'full' }) - 0.3) < 0.03, String(recomputeShare(LLAMA, { ...a, method: 'full' })));
  });
});

describe('the ARGS.json hover says where the speed came from', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-hover-'));
  fs.mkdirSync(path.join(root, 'qwen'));
  fs.writeFileSync(path.join(root, 'qwen', 'config.json'), JSON.stringify(CONFIGS['qwen-0.5b']));
  fs.writeFileSync(path.join(root, 'train.jsonl'), Array.from({ length: 400 }, (_, i) => JSON.stringify({ input: `q${i}`, output: `a${i}` })).join('\n') + '\n');
  const args = { model: './qwen', data: './train.jsonl', method: 'lora', max_length: 512, batch_size: 2 } as const;
  const hover = (throughput: Throughput) => estimateMarkdown(computePreflight(args, path.join(root, 'ARGS.json'), { freeMemoryBytes: 16 * 2 ** 30, totalMemoryBytes: 16 * 2 ** 30, cores: 4, throughput }));

  it('lists only changes that lower the peak by 5% or more, and on a CPU the 4-bit base the engine runs there', () => {
    const text = hover(throughputFromMeasurement(MEASURED));
    const bytes = (t: string) => Number(t.split(' ')[0]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB'].indexOf(t.split(' ')[1]);
    const peak = bytes(/peak ~([\d.]+ \w+)/.exec(text)![1]);
    const listed = [...text.matchAll(/^- with (.+): ~([\d.]+ \w+)$/gm)];
    assert.ok(listed.some((m) => m[1].startsWith('method "qlora"')), text);
    for (const m of listed) assert.ok(bytes(m[2]) <= peak * 0.95, `${m[1]}: ${m[2]} against a peak of ${peak} bytes`);
    // A tiny model's peak is the runtime's: no change saves 5%, so none is offered.
    fs.mkdirSync(path.join(root, 'tiny'));
    fs.writeFileSync(path.join(root, 'tiny', 'config.json'), JSON.stringify({ ...CONFIGS['qwen-0.5b'], hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 256 }));
    const tiny = estimateMarkdown(computePreflight({ ...args, model: './tiny', max_length: 16, batch_size: 1 }, path.join(root, 'ARGS.json'), { freeMemoryBytes: 16 * 2 ** 30, totalMemoryBytes: 16 * 2 ** 30, cores: 4, throughput: throughputFromMeasurement(MEASURED) }));
    assert.doesNotMatch(tiny, /^- with /m, tiny);
  });
  it('measured on this machine, with the figure once', () => {
    const text = hover(throughputFromMeasurement(MEASURED));
    assert.match(text, /GFLOP per token; speed measured on this machine: 212 GFLOP\/s \(the engine's sgemm, 2 threads\)\.\n/);
    assert.equal(text.split('GFLOP/s').length - 1, 1);
  });
  it('from a run, in tokens per second and the FLOP/s they mean', () => {
    const text = hover(cpuThroughputFor(QWEN, { runsDir: fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-none-')), cores: 4, avx2: true, measurement: undefined }));
    assert.match(text, /speed assumed for 4 CPU cores \(nothing measured on this machine yet\), 32 GFLOP\/s\./);
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-speed-hover-runs-'));
    writeRun(runs, '20260105-000000', CONFIGS['qwen-0.5b'], [1200, 1250, 1300]);
    assert.match(hover(cpuThroughputFor(QWEN, { runsDir: runs, cores: 4, avx2: true, measurement: MEASURED })), /speed from run 20260105-000000: 1,250 tok\/s, [\d.]+ GFLOP\/s\./);
  });
});
