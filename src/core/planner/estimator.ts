// Memory and time of one run, as the planner needs them to choose a method, a quantization and a
// batch size, and to check any proposed ARGS.json before it is shown. The planner depends only on
// the Estimator type, so the pre-flight estimator of src/core/args plugs in here unchanged.
import { engineSupport } from '../args/engine-support';
import { runFlopsPerToken, type Throughput, type ThroughputKind } from '../args/estimate';
import type { ResolvedArgs } from '../args/fields';
import type { HardwareProfile } from '../hardware/types';
import { GiB } from '../hardware/types';
import { layerLinears, loraParameterCount, parameterCount, type ModelSpec } from '../model/spec';
import { formatDuration as formatUnitDuration } from '../units';
import * as l10n from '@vscode/l10n';

export interface DatasetShape {
  records: number;
  /** Mean tokens per record (after the chat template), or characters / 4 when no tokenizer was read. */
  meanTokens: number;
}

export interface EstimateContext {
  model: ModelSpec;
  hardware: HardwareProfile;
  dataset?: DatasetShape;
  /** A limit the user set ("make it fit in 8 GB"), below what the hardware offers. */
  memoryLimitBytes?: number;
}

export interface PlanEstimate {
  device: 'cpu' | 'cuda';
  /** Peak memory on one device (one GPU, or the host for CPU training). */
  memoryBytes: number;
  /** What that device offers this run (free GPU memory or available RAM, capped by the user's limit). */
  budgetBytes: number;
  fits: boolean;
  /** Where the memory goes: weights, gradients, optimizer, activations, overhead. */
  breakdown: Record<string, number>;
  /** Wall-clock estimate, when the dataset size is known. */
  seconds?: number;
  optimizerSteps?: number;
  /** Where the speed behind `seconds` comes from, in words ("measured on this machine: …"). */
  speed?: string;
  /** 'run' or 'measured' on this machine; 'assumed' when nothing was measured. */
  speedKind?: ThroughputKind;
  notes: string[];
}

export type Estimator = (args: ResolvedArgs, ctx: EstimateContext) => PlanEstimate;

/** The device a plan trains on: cuda when asked for or (auto) when the machine has a GPU. */
export function planDevice(args: Pick<ResolvedArgs, 'device'>, hw: HardwareProfile): 'cpu' | 'cuda' {
  if (args.device === 'cpu') return 'cpu';
  if (args.device === 'cuda') return 'cuda';
  return hw.gpus.length > 0 ? 'cuda' : 'cpu';
}

/** Memory one device offers: the smallest GPU's free (else total) memory, or available RAM. */
export function deviceBudget(device: 'cpu' | 'cuda', hw: HardwareProfile, limit?: number): number {
  let budget: number;
  if (device === 'cuda' && hw.gpus.length > 0) budget = Math.min(...hw.gpus.map((g) => g.memoryFreeBytes ?? g.memoryTotalBytes));
  else budget = hw.ramAvailableBytes > 0 ? hw.ramAvailableBytes : hw.ramTotalBytes;
  return limit !== undefined ? Math.min(budget, limit) : budget;
}

/** Bytes per stored base weight for a quantization (4-bit formats carry a scale per 64 weights). */
export function weightBytes(quantization: string, computeBytes: number): number {
  switch (quantization) {
    case 'int8': return 1 + 4 / 64;
    case 'int4':
    case 'nf4': return 0.5 + 4 / 64;
    default: return computeBytes;
  }
}

/** Optimizer state bytes per trained parameter (fp32 moments). */
export function optimizerStateBytes(optimizer: string): number {
  return optimizer === 'adamw' ? 8 : optimizer === 'lion' ? 4 : 0;
}

/** Dense bf16 throughput a GPU sustains in training (FLOP/s): its peak as the engine probed it, else by compute capability. */
function gpuFlops(g: Pick<HardwareProfile['gpus'][number], 'computeCapability' | 'bf16PeakTflops'>): number {
  const cc = Number(g.computeCapability ?? '8.0');
  const peak = g.bf16PeakTflops ? g.bf16PeakTflops * 1e12 : cc >= 9 ? 800e12 : cc >= 8.9 ? 160e12 : cc >= 8 ? 250e12 : cc >= 7 ? 100e12 : 20e12;
  return peak * 0.35; // model FLOPs utilisation of an unfused trainer
}

/** fp32 FLOP/s guessed for the CPU from its FMA lanes, cores and a clock (only for a described machine). */
function cpuFlops(hw: HardwareProfile): number {
  const lanes = hw.cpuFeatures.includes('avx512f') ? 32 : hw.cpuFeatures.includes('avx2') ? 16 : 4;
  return Math.max(1, hw.cores) * lanes * 2 * 2.5e9 * 0.5;
}

const tflops = (f: number) => `${Number((f / 1e12).toPrecision(3))} TFLOP/s`;

/** A GPU's training speed before any run on it was timed: the planner's assumed share of its peak. */
export function assumedGpuThroughput(g: Pick<HardwareProfile['gpus'][number], 'name' | 'computeCapability' | 'bf16PeakTflops'>): Throughput {
  const rate = gpuFlops(g);
  return { flopsPerSecond: rate, source: l10n.t('assumed for {0}{1}: {2} (bf16 at 35% of the card\'s peak; nothing measured on it yet)', '', g.name, tflops(rate)), kind: 'assumed' };
}

/**
 * The planner's own estimate: weights + gradients + optimizer state + activations + a fixed
 * overhead, per device. Activations follow the usual per-token, per-layer count of a decoder,
 * attention scores as the engine that runs the plan holds them (engine-support.ts).
 */
