// Pre-flight estimate of a run's peak memory and time per epoch, from the model's config.json
// and ARGS. The CPU engine's terms mirror what it allocates (native/src/models/llama_forward.cpp
// plan(): fp32 master weights, the activations backward needs, one logits buffer reused for its
// gradient, a per-thread attention scratch) and are calibrated against the trainer's measured
// peak (test/fixtures/estimator-calibration.json), QLoRA, LOMO, Lion, SGD and checkpointing
// included: a quantized base stores its decoder linears in the format's blocks and keeps the
// rest in fp32, plus one linear dequantized for backward; LOMO holds one layer's gradients and
// those of the weights outside the layers, and no optimizer state. With precision bf16 the weights
// term adds the bf16 copy of the linears and the lm_head; the fp32 master weights stay, but for a
// frozen base's decoder linears on a CPU with the bf16 kernel, which the engine keeps packed only.
import { layerLinears, layerModules, loraParameterCount, loraTargetsFor, parameterCount, type ModelSpec } from '../model/spec';
import { estimateDeviceMemory, type DeviceMemoryEstimate } from './estimate-device';
import type { ResolvedArgs } from './fields';
import * as l10n from '@vscode/l10n';

export interface MemoryPart {
  name: 'weights' | 'weight file (while loading)' | 'adapters' | 'gradients' | 'optimizer states' | 'activations' | 'logits' | 'workspace' | 'data' | 'runtime';
  bytes: number;
}

export interface MemoryEstimate {
  /** Peak resident bytes: the larger of the loading peak and the training peak. */
  total: number;
  /** Terms of the training peak. */
  parts: MemoryPart[];
  /** Peak while loading weights (mapped file + fp32 copy). */
  loadPeak: number;
  params: number;
  trainableParams: number;
  /** Training on a GPU (tuner-train's device path): its peak; `total` and `parts` are then the host's. */
  gpu?: DeviceMemoryEstimate;
}

export interface EstimateInputs {
  /** Worker threads the trainer will use (attention scratch is per thread). */
  threads: number;
  /** Bytes of the model's *.safetensors files (mapped while loading); defaults to params × dtype size. */
  weightFileBytes?: number;
  /** Tokens in the prepared training shards (resident during training). */
  datasetTokens?: number;
  datasetDocuments?: number;
  /** Where the run trains (engine-support.ts trainDevice); cpu unless given. */
  device?: 'cpu' | 'cuda';
  /**
   * The CPU has the engine's bf16 kernel (AVX512_BF16: hasBf16Kernel in engine/addon.ts). Where it is
   * unknown, a bf16 run's weights are counted as the larger of the two CPUs' layouts.
   */
  bf16Kernel?: boolean;
}

/** Resident size of the trainer process before any model or data: binary, libraries, heap, thread stacks. */
export const RUNTIME_BASE_BYTES = 5 * 1024 * 1024;
export const RUNTIME_BYTES_PER_THREAD = 160 * 1024;

export function dtypeBytes(dtype: string): number {
  const d = dtype.toLowerCase();
  if (d.includes('16')) return 2;
  if (d.includes('8')) return 1;
  return 4;
}

/** The block a format quantizes a row in (a linear whose input width is not a multiple stays fp32). */
const QUANT_BLOCK = { int8: 1, int4: 32, nf4: 64 } as const;

/** Whether the engine quantizes a linear of this input width under `quant` (none: never). */
function quantizes(quant: keyof typeof QUANT_BLOCK | undefined, inWidth: number): boolean {
  return quant !== undefined && inWidth % QUANT_BLOCK[quant] === 0;
}

/**
 * Bytes of one [out, in] matrix in the engine's formats (native/include/tuner/quant.h): int8 a
 * byte per weight and a float per row; int4 as q4_0 (18 bytes per 32); nf4 half a byte, an
 * absmax code per 64 and a float per 256 codes.
 */
export function quantizedMatrixBytes(q: 'int8' | 'int4' | 'nf4', out: number, inp: number): number {
  const n = out * inp;
  if (q === 'int8') return n + 4 * out;
  if (q === 'int4') return (n / 32) * 18;
  return n / 2 + n / 64 + 4 * Math.ceil(n / 64 / 256);
}

