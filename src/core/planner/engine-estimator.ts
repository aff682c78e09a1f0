// The estimator the planner checks plans with. CPU runs use the pre-flight estimator of
// src/core/args (it mirrors what the CPU engine allocates and is calibrated against tuner-train's
// measured peak), so a plan shown in chat and the diagnostics on ARGS.json agree. GPU runs use
// the planner's mixed-precision accounting (bf16 weights, fp32 optimizer state): the CPU engine's
// fp32 layout does not describe them.
import { assumedCpuThroughput, estimateMemory, estimateTime } from '../args/estimate';
import { planDevice, planningEstimate, deviceBudget, type Estimator } from './estimator';

export const defaultEstimator: Estimator = (args, ctx) => {
  const device = planDevice(args, ctx.hardware);
  if (device === 'cuda') return planningEstimate(args, ctx);
  const hw = ctx.hardware;
  const threads = args.threads > 0 ? args.threads : Math.max(1, hw.threads);
  const mem = estimateMemory(ctx.model, args, { threads, datasetDocuments: ctx.dataset?.records, datasetTokens: ctx.dataset ? ctx.dataset.records * ctx.dataset.meanTokens : undefined });
  const budgetBytes = deviceBudget('cpu', hw, ctx.memoryLimitBytes);
  const breakdown: Record<string, number> = {};
  for (const p of mem.parts) breakdown[p.name] = p.bytes;
  let seconds: number | undefined, optimizerSteps: number | undefined;
  if (ctx.dataset && ctx.dataset.records > 0) {
    const kept = Math.max(1, Math.round(ctx.dataset.records * (1 - args.eval_split)));
    const t = estimateTime(ctx.model, args, { documents: kept }, assumedCpuThroughput(hw.cores, hw.cpuFeatures.includes('avx2')));
    const perEpoch = Math.max(1, t.stepsPerEpoch);
    optimizerSteps = args.max_steps ?? Math.max(1, Math.ceil(perEpoch * args.epochs));
    seconds = (t.secondsPerEpoch / perEpoch) * optimizerSteps;
  }
  const notes = mem.loadPeak > mem.total - 1 ? ['Peak memory is reached while loading the weights.'] : [];
  return { device, memoryBytes: mem.total, budgetBytes, fits: mem.total <= budgetBytes * 0.9, breakdown, seconds, optimizerSteps, notes };
};
