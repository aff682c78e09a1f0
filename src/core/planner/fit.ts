// Makes a plan fit the memory it has: tries methods from the one asked for towards cheaper ones
// (full -> lomo, lora -> qlora), batch sizes from large to 1, then gradient checkpointing, then
// shorter sequences when the length was not set by the user. Effective batch stays the same by
// raising gradient accumulation (LOMO updates during backward: it accumulates nothing). A
// candidate the engine refuses on the plan's device is never proposed.
import { resolveArgs, type Args, type ResolvedArgs } from '../args/fields';
import type { EstimateContext, Estimator, PlanEstimate } from './estimator';
import * as l10n from '@vscode/l10n';

export type Method = ResolvedArgs['method'];

export interface FitOptions {
  /** Methods to try, in order. */
  methods: Method[];
  /** Keep this quantization for lora (e.g. the user asked for int8). */
  quantization?: ResolvedArgs['quantization'];
  /** Batch sizes to try when the user did not fix one. */
  batchSizes: number[];
  /** Sequences per optimizer step to keep. */
  effectiveBatch: number;
  /** The user set max_length: never shorten it. */
  lengthFixed: boolean;
  /** The user set gradient checkpointing on or off. */
  checkpointing?: boolean;
  /** Why the engine that runs the plan would refuse a candidate (src/core/args/engine-support.ts). */
  refuses?: (args: ResolvedArgs) => string | undefined;
}

export interface FitResult {
  args: ResolvedArgs;
  estimate: PlanEstimate;
  /** What had to change to fit, in words, for the reasons column. */
  adjustments: string[];
  /** Methods the engine refused, with its reason (first refusal of each). */
  refused: Partial<Record<Method, string>>;
  /** The engine refused every candidate: the plan returned cannot run there. */
  noneAccepted: boolean;
}

export const LORA_ATTENTION = ['q_proj', 'k_proj', 'v_proj', 'o_proj'] as ResolvedArgs['lora_target_modules'];
export const LORA_ALL_LINEAR = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as ResolvedArgs['lora_target_modules'];

/** Method-specific fields: quantization and adapters follow the method. */
export function withMethod(base: ResolvedArgs, method: Method, quantization?: ResolvedArgs['quantization']): ResolvedArgs {
  const a: ResolvedArgs = { ...base, method };
  if (method === 'qlora') a.quantization = quantization === 'int4' ? 'int4' : 'nf4';
  else if (method === 'lora') a.quantization = quantization === 'int8' ? 'int8' : quantization === 'int4' || quantization === 'nf4' ? 'none' : quantization ?? 'none';
  else a.quantization = 'none';
  if (method === 'lomo') a.optimizer = 'sgd';
  // QLoRA puts adapters on every linear layer (the QLoRA paper's setting for 4-bit quality).
  if (method === 'qlora') a.lora_target_modules = [...LORA_ALL_LINEAR];
  return a;
}

export function fitToMemory(base: ResolvedArgs, ctx: EstimateContext, estimate: Estimator, o: FitOptions): FitResult {
  let cheapest: FitResult | undefined;
  let firstRefused: FitResult | undefined;
  const refused: Partial<Record<Method, string>> = {};
  const lengths = [base.max_length];
  if (!o.lengthFixed) for (let l = base.max_length >> 1; l >= 128; l >>= 1) lengths.push(l);
  for (const length of lengths) {
    for (const method of o.methods) {
      const m = withMethod({ ...base, max_length: length }, method, o.quantization);
      const checkpointing = o.checkpointing === undefined ? [false, true] : [o.checkpointing];
      for (const ckpt of checkpointing) {
        for (const bs of o.batchSizes) {
          const accumulation = method === 'lomo' ? 1 : Math.max(1, Math.ceil(o.effectiveBatch / bs));
          const args: ResolvedArgs = { ...m, gradient_checkpointing: ckpt, batch_size: bs, gradient_accumulation: accumulation };
          const est = estimate(args, ctx);
          const adjustments: string[] = [];
          if (method !== o.methods[0]) adjustments.push(`${o.methods[0]} ${refused[o.methods[0]] ? l10n.t('cannot run here') : l10n.t('does not fit in {0} GB', (est.budgetBytes / 1024 ** 3).toFixed(1))}, so ${method}`);
          if (length !== base.max_length) adjustments.push(l10n.t('max_length cut from {0} to {1} to fit', base.max_length, length));
          const r: FitResult = { args, estimate: est, adjustments, refused, noneAccepted: false };
          const why = o.refuses?.(args);
          if (why) {
            // A refused recompute (an architecture without it) does not refuse the method.
            if (!ckpt || o.checkpointing === true) refused[method] ??= why;
            firstRefused ??= r;
            continue;
          }
          if (est.fits) return r;
          if (!cheapest || est.memoryBytes < cheapest.estimate.memoryBytes) cheapest = r;
        }
      }
    }
  }
  return cheapest ?? { ...firstRefused!, noneAccepted: true };
}

/** Args with defaults filled, for estimating a plan that only names a few keys. */
export function resolved(args: Args): ResolvedArgs {
  return resolveArgs(args);
}