/** The frozen base's format of a run: qlora's (nf4 unless set), lora's on a quantized base, or none. */
export function baseQuantization(a: ResolvedArgs): 'int8' | 'int4' | 'nf4' | undefined {
  if (a.method === 'qlora') return a.quantization === 'none' ? 'nf4' : a.quantization;
  if (a.method === 'lora' && a.quantization !== 'none') return a.quantization;
  return undefined;
}

/** Optimizer state bytes per trained parameter: AdamW two fp32 moments, Lion one, SGD its momentum buffer (none without momentum, none for LOMO). */
export function optimizerStateBytes(a: ResolvedArgs): number {
  if (a.method === 'lomo') return 0;
  if (a.optimizer === 'adamw') return 8;
  if (a.optimizer === 'lion') return 4;
  return a.momentum > 0 ? 4 : 0;
}

/**
 * Floats of activations + workspace the engine lays out for a (B, T) micro-batch, by kind: the
 * buffers of LlamaModel::plan() (native/src/models/llama_forward.cpp), one term per buffer.
 * test/native/estimate-layout.test.ts checks the total against the engine's own count.
 */
export function engineActivationFloats(s: ModelSpec, B: number, T: number, threads: number, loraRank: number, loraTargets: readonly string[], checkpointing = false): { activations: number; logits: number; workspace: number } {
  const N = B * T;
  const C = s.hiddenSize, F = s.intermediateSize, V = s.vocabSize;
  const QD = s.numHeads * s.headDim, KD = s.numKvHeads * s.headDim;
  const al = (n: number) => Math.ceil(n / 16) * 16; // the engine aligns each slice to 64 bytes
  const t = s.traits;
  // resid_in, rstd1, x1, q, k, v, attention row log-sum-exp [B, NH, T], att, mid, rstd2, x2, gate, up.
  let perLayer = al(N * C) + al(N) + al(N * C) + al(N * QD) + 2 * al(N * KD) + al(B * s.numHeads * T) + al(N * QD) + al(N * C) + al(N) + al(N * C) + 2 * al(N * F);
  const targets = loraTargetsFor(s, loraTargets);
  if (loraRank > 0) for (const l of layerModules(s)) if (targets.includes(l.module)) perLayer += al(N * loraRank);
  // Other architectures (LlamaModel::plan_arch): LayerNorm means; q, k before their per-head norm
  // and its rstd; Gemma 3's attention and MLP outputs before their norms, with rstd.
  if (t.layerNorm) perLayer += 2 * al(N);
  if (t.qkNorm) perLayer += al(N * QD) + al(N * KD) + al(N * s.numHeads) + al(N * s.numKvHeads);
  if (t.sandwichNorms) perLayer += 2 * al(N * C) + 2 * al(N);
  // resid_final, rstdf, xf, then losses and each logits row's log-sum-exp.
  // With checkpointing only each layer's input stays per layer; one layer's set is shared.
  const layers = checkpointing && s.numLayers > 0 ? perLayer + (s.numLayers - 1) * al(N * C) : s.numLayers * perLayer;
  const activations = layers + al(N * C) + al(N) + al(N * C) + 2 * al(N);
  const logits = al(N * V) + (t.finalSoftcap ? al(N * V) : 0); // soft-capping keeps tanh of every logit
  // m, dm, dup, dres, dx, dq, datt, dk, dv, per-thread attention blocks (2 x 64 rows x T), cos, sin.
  let workspace = 3 * al(N * F) + 2 * al(N * C) + 2 * al(N * QD) + 2 * al(N * KD) + al(Math.max(1, threads) * 2 * 64 * T) + 2 * al((T * s.headDim) / 2);
  // LoRA: dt [N, r], the dropout input [N, max in], s * B of one linear [max out, r].
  if (loraRank > 0) workspace += al(N * loraRank) + al(N * Math.max(C, F, QD)) + al(Math.max(...layerModules(s).map((l) => l.out)) * loraRank);
  // Final LayerNorm mean; Bloom's embedding before its LayerNorm with mean and rstd; the fused
  // q/k/v rows; d of q or k before their norm; Gemma 3's local RoPE tables.
  if (t.layerNorm) workspace += al(N);
  if (t.embedNorm) workspace += al(N * C) + 2 * al(N);
  if (t.fusedQkv) workspace += al(N * (QD + 2 * KD));
  if (t.qkNorm) workspace += al(N * QD);
  if (t.sandwichNorms) workspace += 2 * al((T * s.headDim) / 2);
  return { activations, logits, workspace };
}

