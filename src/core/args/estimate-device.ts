// Peak GPU memory of a run on tuner-train's device path (native/src/device): what DeviceModel
// uploads per method (device_model.cpp upload_base / setup_lora), the DeviceOptimizer's states and
// the activations DeviceModel::Impl::plan() lays out for a (B, T) micro-batch (256-byte aligned
// slices in one allocation), term by term, plus a stated CUDA context overhead. The trainer's
// device_memory.peak_bytes counts exactly these allocations; host_ops (the device ops' CPU
// stand-in) makes the same ones except the attention backward's workspace, so
// test/fixtures/device-memory-calibration.json (scripts/calibrate-device-memory.mjs) measures the
// rest on the CPU, with host_ops' workspace formula swapped in (attentionWorkspace below).
import { layerLinears, layerModules, loraParameterCount, loraTargetsFor, parameterCount, type ModelSpec } from '../model/spec';
import { baseQuantization, optimizerStateBytes, quantizedMatrixBytes, type MemoryPart } from './estimate';
import type { ResolvedArgs } from './fields';

/**
 * What a CUDA process holds on the GPU beyond the ops' own allocations: the context and its
 * kernels' modules (static runtime, ~300-500 MiB on Ampere/Hopper), the stream-ordered pool's
 * slack and the ops' short-lived scratch (reductions, cuBLASLt's workspace). Not measured here
 * (no GPU was lent to this check): a stated allowance, as the planner's GPU overhead.
 */
export const CUDA_CONTEXT_BYTES = 0.6 * 1024 ** 3;

/** Where the attention backward's workspace is sized: one layer's shape. */
export interface AttentionShape { B: number; T: number; NH: number; NKV: number; HD: number }

/**
 * The CUDA attention backward's workspace (native/src/cuda/attention_backward.cu carve_workspace)
 * with its default deterministic dQ (written once per element, so no fp32 dQ accumulator): the row
 * dots D [B,NH,T] and the SIMT path's dK, dV accumulators [B,T,NKV,HD], each rounded up to 64 floats.
 */
export function cudaAttentionWorkspaceBytes(p: AttentionShape): number {
  const r = (n: number) => Math.ceil(n / 64) * 64;
  return 4 * (r(p.B * p.NH * p.T) + 2 * r(p.B * p.T * p.NKV * p.HD));
}

export interface DeviceMemoryEstimate {
  /** Peak bytes on the GPU: the allocations plus the CUDA context. */
  total: number;
  /** The ops' allocations at the training step's peak (the trainer's device_memory.peak_bytes). */
  allocated: number;
  parts: MemoryPart[];
}

/** 256-byte aligned slice, as plan() takes them. */
const slice = (bytes: number) => Math.ceil(bytes / 256) * 256;

/** Bytes of DeviceModel::Impl::plan(B, T): per-layer activations, the head's buffers and the shared scratch. */
export function deviceActivationBytes(s: ModelSpec, B: number, T: number, rank: number, targets: readonly string[], checkpointing: boolean, workspace: (p: AttentionShape) => number = cudaAttentionWorkspaceBytes): { activations: number; logits: number; workspace: number } {
  const N = B * T, C = s.hiddenSize, F = s.intermediateSize, V = s.vocabSize;
  const QD = s.numHeads * s.headDim, KD = s.numKvHeads * s.headDim;
  const f32 = (n: number) => slice(4 * n), b16 = (n: number) => slice(2 * n);
  const adapted = rank > 0 ? layerModules(s).filter((l) => loraTargetsFor(s, targets).includes(l.module)).length : 0;
  const t = s.traits, gated = !t.ungatedMlp, gemma = s.architecture === 'Gemma3ForCausalLM';
  // resid_in, rstd1, x1, q, k, v, y, lse [B,NH,T], mid, rstd2, x2, gate (gated MLPs), up, t[j] [N,r];
  // LayerNorm means, q/k norm inputs and rstd, Gemma's sandwich-norm inputs and rstd.
  const layer = f32(N * C) + f32(N) + b16(N * C) + b16(N * QD) + 2 * b16(N * KD) + b16(N * QD) + f32(B * s.numHeads * T) + f32(N * C) + f32(N) + b16(N * C) + (gated ? 2 : 1) * f32(N * F) + adapted * b16(N * rank)
    + (t.layerNorm ? 2 * f32(N) : 0) + (t.qkNorm ? f32(N * QD) + f32(N * KD) + f32(N * s.numHeads) + f32(N * s.numKvHeads) : 0) + (t.sandwichNorms ? 2 * f32(N * C) + 2 * f32(N) : 0);
  // Checkpointing: every layer keeps its input; one set of the rest is shared.
  const layers = s.numLayers === 0 ? 0 : checkpointing ? layer + (s.numLayers - 1) * f32(N * C) : s.numLayers * layer;
  // resid_final, rstdf, xf, xf_packed; losses, lse.
  const activations = layers + f32(N * C) + f32(N) + 2 * b16(N * C) + 2 * f32(N);
  const logits = f32(N * V) + b16(N * V) + (t.finalSoftcap ? f32(N * V) : 0);
  const inmax = Math.max(C, F, QD);
  // x32 q32 k32 v32, m32 m16, dm dgate dup, dgate16 dup16, dres dres16 dx, datt datt16 dq16 dk16 dv16.
  let scratch = f32(N * C) + f32(N * QD) + 2 * f32(N * KD) + f32(N * F) + b16(N * F) + (gated ? 3 : 2) * f32(N * F) + (gated ? 2 : 1) * b16(N * F)
    + f32(N * C) + b16(N * C) + f32(N * C) + f32(N * QD) + 2 * b16(N * QD) + 2 * b16(N * KD);
  if (rank > 0) scratch += f32(N * rank) + b16(N * rank) + 2 * f32(N * inmax) + b16(N * inmax);
  const ws = workspace({ B, T, NH: s.numHeads, NKV: s.numKvHeads, HD: s.headDim });
  // tokens, targets, mask, sample_start, positions, RoPE cos and sin [T, HD/2].
  scratch += (ws > 0 ? slice(ws) : 0) + 4 * slice(4 * N) + slice(N) + 2 * f32((T * s.headDim) / 2);
  // The other architectures (device_arch.cpp): the final LayerNorm's mean, Bloom's embedding before
  // its LayerNorm with mean and rstd, the fused q/k/v output (fp32 + bf16 gradient), the q/k norms'
  // input gradient, GPT-2's position ids, Bloom's ALiBi slopes, Gemma's local RoPE tables and its
  // ones and (1 + w) weight.
  if (t.layerNorm) scratch += f32(N);
  if (t.embedNorm) scratch += f32(N * C) + 2 * f32(N);
  if (t.fusedQkv) scratch += f32(N * (QD + 2 * KD)) + b16(N * (QD + 2 * KD));
  if (t.qkNorm) scratch += f32(N * Math.max(QD, KD));
  if (t.learnedPositions) scratch += slice(4 * N);
  if (s.architecture === 'BloomForCausalLM') scratch += f32(s.numHeads);
  if (gemma) scratch += 2 * f32((T * s.headDim) / 2) + 2 * f32(Math.max(C, s.headDim));
  return { activations, logits, workspace: scratch };
}

