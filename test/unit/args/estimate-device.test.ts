// The GPU memory estimate (src/core/args/estimate-device.ts): against the device allocations
// tuner-train's GPU path measured on host_ops (test/fixtures/device-memory-calibration.json, from
// scripts/calibrate-device-memory.mjs), its terms for real model sizes, where a run trains
// (engine-support.ts trainDevice), and the pre-flight's GPU diagnostics and hover.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { deviceTrainingRefuses, trainDevice } from '../../../src/core/args/engine-support';
import { estimateMemory } from '../../../src/core/args/estimate';
import { CUDA_CONTEXT_BYTES, cudaAttentionWorkspaceBytes, estimateDeviceMemory } from '../../../src/core/args/estimate-device';
import { estimateMarkdown } from '../../../src/core/args/estimate-markdown';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { computePreflight, PREFLIGHT_CODES, preflightProblems, type MachineInfo } from '../../../src/core/args/preflight';
import { validateArgsText } from '../../../src/core/args/validate';
import { loraParameterCount, parameterCount, parseModelSpec } from '../../../src/core/model/spec';
import { describedHardware, type HardwareProfile } from '../../../src/core/hardware/types';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { assumedGpuThroughput, planningEstimate } from '../../../src/core/planner/estimator';
import { calibrationSpec, hostOpsEstimate, type DeviceCalibrationRow } from '../../native/device-memory-runs';
import { llama8bWorkspace } from './preflight-workspace';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const GiB = 1024 ** 3;
const calibration = JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'device-memory-calibration.json'), 'utf8')) as { rows: DeviceCalibrationRow[] };

// The estimate mirrors the device path's allocations one for one; what is left is the quantized
// formats' scale bytes (nf4 rows: tens of bytes in tens of MiB). 0.1% would catch one missing
// [N, C] buffer in every row of the grid.
const TOLERANCE = 0.001;

describe('GPU memory estimate vs the device path\'s measured allocations (host_ops, scripts/calibrate-device-memory.mjs)', () => {
  it('covers full, LoRA, QLoRA nf4 and int8, checkpointing, Lion, SGD, tied embeddings, biases, GQA and MHA, several batch shapes', () => {
    const rows = calibration.rows;
    for (const m of ['full', 'lora', 'qlora'] as const) assert.ok(rows.some((r) => r.method === m), m);
    for (const q of ['nf4', 'int8'] as const) assert.ok(rows.some((r) => r.quantization === q), q);
    for (const m of ['full', 'lora', 'qlora'] as const) assert.ok(rows.some((r) => r.ckpt && r.method === m), `checkpointing ${m}`);
    for (const o of ['lion', 'sgd'] as const) assert.ok(rows.some((r) => r.optimizer === o), o);
    assert.ok(rows.some((r) => r.model.tied) && rows.some((r) => r.model.arch === 'qwen2'));
    assert.ok(rows.some((r) => r.model.kvHeads === r.model.heads) && rows.some((r) => (r.model.kvHeads ?? 0) < (r.model.heads ?? 0)));
    assert.ok(new Set(rows.map((r) => `${r.B}x${r.T}`)).size >= 5);
  });
  for (const r of calibration.rows) {
    it(`${r.name}: within ${TOLERANCE * 100}% of the measured ${(r.measured_peak_bytes / 2 ** 20).toFixed(2)} MiB`, () => {
      assert.equal(parameterCount(calibrationSpec(r.model)), r.params);
      const est = hostOpsEstimate(r, r.threads);
      assert.ok(Math.abs(est / r.measured_peak_bytes - 1) <= TOLERANCE, `estimate ${est} vs measured ${r.measured_peak_bytes}`);
    });
  }
});

const llama = (o: Record<string, unknown>) => parseModelSpec({ architectures: ['LlamaForCausalLM'], model_type: 'llama', torch_dtype: 'bfloat16', ...o });
const LLAMA_1B = llama({ vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, tie_word_embeddings: true });
const LLAMA_8B = llama({ vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, tie_word_embeddings: false });
const cuda = (a: Partial<Args>) => resolveArgs({ model: 'm', data: 'd', device: 'cuda', batch_size: 4, max_length: 1024, ...a });
const part = (e: { parts: { name: string; bytes: number }[] }, name: string) => e.parts.find((p) => p.name === name)!.bytes;