// The CPU bf16 kernel's sliver width (native/src/kernels/cpu/gemm_bf16_avx512bf16.cpp, NR): a
// packed matrix's columns are rounded up to it.
const PACKED_SLIVER = 32;

/** Bytes of a K x N bf16 matrix packed for the CPU bf16 kernel with room for `tail` more k (Bf16PackedB). */
function packedBytes(K: number, N: number, tail: number): number {
  return 4 * Math.ceil(N / PACKED_SLIVER) * PACKED_SLIVER * (Math.ceil(K / 2) + Math.ceil(tail / 2));
}

/**
 * precision bf16 with a frozen base (LoRA, QLoRA): every decoder linear the engine did not
 * quantize, and the lm_head, packed twice beside the fp32 master weights, as the forward and the
 * backward products read them (native/src/models/bf16_weights.cpp), a LoRA target with room for
 * its rank where K is even: about 4 bytes a weight. The engine then gives back the decoder
 * linears' fp32 masters (frozenMasterBytes). An engine on a CPU without the bf16 kernel keeps the
 * masters and a plain copy (2 bytes) instead; where the CPU is unknown this counts the packed
 * copies beside the masters, more than either.
 */
function packedFrozenBytes(s: ModelSpec, quant: keyof typeof QUANT_BLOCK | undefined, targets: readonly string[], rank: number): number {
  const names = loraTargetsFor(s, targets);
  let perLayer = 0;
  for (const l of layerModules(s)) {
    if (quantizes(quant, l.in)) continue;
    const r = names.includes(l.module) ? rank : 0;
    perLayer += packedBytes(l.in, l.out, l.in % 2 === 0 ? r : 0) + packedBytes(l.out, l.in, l.out % 2 === 0 ? r : 0);
  }
  const C = s.hiddenSize, V = s.vocabSize;
  return s.numLayers * perLayer + packedBytes(C, V, 0) + packedBytes(V, C, 0);
}