export const planningEstimate: Estimator = (args, ctx) => {
  const { model: s, hardware: hw } = ctx;
  const device = planDevice(args, hw);
  const compute = device === 'cpu' || args.precision === 'fp32' ? 4 : 2;
  const P = parameterCount(s);
  const notes: string[] = [];
  const b: Record<string, number> = {};
  const opt = optimizerStateBytes(args.optimizer);
  if (args.method === 'full' || args.method === 'lomo') {
    // Mixed precision keeps fp32 master weights for AdamW-style updates; LOMO updates in place.
    const master = compute === 2 && args.method === 'full' ? 4 : 0;
    b.weights = P * (compute + master);
    if (args.method === 'full') {
      b.gradients = P * compute;
      b.optimizer = P * opt;
    } else {
      // LOMO fuses the update into backward: only the largest layer's gradient lives at once.
      const perLayer = Object.values(layerLinears(s)).reduce((n, [o, i]) => n + o * i, 0);
      b.gradients = Math.max(perLayer, s.vocabSize * s.hiddenSize) * 4;
      b.optimizer = 0;
      if (args.optimizer !== 'sgd') notes.push(l10n.t('LOMO updates with plain SGD; the optimizer setting is ignored.'));
    }
  } else {
    const quant = args.method === 'qlora' ? (args.quantization === 'none' ? 'nf4' : args.quantization) : args.quantization;
    b.weights = P * weightBytes(quant, compute);
    const L = loraParameterCount(s, args.lora_rank, args.lora_target_modules);
    b.gradients = L * 4;
    b.optimizer = L * (opt + (compute === 2 ? 4 : 0));
    if (quant !== 'none') b.dequant = Math.max(...Object.values(layerLinears(s)).map(([o, i]) => o * i)) * compute;
  }
  // DPO: each pair is two sequences, chosen and rejected, in the same micro-batch.
  const pairs = args.stage === 'dpo' ? 2 : 1;
  const B = args.batch_size * pairs, T = args.max_length;
  // Attention scores: a T×T matrix per head where the engine materialises them; flash-style
  // attention (the CUDA backend, PyTorch's SDPA) keeps one log-sum-exp per row instead.
  const scoresPerToken = engineSupport.attention(device) === 'materialized' ? s.numHeads * T * 2 : s.numHeads * 4;
  // With checkpointing each layer keeps only its input (the engine's recompute_layer; HF and torchtune alike).
  const perTokenLayer = args.gradient_checkpointing ? s.hiddenSize * compute : s.hiddenSize * compute * 16 + s.intermediateSize * compute * 3;
  const attention = args.gradient_checkpointing ? 0 : scoresPerToken * compute;
  const layersLive = args.gradient_checkpointing ? s.numLayers + 1 : s.numLayers;
  b.activations = B * T * layersLive * (perTokenLayer + attention);
  if (args.gradient_checkpointing) b.activations += B * T * (s.hiddenSize * 16 + s.intermediateSize * 3 + scoresPerToken) * compute;
  // One fp32 logits buffer, its gradient written in place (the CPU engine; chunked cross-entropy on GPUs).
  b.logits = B * T * s.vocabSize * 4;
  b.overhead = device === 'cuda' ? 0.6 * GiB : 0.3 * GiB;
  const memoryBytes = Object.values(b).reduce((a, x) => a + x, 0);
  const budgetBytes = deviceBudget(device, hw, ctx.memoryLimitBytes);
  const fits = memoryBytes <= budgetBytes * 0.9;
  let seconds: number | undefined, optimizerSteps: number | undefined, speed: string | undefined;
  if (ctx.dataset && ctx.dataset.records > 0) {
    const kept = Math.max(1, Math.round(ctx.dataset.records * (1 - (args.eval_split ?? 0))));
    const tokensPerRecord = Math.min(T, Math.max(1, ctx.dataset.meanTokens));
    const sequences = args.packing ? Math.ceil((kept * tokensPerRecord) / T) : kept;
    const perStep = B * args.gradient_accumulation * Math.max(1, device === 'cuda' ? args.gpus : 1);
    optimizerSteps = args.max_steps ?? Math.max(1, Math.ceil((sequences / perStep) * args.epochs));
    const tokens = optimizerSteps * perStep * (args.packing ? T : tokensPerRecord) * pairs;
    // The engine's count: causal attention (per record in packed rows), adapters' own products,
    // checkpointing's recompute, DPO's reference forward.
    const flopsPerToken = runFlopsPerToken(s, args, ctx.dataset.meanTokens);
    const gpus = Math.min(args.gpus, hw.gpus.length);
    const rate = device === 'cuda' ? gpuFlops(hw.gpus[0]) * gpus : cpuFlops(hw);
    seconds = (tokens * flopsPerToken) / rate;
    speed = device === 'cuda'
      ? l10n.t('assumed for {0}{1}: {2} (bf16 at 35% of the card\'s peak; nothing measured on it yet)', gpus > 1 ? `${gpus} x ` : '', hw.gpus[0].name, tflops(rate))
      : l10n.t('assumed from {0} cores\' FMA lanes: {1} GFLOP/s', hw.cores, Number((rate / 1e9).toPrecision(3)));
  }
  return { device, memoryBytes, budgetBytes, fits, breakdown: b, seconds, optimizerSteps, speed, speedKind: speed ? 'assumed' : undefined, notes };
};

export function formatDuration(seconds: number | undefined): string {
  return seconds === undefined ? l10n.t('unknown (dataset size not read)') : formatUnitDuration(seconds);
}
