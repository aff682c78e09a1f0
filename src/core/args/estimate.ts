// Pre-flight estimate of a run's peak memory and time per epoch, from the model's config.json
// and ARGS. The CPU engine's terms mirror what it allocates (native/src/models/llama_forward.cpp
// plan(): fp32 master weights, the activations backward needs, one logits buffer reused for its
// gradient, a per-thread attention scratch) and are calibrated against the trainer's measured
// peak (test/fixtures/estimator-calibration.json). Quantized and LoMo terms follow the usual
// accounting (4.5 bits per NF4 weight with its block scale; no optimizer state for LoMo).
import { layerLinears, loraParameterCount, parameterCount, type ModelSpec } from '../model/spec';
import type { ResolvedArgs } from './fields';

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
}

export interface EstimateInputs {
  /** Worker threads the trainer will use (attention scratch is per thread). */
  threads: number;
  /** Bytes of the model's *.safetensors files (mapped while loading); defaults to params × dtype size. */
  weightFileBytes?: number;
  /** Tokens in the prepared training shards (resident during training). */
  datasetTokens?: number;
  datasetDocuments?: number;
}

/** Resident size of the trainer process before any model or data: binary, libraries, heap, thread stacks. */
export const RUNTIME_BASE_BYTES = 5 * 1024 * 1024;
export const RUNTIME_BYTES_PER_THREAD = 160 * 1024;

const GiB = 1024 ** 3;

export function dtypeBytes(dtype: string): number {
  const d = dtype.toLowerCase();
  if (d.includes('16')) return 2;
  if (d.includes('8')) return 1;
  return 4;
}

/** Bytes per stored weight for a quantization (block scales included). */
export function quantizedWeightBytes(q: ResolvedArgs['quantization']): number {
  switch (q) {
    case 'int8': return 1 + 4 / 64;
    case 'int4':
    case 'nf4': return 0.5 + 4 / 64;
    default: return 4;
  }
}

/**
 * Floats of activations + workspace the engine lays out for a (B, T) micro-batch, by kind: the
 * buffers of LlamaModel::plan() (native/src/models/llama_forward.cpp), one term per buffer.
 * test/native/estimate-layout.test.ts checks the total against the engine's own count.
 */
export function engineActivationFloats(s: ModelSpec, B: number, T: number, threads: number, loraRank: number, loraTargets: readonly string[]): { activations: number; logits: number; workspace: number } {
  const N = B * T;
  const C = s.hiddenSize, F = s.intermediateSize, V = s.vocabSize;
  const QD = s.numHeads * s.headDim, KD = s.numKvHeads * s.headDim;
  const al = (n: number) => Math.ceil(n / 16) * 16; // the engine aligns each slice to 64 bytes
  const lin = layerLinears(s);
  // resid_in, rstd1, x1, q, k, v, attention row log-sum-exp [B, NH, T], att, mid, rstd2, x2, gate, up.
  let perLayer = al(N * C) + al(N) + al(N * C) + al(N * QD) + 2 * al(N * KD) + al(B * s.numHeads * T) + al(N * QD) + al(N * C) + al(N) + al(N * C) + 2 * al(N * F);
  if (loraRank > 0) for (const t of loraTargets) if (lin[t]) perLayer += al(N * loraRank);
  // resid_final, rstdf, xf, then losses and each logits row's log-sum-exp.
  const activations = s.numLayers * perLayer + al(N * C) + al(N) + al(N * C) + 2 * al(N);
  const logits = al(N * V);
  // m, dm, dup, dres, dx, dq, datt, dk, dv, per-thread attention blocks (2 x 64 rows x T), cos, sin.
  let workspace = 3 * al(N * F) + 2 * al(N * C) + 2 * al(N * QD) + 2 * al(N * KD) + al(Math.max(1, threads) * 2 * 64 * T) + 2 * al((T * s.headDim) / 2);
  if (loraRank > 0) workspace += al(N * loraRank) + al(N * Math.max(C, F, QD));
  return { activations, logits, workspace };
}

