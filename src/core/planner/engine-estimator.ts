// The estimator the planner checks plans with. CPU runs use the pre-flight estimator of
// src/core/args (it mirrors what the CPU engine allocates and is calibrated against tuner-train's
// measured peak), so a plan shown in chat and the diagnostics on ARGS.json agree; their time
// divides the engine's FLOPs by this machine's speed (src/core/args/cpu-speed.ts: a finished run
// of the same model shape, else the engine's sgemm timed here, else a stated guess). A run on this
// machine's GPU (probed, one GPU) that tuner-train's device path takes gets that path's memory
// (estimate-device.ts, calibrated against its measured allocations); other GPU runs (several GPUs,
// a described machine, which a hand-off's PyTorch trainer may run) the planner's mixed-precision
// accounting. GPU time stays the planner's assumed share of the
// card's peak (estimator.ts gpuFlops): no GPU run has been timed to calibrate it.
import { deviceTrainingRefuses } from '../args/engine-support';
import { assumedCpuThroughput, estimateMemory, estimateTime, sequencesPerEpoch, type Throughput } from '../args/estimate';
import { estimateDeviceMemory } from '../args/estimate-device';
import { modelShapeKey } from '../args/throughput';
import type { HardwareProfile } from '../hardware/types';
import type { ModelSpec } from '../model/spec';
import { planDevice, planningEstimate, deviceBudget, type Estimator } from './estimator';
import * as l10n from '@vscode/l10n';

/** This machine's CPU training speed for a model shape. */
export type CpuSpeed = (spec: ModelSpec, hardware: HardwareProfile) => Throughput;

/** Before anything was measured: the core-count guess, which says it is one. */
export const assumedCpuSpeed: CpuSpeed = (_spec, hw) => assumedCpuThroughput(hw.cores, hw.cpuFeatures.includes('avx2'));

/** The planner's estimator with CPU time from `speed` (one speed per model shape and machine, kept). */
export function engineEstimator(speed: CpuSpeed = assumedCpuSpeed): Estimator {
  const speeds = new Map<string, Throughput>();
  const speedFor = (spec: ModelSpec, hw: HardwareProfile) => {
    const key = JSON.stringify([modelShapeKey(spec), hw.cpuModel, hw.cores]);
    let t = speeds.get(key);
    if (!t) speeds.set(key, (t = speed(spec, hw)));
    return t;
  };
  return (args, ctx) => {
    const device = planDevice(args, ctx.hardware);
    if (device === 'cuda') {
      const planned = planningEstimate(args, ctx);
      if (ctx.hardware.gpuSource === 'described' || args.gpus > 1 || deviceTrainingRefuses(args, ctx.model, ctx.hardware.gpus[0]?.computeCapability) !== undefined) return planned;
      const gpu = estimateDeviceMemory(ctx.model, args);
      const breakdown = Object.fromEntries(gpu.parts.map((p) => [p.name, p.bytes]));
      return { ...planned, memoryBytes: gpu.total, fits: gpu.total <= planned.budgetBytes * 0.9, breakdown };
    }
    const hw = ctx.hardware;
    const threads = args.threads > 0 ? args.threads : Math.max(1, hw.threads);
    const mem = estimateMemory(ctx.model, args, { threads, datasetDocuments: ctx.dataset?.records, datasetTokens: ctx.dataset ? ctx.dataset.records * ctx.dataset.meanTokens : undefined });
    const budgetBytes = deviceBudget('cpu', hw, ctx.memoryLimitBytes);
    const breakdown: Record<string, number> = {};
    for (const p of mem.parts) breakdown[p.name] = p.bytes;
    const throughput = speedFor(ctx.model, hw);
    let seconds: number | undefined, optimizerSteps: number | undefined;
    if (ctx.dataset && ctx.dataset.records > 0) {
      const kept = Math.max(1, Math.round(ctx.dataset.records * (1 - args.eval_split)));
      const documents = sequencesPerEpoch(kept, ctx.dataset.meanTokens, args.max_length, args.packing);
      const t = estimateTime(ctx.model, args, { documents, recordTokens: ctx.dataset.meanTokens }, throughput);
      const perEpoch = Math.max(1, t.stepsPerEpoch);
      optimizerSteps = args.max_steps ?? Math.max(1, Math.ceil(perEpoch * args.epochs));
      seconds = (t.secondsPerEpoch / perEpoch) * optimizerSteps;
    }
    const notes = mem.loadPeak > mem.total - 1 ? [l10n.t('Peak memory is reached while loading the weights.')] : [];
    return { device, memoryBytes: mem.total, budgetBytes, fits: mem.total <= budgetBytes * 0.9, breakdown, seconds, optimizerSteps, notes, speed: throughput.source, speedKind: throughput.kind };
  };
}

/** The estimator with no measurement: CPU time from the core-count guess. */
export const defaultEstimator: Estimator = engineEstimator();