describe('GPU memory estimate terms', () => {
  it('a full fine-tune of Llama 3.2 1B fits an 80 GB GPU: fp32 masters + bf16 copies + fp32 gradients + AdamW', () => {
    const e = estimateDeviceMemory(LLAMA_1B, cuda({ method: 'full' }));
    const P = parameterCount(LLAMA_1B);
    // Tied: the embedding is the head, so every matrix but none twice has a bf16 copy.
    assert.equal(part(e, 'weights'), 4 * P + 2 * (P - 2048 * 33)); // the 33 norms stay fp32 only
    assert.equal(part(e, 'gradients'), 4 * P);
    assert.equal(part(e, 'optimizer states'), 8 * P);
    assert.ok(e.total < 80e9 * 0.9 && e.total > 18 * P, `${e.total / GiB} GiB`);
    assert.equal(e.total, e.allocated + CUDA_CONTEXT_BYTES);
  });
  it('LoRA counts no base gradients and keeps the frozen matrices as bf16 only', () => {
    const a = cuda({ method: 'lora', lora_rank: 16 });
    const e = estimateDeviceMemory(LLAMA_8B, a);
    const L = loraParameterCount(LLAMA_8B, 16, a.lora_target_modules);
    assert.equal(part(e, 'gradients'), 4 * L);
    assert.equal(part(e, 'adapters'), 6 * L); // fp32 weights and their bf16 copy
    assert.equal(part(e, 'optimizer states'), 8 * L);
    const P = parameterCount(LLAMA_8B), embed = 128256 * 4096;
    assert.ok(part(e, 'weights') < 2 * P + 2 * embed + 1e6, `${part(e, 'weights') / GiB}`); // bf16 base, fp32 embedding lookup
  });
  it('a full fine-tune of Llama 3.1 8B does not fit a 24 GB GPU; QLoRA with checkpointing does', () => {
    const full = estimateDeviceMemory(LLAMA_8B, cuda({ method: 'full', batch_size: 1 }));
    assert.ok(full.total > 24 * GiB * 4, `${full.total / GiB}`);
    const qlora = estimateDeviceMemory(LLAMA_8B, cuda({ method: 'qlora', quantization: 'nf4', batch_size: 1, gradient_checkpointing: true }));
    assert.ok(qlora.total < 24 * GiB * 0.9, `${qlora.total / GiB}`);
    const ckpt = (on: boolean) => part(estimateDeviceMemory(LLAMA_8B, cuda({ method: 'lora', gradient_checkpointing: on })), 'activations');
    assert.ok(ckpt(true) < ckpt(false) / 8);
  });
  it('the attention workspace is CUDA\'s with the deterministic dQ: the row dots and the dK, dV accumulators', () => {
    const s = { B: 2, T: 100, NH: 8, NKV: 2, HD: 64 };
    assert.equal(cudaAttentionWorkspaceBytes(s), 4 * (1600 + 2 * 2 * 100 * 2 * 64));
  });
});