export function estimateMemory(s: ModelSpec, a: ResolvedArgs, inp: EstimateInputs): MemoryEstimate {
  const P = parameterCount(s);
  const adapters = a.method === 'lora' || a.method === 'qlora';
  const rank = adapters ? a.lora_rank : 0;
  const loraP = adapters ? loraParameterCount(s, rank, a.lora_target_modules) : 0;
  const trainable = adapters ? loraP : P;
  // DPO: every pair is two sequences (chosen and rejected) in the same micro-batch.
  const dpo = a.stage === 'dpo';
  const B = a.batch_size * (dpo ? 2 : 1), T = a.max_length;

  const quant = baseQuantization(a);
  const linears = Object.values(layerLinears(s));
  const quantizable = linears.filter(([, i]) => quantizes(quant, i));
  const quantized = quant ? s.numLayers * quantizable.reduce((n, [o, i]) => n + o * i, 0) : 0;
  const weightBytes = quant
    ? (P - quantized) * 4 + s.numLayers * quantizable.reduce((n, [o, i]) => n + quantizedMatrixBytes(quant, o, i), 0)
    : P * 4;
  const bf16Copy = a.precision !== 'bf16' ? 0 : adapters
    ? packedFrozenBytes(s, quant, a.lora_target_modules, rank)
    // A full fine-tune (or LOMO) reads a plain bf16 copy: 2 bytes a weight.
    : 2 * (s.numLayers * linears.reduce((n, [o, i]) => n + o * i, 0) + s.vocabSize * s.hiddenSize);
  // The fp32 masters of the packed decoder linears, which the engine drops once they are packed.
  const frozenMasterBytes = adapters && a.precision === 'bf16' && inp.bf16Kernel === true
    ? 4 * s.numLayers * linears.filter(([, i]) => !quantizes(quant, i)).reduce((n, [o, i]) => n + o * i, 0)
    : 0;
  // Backward dequantizes one linear at a time into a buffer of the largest.
  const dequant = quantizable.length ? 4 * Math.max(...quantizable.map(([o, i]) => o * i)) : 0;
  // LOMO: the gradients of one layer (a buffer every layer reuses) and of the weights outside them.
  const outer = s.vocabSize * s.hiddenSize * (s.tieWordEmbeddings ? 1 : 2) + s.hiddenSize;
  const gradBytes = a.method === 'lomo' ? 4 * ((P - outer) / Math.max(1, s.numLayers) + outer) : 4 * trainable;
  const optStates = optimizerStateBytes(a) * trainable;
  const f = engineActivationFloats(s, B, T, inp.threads, rank, a.lora_target_modules, a.gradient_checkpointing);
  const activations = f.activations * 4;
  const tokensBuf = B * T * 9; // tokens + targets (uint32) + mask
  const data = (inp.datasetTokens ?? 0) * 5 + ((inp.datasetDocuments ?? 0) + 1) * 8
    // DPO of a full fine-tune: the reference log-probs of every sequence (a float each, two per pair).
    + (dpo && !adapters ? (inp.datasetDocuments ?? 0) * 2 * 4 : 0);
  const runtime = RUNTIME_BASE_BYTES + inp.threads * RUNTIME_BYTES_PER_THREAD;

  const parts: MemoryPart[] = [
    { name: 'weights', bytes: weightBytes - frozenMasterBytes + bf16Copy },
    { name: 'adapters', bytes: adapters ? loraP * 4 : 0 },
    { name: 'gradients', bytes: gradBytes },
    { name: 'optimizer states', bytes: optStates },
    { name: 'activations', bytes: activations },
    { name: 'logits', bytes: f.logits * 4 },
    { name: 'workspace', bytes: f.workspace * 4 + tokensBuf + dequant },
    { name: 'data', bytes: data },
    { name: 'runtime', bytes: runtime },
  ];
  if (inp.device === 'cuda') {
    // The device path's host keeps the loaded model (fp32, or QLoRA's quantized base), the
    // adapters, the data and the runtime, and the optimizer's states while a checkpoint is
    // written; gradients, activations and the bf16 copies live on the GPU.
    // The host stages each batch (tokens, targets, mask) before its copy.
    const host: Partial<Record<MemoryPart['name'], number>> = { weights: weightBytes, gradients: 0, activations: 0, logits: 0, workspace: tokensBuf };
    for (const p of parts) p.bytes = host[p.name] ?? p.bytes;
  }
  const trainPeak = parts.reduce((n, p) => n + p.bytes, 0);
  const fileBytes = inp.weightFileBytes ?? P * dtypeBytes(s.torchDtype);
  // The fp32 engine maps the whole file while it converts (measured); the quantizing loader reads
  // tensor by tensor into an f32 buffer and drops each tensor's file pages once read.
  const largestTensor = Math.max(s.vocabSize * s.hiddenSize, ...linears.map(([o, i]) => o * i));
  const loadPeak = runtime + weightBytes + (quant ? largestTensor * (4 + dtypeBytes(s.torchDtype)) : fileBytes);
  const gpu = inp.device === 'cuda' ? { gpu: estimateDeviceMemory(s, a) } : {};
  return { total: Math.max(trainPeak, loadPeak), parts, loadPeak, params: P, trainableParams: trainable, ...gpu };
}

/** The peak that decides whether a run fits: the GPU's when it trains on one, else the host's. */
export function decidingPeak(e: MemoryEstimate): number {
  return e.gpu?.total ?? e.total;
}

/** Query rows per block of the engine's causal attention (native/src/kernels/cpu/ops_cpu.cpp kRowBlock). */
export const ATTENTION_ROW_BLOCK = 64;