/**
 * The GPU's peak for a run the device path takes (deviceTrainingRefuses says which):
 *   full fine-tune: every weight fp32 (masters) + a bf16 copy of the matrices products read
 *     (decoder linears, the lm_head), an fp32 gradient of every weight;
 *   LoRA: the frozen matrices bf16 only, the rest (embedding, norms, biases) fp32, no base gradients;
 *   QLoRA: the linears the format takes quantized (as the CPU engine stores them) plus one bf16
 *     dequantized copy of the largest, for input gradients;
 *   adapters: fp32 weights, their bf16 copy and fp32 gradients; the optimizer's states per
 *   trained weight; the activations of one micro-batch (DPO trains on the CPU, so B = batch_size).
 */
export function estimateDeviceMemory(s: ModelSpec, a: ResolvedArgs, workspace: (p: AttentionShape) => number = cudaAttentionWorkspaceBytes): DeviceMemoryEstimate {
  const P = parameterCount(s);
  const lora = a.method === 'lora' || a.method === 'qlora';
  const rank = lora ? a.lora_rank : 0;
  const loraP = lora ? loraParameterCount(s, rank, a.lora_target_modules) : 0;
  const quant = baseQuantization(a);
  const block = { int8: 1, int4: 32, nf4: 64 } as const;
  const linears = Object.values(layerLinears(s));
  const quantizable = quant ? linears.filter(([, i]) => i % block[quant] === 0) : [];
  const matrixWeights = s.numLayers * linears.reduce((n, [o, i]) => n + o * i, 0);
  const quantizedWeights = s.numLayers * quantizable.reduce((n, [o, i]) => n + o * i, 0);
  const head = s.vocabSize * s.hiddenSize; // the lm_head, or the tied embedding that serves as one
  // Products read bf16 copies of the unquantized decoder linears and of the head.
  const bf16Weights = matrixWeights - quantizedWeights + head;
  // fp32: everything in a full tune; with adapters the weights no product reads (norms, biases,
  // an untied embedding), and a tied embedding, which the lookup reads in fp32.
  const fp32Weights = lora ? P - matrixWeights - (s.tieWordEmbeddings ? 0 : head) : P;
  const quantBytes = quant ? s.numLayers * quantizable.reduce((n, [o, i]) => n + quantizedMatrixBytes(quant, o, i), 0) : 0;
  const dequant = quantizable.length ? 2 * Math.max(...quantizable.map(([o, i]) => o * i)) : 0;
  const trainable = lora ? loraP : P;
  const f = deviceActivationBytes(s, a.batch_size, a.max_length, rank, a.lora_target_modules, a.gradient_checkpointing, workspace);
  const parts: MemoryPart[] = [
    { name: 'weights', bytes: 4 * fp32Weights + 2 * bf16Weights + quantBytes },
    { name: 'adapters', bytes: 6 * loraP },
    { name: 'gradients', bytes: 4 * trainable },
    { name: 'optimizer states', bytes: optimizerStateBytes(a) * trainable },
    { name: 'activations', bytes: f.activations },
    { name: 'logits', bytes: f.logits },
    { name: 'workspace', bytes: f.workspace + dequant },
  ];
  const allocated = parts.reduce((n, p) => n + p.bytes, 0);
  parts.push({ name: 'runtime', bytes: CUDA_CONTEXT_BYTES });
  return { total: allocated + CUDA_CONTEXT_BYTES, allocated, parts };
}
