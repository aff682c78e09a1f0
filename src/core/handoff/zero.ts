// Which DeepSpeed ZeRO stage a hand-off needs, from the planner's per-GPU memory figures
// (planningEstimate: weights, gradients, optimizer state, activations on one GPU). ZeRO-1 splits
// the optimizer state over the data-parallel GPUs, ZeRO-2 the gradients too, ZeRO-3 the weights
// too; the lowest stage whose per-GPU peak fits in 90% of a GPU is chosen (each stage adds
// communication, so no more sharding than the memory needs).
import type { ResolvedArgs } from '../args/fields';
import { describedHardware, GiB } from '../hardware/types';
import type { ModelSpec } from '../model/spec';
import { planningEstimate } from '../planner/estimator';

export interface ClusterTarget {
  nodes: number;
  gpusPerNode: number;
  /** Memory of one GPU, bytes. */
  gpuMemoryBytes: number;
}

export type ZeroStage = 0 | 1 | 2 | 3;

export interface ZeroChoice {
  stage: ZeroStage;
  /** Per-GPU peak bytes with no sharding and at each ZeRO stage. */
  perGpuBytes: Record<ZeroStage, number>;
  budgetBytes: number;
  fits: boolean;
  worldSize: number;
}

export const GPU_MEMORY_SHARE = 0.9;

export function chooseZeroStage(args: ResolvedArgs, spec: ModelSpec, target: ClusterTarget): ZeroChoice {
  const worldSize = Math.max(1, target.nodes) * Math.max(1, target.gpusPerNode);
  const hw = describedHardware({ gpus: worldSize, gpuMemoryGiB: target.gpuMemoryBytes / GiB, ramGiB: 256 });
  const e = planningEstimate({ ...args, device: 'cuda', gpus: worldSize }, { model: spec, hardware: hw });
  const b = e.breakdown;
  const rest = 1 - 1 / worldSize;
  const opt = (b.optimizer ?? 0) * rest, grads = (b.gradients ?? 0) * rest, weights = (b.weights ?? 0) * rest;
  const perGpuBytes: Record<ZeroStage, number> = {
    0: e.memoryBytes,
    1: e.memoryBytes - opt,
    2: e.memoryBytes - opt - grads,
    3: e.memoryBytes - opt - grads - weights,
  };
  const budgetBytes = target.gpuMemoryBytes * GPU_MEMORY_SHARE;
  // One GPU has nothing to shard with: DeepSpeed stays off.
  const stages: ZeroStage[] = worldSize > 1 ? [0, 1, 2, 3] : [0];
  const stage = stages.find((s) => perGpuBytes[s] <= budgetBytes);
  return { stage: stage ?? (worldSize > 1 ? 3 : 0), perGpuBytes, budgetBytes, fits: stage !== undefined, worldSize };
}

/** DeepSpeed's config for the stage; "auto" values are filled in from the trainer's own arguments. */
export function deepspeedConfig(stage: ZeroStage, precision: ResolvedArgs['precision']): Record<string, unknown> {
  const zero: Record<string, unknown> = { stage, overlap_comm: true, contiguous_gradients: true };
  if (stage === 2) Object.assign(zero, { allgather_partitions: true, reduce_scatter: true, round_robin_gradients: true });
  if (stage === 3) zero.stage3_gather_16bit_weights_on_model_save = true;
  return {
    train_batch_size: 'auto',
    train_micro_batch_size_per_gpu: 'auto',
    gradient_accumulation_steps: 'auto',
    gradient_clipping: 'auto',
    zero_allow_untested_optimizer: true,
    bf16: { enabled: precision === 'bf16' },
    fp16: { enabled: precision === 'fp16' },
    zero_optimization: zero,
  };
}