/**
 * Keys a query row meets on average in the engine's causal attention over T positions: each
 * block of 64 rows [r0, r1) meets keys [k0, r1) (k0 = r0 - window + 1 in a windowed layer, else
 * 0), so about half the T×T square is computed, plus the diagonal blocks.
 */
export function causalKeysPerRow(T: number, window = 0): number {
  if (T <= 0) return 0;
  let sum = 0;
  for (let r0 = 0; r0 < T; r0 += ATTENTION_ROW_BLOCK) {
    const r1 = Math.min(T, r0 + ATTENTION_ROW_BLOCK);
    const k0 = window > 0 ? Math.max(0, r0 - window + 1) : 0;
    sum += (r1 - r0) * (r1 - k0);
  }
  return sum / T;
}

/**
 * Training FLOPs per token, as the engine computes them: forward 2 per matmul weight, backward 2
 * more for activation gradients and (for trained weights) 2 for weight gradients; adapters add
 * their own three products. Attention is causal and computed in blocks (causalKeysPerRow): per
 * layer 2·keys·head_dim per head for each of its 7 products (Q Kᵀ and P V forward; backward
 * recomputes Q Kᵀ, then dY Vᵀ, dQ, dK and dV). Checkpointing repeats each layer's forward
 * (recompute_layer), not the lm_head. In packed rows attention starts afresh at every record (the
 * batch's sample_start), so with `recordTokens` (the records' mean length) a packed row costs
 * each token the keys of a sequence of that length, not of the whole row.
 */
export function trainingFlopsPerToken(s: ModelSpec, a: ResolvedArgs, recordTokens?: number): number {
  const P = parameterCount(s);
  const adapters = a.method === 'lora' || a.method === 'qlora';
  const loraP = adapters ? loraParameterCount(s, a.lora_rank, a.lora_target_modules) : 0;
  const embed = s.vocabSize * s.hiddenSize; // the embedding lookup is not a matmul
  const matmulP = P - embed * (s.tieWordEmbeddings ? 0 : 1);
  const lmHead = s.vocabSize * s.hiddenSize;
  const windowed = Math.min(s.slidingLayers, s.numLayers);
  const T = a.packing && recordTokens !== undefined && recordTokens > 0 ? Math.max(1, Math.round(Math.min(a.max_length, recordTokens))) : a.max_length;
  const keys = (s.numLayers - windowed) * causalKeysPerRow(T) + windowed * causalKeysPerRow(T, s.slidingWindow);
  const product = 2 * keys * s.numHeads * s.headDim; // one attention product, every layer
  const forward = 2 * matmulP + 2 * loraP + 2 * product;
  const backward = 2 * matmulP + 4 * loraP + 5 * product + (adapters ? 0 : 2 * matmulP);
  const recompute = a.gradient_checkpointing ? 2 * (matmulP - lmHead) + 2 * loraP + 2 * product : 0;
  return forward + backward + recompute;
}

/**
 * FLOPs per token a run computes: training's, plus with DPO on adapters the reference forward
 * (the base with adapters off, 2 per weight) of every sequence. A run's measured tokens per
 * second times this is its FLOP/s, and a plan's tokens times this its work.
 */
export function runFlopsPerToken(s: ModelSpec, a: ResolvedArgs, recordTokens?: number): number {
  const reference = a.stage === 'dpo' && (a.method === 'lora' || a.method === 'qlora') ? 2 * parameterCount(s) : 0;
  return trainingFlopsPerToken(s, a, recordTokens) + reference;
}

/** Extra compute checkpointing costs a run, as a share of the run without it (0.3 = 30% more). */
export function recomputeShare(s: ModelSpec, a: ResolvedArgs): number {
  const without = trainingFlopsPerToken(s, { ...a, gradient_checkpointing: false });
  return trainingFlopsPerToken(s, { ...a, gradient_checkpointing: true }) / without - 1;
}

/** Where a speed figure comes from: a finished run's steps, the engine's sgemm timed here, or a guess. */
export type ThroughputKind = 'run' | 'measured' | 'assumed';

export interface Throughput {
  flopsPerSecond: number;
  /** Where the number comes from, shown to the user. */
  source: string;
  kind?: ThroughputKind;
}