describe('where a run trains (tuner-train choose_train_device / cuda_can_train)', () => {
  const lora = resolveArgs({ model: 'm', data: 'd' });
  it('auto takes a found GPU when the device path runs the plan, else the CPU', () => {
    assert.equal(trainDevice(lora, LLAMA_8B, { count: 1 }), 'cuda');
    assert.equal(trainDevice(lora, LLAMA_8B, { count: 0 }), 'cpu');
    assert.equal(trainDevice({ ...lora, device: 'cpu' }, LLAMA_8B, { count: 1 }), 'cpu');
    assert.equal(trainDevice({ ...lora, method: 'lomo' }, LLAMA_8B, { count: 1 }), 'cpu');
    assert.equal(trainDevice({ ...lora, stage: 'dpo' }, LLAMA_8B, { count: 1 }), 'cpu');
    assert.equal(trainDevice(lora, LLAMA_8B, { count: 1, computeCapability: '7.5' }), 'cpu');
    // Every architecture the CPU engine trains has a device path (GPT-2: LayerNorm, fused q/k/v,
    // Conv1D); what it refuses is named.
    const gpt2 = parseModelSpec({ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_layer: 12, n_head: 12 });
    assert.equal(deviceTrainingRefuses(lora, gpt2), undefined);
    assert.equal(trainDevice(lora, gpt2, { count: 1 }), 'cuda');
    const falcon = parseModelSpec({ architectures: ['FalconForCausalLM'], model_type: 'falcon', vocab_size: 1000, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4 });
    assert.match(deviceTrainingRefuses(lora, falcon)!, /FalconForCausalLM does not train on a GPU yet/);
    assert.match(deviceTrainingRefuses({ ...lora, rope_scaling: 'xpos' }, LLAMA_8B)!, /xPos positions/);
  });
  it('a CPU run has no GPU estimate; a GPU run moves gradients, activations and logits off the host', () => {
    const cpu = estimateMemory(LLAMA_8B, { ...lora, device: 'cpu' }, { threads: 8 });
    const gpu = estimateMemory(LLAMA_8B, lora, { threads: 8, device: 'cuda' });
    assert.equal(cpu.gpu, undefined);
    assert.ok(gpu.gpu && gpu.gpu.total > 0);
    for (const name of ['gradients', 'activations', 'logits']) assert.equal(part(gpu, name), 0, name);
    assert.equal(part(gpu, 'weights'), part(cpu, 'weights')); // the host's loaded fp32 model
    assert.ok(gpu.total < cpu.total);
  });
});

describe('the planner on this machine\'s GPU', () => {
  const args = resolveArgs({ model: 'm', data: 'd', method: 'lora', batch_size: 2, max_length: 1024 });
  const described = describedHardware({ gpus: 1, gpuMemoryGiB: 80, ramGiB: 128 });
  const probed: HardwareProfile = { ...described, gpuSource: 'nvml', gpus: described.gpus.map((g) => ({ ...g, computeCapability: '9.0' })) };
  it('a run the device path takes gets the device estimate; a described machine (a hand-off may run it) keeps the planner\'s', () => {
    const here = defaultEstimator(args, { model: LLAMA_8B, hardware: probed });
    assert.equal(here.device, 'cuda');
    assert.equal(here.memoryBytes, estimateDeviceMemory(LLAMA_8B, args).total);
    assert.equal(here.breakdown.gradients, 4 * loraParameterCount(LLAMA_8B, args.lora_rank, args.lora_target_modules));
    assert.equal(defaultEstimator(args, { model: LLAMA_8B, hardware: described }).memoryBytes, planningEstimate(args, { model: LLAMA_8B, hardware: described }).memoryBytes);
    // LOMO trains on the CPU under auto, so on a GPU the planner's own accounting answers.
    const lomo = { ...args, method: 'lomo' as const, optimizer: 'sgd' as const };
    assert.equal(defaultEstimator(lomo, { model: LLAMA_8B, hardware: probed }).memoryBytes, planningEstimate(lomo, { model: LLAMA_8B, hardware: probed }).memoryBytes);
  });
});