export function estimateMemory(s: ModelSpec, a: ResolvedArgs, inp: EstimateInputs): MemoryEstimate {
  const P = parameterCount(s);
  const adapters = a.method === 'lora' || a.method === 'qlora';
  const rank = adapters ? a.lora_rank : 0;
  const loraP = adapters ? loraParameterCount(s, rank, a.lora_target_modules) : 0;
  const trainable = adapters ? loraP : P;
  const B = a.batch_size, T = a.max_length;

  const weightBytes = a.method === 'qlora' || a.quantization !== 'none' ? P * quantizedWeightBytes(a.quantization === 'none' ? 'nf4' : a.quantization) : P * 4;
  const gradBytes = a.method === 'lomo'
    ? 4 * Math.max(...Object.values(layerLinears(s)).map(([o, i]) => o * i), s.vocabSize * s.hiddenSize) // one tensor's gradient at a time
    : 4 * trainable;
  const optStates = a.method === 'lomo' ? 0 : a.optimizer === 'adamw' ? 8 * trainable : a.optimizer === 'lion' ? 4 * trainable : 0;
  const f = engineActivationFloats(s, B, T, inp.threads, rank, a.lora_target_modules);
  let activations = f.activations * 4;
  if (a.gradient_checkpointing) {
    // Keep each layer's input only; one layer's activations are recomputed at a time.
    const perLayer = (f.activations - 3 * B * T * s.hiddenSize) / Math.max(1, s.numLayers);
    activations = s.numLayers * B * T * s.hiddenSize * 4 + perLayer * 4 + 3 * B * T * s.hiddenSize * 4;
  }
  const tokensBuf = B * T * 9; // tokens + targets (uint32) + mask
  const data = (inp.datasetTokens ?? 0) * 5 + ((inp.datasetDocuments ?? 0) + 1) * 8;
  const runtime = RUNTIME_BASE_BYTES + inp.threads * RUNTIME_BYTES_PER_THREAD;

  const parts: MemoryPart[] = [
    { name: 'weights', bytes: weightBytes },
    { name: 'adapters', bytes: adapters ? loraP * 4 : 0 },
    { name: 'gradients', bytes: gradBytes },
    { name: 'optimizer states', bytes: optStates },
    { name: 'activations', bytes: activations },
    { name: 'logits', bytes: f.logits * 4 },
    { name: 'workspace', bytes: f.workspace * 4 + tokensBuf },
    { name: 'data', bytes: data },
    { name: 'runtime', bytes: runtime },
  ];
  const trainPeak = parts.reduce((n, p) => n + p.bytes, 0);
  const fileBytes = inp.weightFileBytes ?? P * dtypeBytes(s.torchDtype);
  // The fp32 engine maps the whole file while it converts (measured); a quantizing loader
  // converts tensor by tensor, holding one tensor's pages at a time.
  const largestTensor = Math.max(s.vocabSize * s.hiddenSize, ...Object.values(layerLinears(s)).map(([o, i]) => o * i)) * dtypeBytes(s.torchDtype);
  const quantized = a.method === 'qlora' || a.quantization !== 'none';
  const loadPeak = runtime + weightBytes + (quantized ? largestTensor : fileBytes);
  return { total: Math.max(trainPeak, loadPeak), parts, loadPeak, params: P, trainableParams: trainable };
}

/**
 * Training FLOPs per token: forward 2 per weight, backward 2 more for activation gradients and
 * (for trained weights) 2 for weight gradients; attention scores add 2·keys·width per layer per
 * matmul pair, keys = T, or min(T, window) in sliding-window layers. Checkpointing repeats the
 * forward.
 */
export function trainingFlopsPerToken(s: ModelSpec, a: ResolvedArgs): number {
  const P = parameterCount(s);
  const adapters = a.method === 'lora' || a.method === 'qlora';
  const trainable = adapters ? loraParameterCount(s, a.lora_rank, a.lora_target_modules) : P;
  const embed = s.vocabSize * s.hiddenSize; // the embedding lookup is not a matmul
  const matmulP = P - embed * (s.tieWordEmbeddings ? 0 : 1);
  const windowed = Math.min(s.slidingLayers, s.numLayers);
  const keys = (s.numLayers - windowed) * a.max_length + windowed * Math.min(a.max_length, s.slidingWindow || a.max_length);
  const attn = 4 * keys * s.numHeads * s.headDim; // QKᵀ and AV, forward
  const forward = 2 * matmulP + attn;
  const backward = 2 * matmulP + 2 * attn + 2 * (adapters ? trainable : matmulP);
  return forward + backward + (a.gradient_checkpointing ? forward : 0);
}

export interface Throughput {
  flopsPerSecond: number;
  /** Where the number comes from, shown to the user. */
  source: string;
}

/** Achieved FLOP/s of a finished run, from its step events' tokens_per_s. */
export function throughputFromRun(tokensPerSecond: readonly number[], flopsPerToken: number, source: string): Throughput | undefined {
  const xs = tokensPerSecond.filter((x) => Number.isFinite(x) && x > 0).sort((p, q) => p - q);
  if (xs.length === 0) return undefined;
  return { flopsPerSecond: xs[Math.floor(xs.length / 2)] * flopsPerToken, source };
}

/** A conservative guess before anything was measured: ~8 GFLOP/s per core with AVX2/FMA fp32. */
export function assumedCpuThroughput(cores: number, avx2: boolean): Throughput {
  return { flopsPerSecond: Math.max(1, cores) * (avx2 ? 8e9 : 2e9), source: `assumed for ${cores} CPU cores; run a training once to measure this machine` };
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

export function estimateTime(s: ModelSpec, a: ResolvedArgs, data: { documents: number }, throughput: Throughput): TimeEstimate {
  const flopsPerToken = trainingFlopsPerToken(s, a);
  // The trainer computes every position of a (B, max_length) row, padding included.
  const stepsPerEpoch = Math.floor(data.documents / a.batch_size / a.gradient_accumulation);
  const tokensPerEpoch = data.documents * a.max_length;
  const samplePoints = a.sample_interval > 0 ? stepsPerEpoch / a.sample_interval : 0;
  const sampleSecondsPerEpoch = (samplePoints * sampleFlopsPerPoint(s, a)) / throughput.flopsPerSecond;
  const secondsPerEpoch = (flopsPerToken * tokensPerEpoch) / throughput.flopsPerSecond + sampleSecondsPerEpoch;
  return { flopsPerToken, tokensPerEpoch, stepsPerEpoch, secondsPerEpoch, sampleSecondsPerEpoch, throughput };
}

export { formatBytes, formatDuration } from '../units';