/** Achieved FLOP/s of a finished run, from its step events' tokens_per_s (the median step). */
export function throughputFromRun(tokensPerSecond: readonly number[], flopsPerToken: number, source: string | ((tokensPerSecond: number) => string)): Throughput | undefined {
  const xs = tokensPerSecond.filter((x) => Number.isFinite(x) && x > 0).sort((p, q) => p - q);
  if (xs.length === 0) return undefined;
  const median = xs[Math.floor(xs.length / 2)];
  return { flopsPerSecond: median * flopsPerToken, source: typeof source === 'string' ? source : source(median), kind: 'run' };
}

/** A conservative guess before anything was measured: ~8 GFLOP/s per core with AVX2/FMA fp32. */
export function assumedCpuThroughput(cores: number, avx2: boolean): Throughput {
  return { flopsPerSecond: Math.max(1, cores) * (avx2 ? 8e9 : 2e9), source: l10n.t('assumed for {0} CPU cores (nothing measured on this machine yet)', cores), kind: 'assumed' };
}

export interface TimeEstimate {
  flopsPerToken: number;
  /** Tokens processed per epoch (rows are padded to max_length unless packed). */
  tokensPerEpoch: number;
  /** Training and samples together. */
  secondsPerEpoch: number;
  /** Of which answering sample_prompts (0 without samples). */
  sampleSecondsPerEpoch: number;
  stepsPerEpoch: number;
  throughput: Throughput;
}

/**
 * FLOPs of one sample point: every new token is one forward of all prompts over the whole width
 * (longest prompt + sample_max_new_tokens; the trainer's model has no KV cache), 2 per weight
 * per position. Prompt lengths are guessed at 4 characters a token plus the template's turn.
 */
export function sampleFlopsPerPoint(s: ModelSpec, a: ResolvedArgs): number {
  const prompts = a.sample_interval > 0 ? a.sample_prompts ?? [] : [];
  if (prompts.length === 0) return 0;
  const longest = Math.max(...prompts.map((p) => Math.ceil(p.length / 4) + 8));
  const width = longest + a.sample_max_new_tokens;
  const matmulP = parameterCount(s) - s.vocabSize * s.hiddenSize * (s.tieWordEmbeddings ? 0 : 1);
  return a.sample_max_new_tokens * prompts.length * width * 2 * matmulP;
}

/** Sequences an epoch trains: records, or with packing their tokens in max_length rows. */
export function sequencesPerEpoch(records: number, meanTokens: number, maxLength: number, packing: boolean): number {
  return packing ? Math.max(1, Math.ceil((records * Math.min(meanTokens, maxLength)) / maxLength)) : records;
}

/**
 * Time of an epoch of `data.documents` rows (records, or packed sequences); `recordTokens`, the
 * records' mean length, makes packed rows' attention as cheap as the engine's (trainingFlopsPerToken).
 */
export function estimateTime(s: ModelSpec, a: ResolvedArgs, data: { documents: number; recordTokens?: number }, throughput: Throughput): TimeEstimate {
  const dpo = a.stage === 'dpo';
  const flopsPerToken = runFlopsPerToken(s, a, data.recordTokens);
  // The trainer computes every position of a (B, max_length) row, padding included; a DPO
  // record is two rows.
  const stepsPerEpoch = Math.floor(data.documents / a.batch_size / a.gradient_accumulation);
  const tokensPerEpoch = data.documents * a.max_length * (dpo ? 2 : 1);
  const samplePoints = a.sample_interval > 0 ? stepsPerEpoch / a.sample_interval : 0;
  const sampleSecondsPerEpoch = (samplePoints * sampleFlopsPerPoint(s, a)) / throughput.flopsPerSecond;
  const secondsPerEpoch = (flopsPerToken * tokensPerEpoch) / throughput.flopsPerSecond + sampleSecondsPerEpoch;
  return { flopsPerToken, tokensPerEpoch, stepsPerEpoch, secondsPerEpoch, sampleSecondsPerEpoch, throughput };
}

export { formatBytes, formatDuration } from '../units';