describe('pre-flight on a GPU', () => {
  const { argsFile } = llama8bWorkspace('tuner-preflight-gpu-');
  const GPU_24: MachineInfo = {
    freeMemoryBytes: 256 * GiB, totalMemoryBytes: 256 * GiB, cores: 16, throughput: { flopsPerSecond: 1e12, source: 'CPU measured in a test' },
    cudaGpus: 1, gpuMemoryBytes: 24 * GiB, gpuComputeCapability: '8.9', gpuThroughput: assumedGpuThroughput({ name: 'RTX 4090', computeCapability: '8.9' }),
  };

  it('8B on a 24 GB GPU: LoRA and full do not fit; the fixes are sized in GPU memory: a smaller batch, checkpointing, QLoRA', () => {
    const text = '{"model": "./llama8b", "data": "./train.jsonl", "method": "lora", "batch_size": 4, "max_length": 512}';
    const { problems, preflight } = preflightProblems(validateArgsText(text), argsFile, GPU_24);
    assert.ok(preflight!.memory.gpu);
    const p = problems.find((x) => x.code === PREFLIGHT_CODES.doesNotFit)!;
    assert.ok(p, JSON.stringify(problems));
    assert.match(p.message, /^needs ~[\d.]+ GiB of GPU memory, the GPU has 24 GiB: batch_size 1 needs ~[\d.]+ GiB\. \(GPU memory: weights [\d.]+ GiB, .*runtime 614 MiB; memory \(host\) ~[\d.]+ GiB\)$/);
    const titles = p.fixes!.map((f) => f.title.replace(/~[\d.]+ GiB/, '~N GiB'));
    assert.deepEqual(titles, ['Use batch_size 1 (~N GiB)', 'Use gradient_checkpointing (~N GiB)', 'Use method "qlora" (4-bit base) (~N GiB)']);
    // The tight case names the GPU's size.
    const tight = preflightProblems(validateArgsText(text.replace('"batch_size": 4', '"batch_size": 2')), argsFile, GPU_24).problems[0];
    assert.match(tight.message, /^needs ~[\d.]+ GiB of the GPU's 24 GiB \(tight: close other programs or use a fix\); ~1 min 24 s for 150 steps \(3 epochs; 100 records by record count; speed assumed for RTX 4090: 56 TFLOP\/s \(bf16 at 35% of the card's peak; nothing measured on it yet\)\)\./);
    // Without the GPU's speed there is no time rather than the CPU's.
    assert.equal(computePreflight(JSON.parse(text) as Args, argsFile, { ...GPU_24, gpuThroughput: undefined }).time, undefined);
    const full = preflightProblems(validateArgsText(text.replace('"lora"', '"full"')), argsFile, GPU_24).problems.find((x) => x.code === PREFLIGHT_CODES.doesNotFit)!;
    assert.match(full.message, /of GPU memory, the GPU has 24 GiB/);
    const labels = computePreflight(JSON.parse(text.replace('"lora"', '"full"')) as Args, argsFile, GPU_24).suggestions.map((s) => s.label);
    for (const l of ['half the batch, twice the accumulation', 'gradient_checkpointing', 'method "qlora" (4-bit base)']) assert.ok(labels.includes(l), l);
  });
  it('a GPU run whose host cannot hold the loaded model says so too', () => {
    const text = '{"model": "./llama8b", "data": "./train.jsonl", "method": "qlora", "quantization": "nf4", "batch_size": 1, "max_length": 512}';
    const ok = preflightProblems(validateArgsText(text), argsFile, GPU_24).problems;
    assert.deepEqual(ok.map((p) => p.code), [PREFLIGHT_CODES.estimate]);
    const small = preflightProblems(validateArgsText(text), argsFile, { ...GPU_24, freeMemoryBytes: 4 * GiB }).problems;
    assert.deepEqual(small.map((p) => p.code), [PREFLIGHT_CODES.estimate, PREFLIGHT_CODES.doesNotFit]);
    assert.match(small[1].message, /^the host needs ~[\d.]+ GiB of memory beside the GPU \(the loaded model, peak [\d.]+ GiB while loading\), this machine has 4 GiB free/);
  });
  it('the hover shows GPU memory and the host\'s memory side by side, in units', () => {
    const pf = computePreflight({ model: './llama8b', data: './train.jsonl', method: 'qlora', quantization: 'nf4', batch_size: 1, max_length: 512 } as Args, argsFile, GPU_24);
    const md = estimateMarkdown(pf);
    assert.match(md, /^\*\*Pre-flight estimate\*\* — GPU memory peak ~[\d.]+ GiB, memory \(host\) peak ~[\d.]+ GiB\n/);
    assert.match(md, /\| term \| GPU memory \| memory \(host\) \|\n\|---\|---:\|---:\|\n\| weights \| [\d.]+ GiB \| [\d.]+ GiB \|/);
    assert.match(md, /\| runtime \| 614 MiB \| [\d.]+ MiB \|/);
    assert.doesNotMatch(md, /e\+|NaN|undefined/);
    // The GPU's assumed speed is said once, in its own unit.
    assert.match(md, /speed assumed for RTX 4090: 56 TFLOP\/s \(bf16 at 35% of the card's peak; nothing measured on it yet\)\.\n/);
  });
});
