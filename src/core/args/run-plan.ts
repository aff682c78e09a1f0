// ARGS.json (what the user wants) -> the run plan tuner-train reads (every value explicit).
// Settings the CPU engine cannot run yet are refused here with the alternative, rather than
// silently changed.
import { PLAN_VERSION, type RunPlan } from '../engine/plan';
import type { ArgsFieldName, ResolvedArgs } from './fields';

export class UnsupportedArgsError extends Error {
  constructor(
    message: string,
    /** The ARGS.json field to change, so callers can point at its line. */
    readonly field: ArgsFieldName,
  ) {
    super(message);
    this.name = 'UnsupportedArgsError';
  }
}

export interface RunPaths {
  modelDir: string;
  trainDataDir: string;
  evalDataDir?: string;
  outputDir: string;
}

export function argsToRunPlan(args: ResolvedArgs, paths: RunPaths): RunPlan {
  if (args.method !== 'full' && args.method !== 'lora') {
    throw new UnsupportedArgsError(`method "${args.method}" is not available in the CPU trainer yet: use "lora" (adapters, least memory) or "full".`, 'method');
  }
  if (args.optimizer !== 'adamw') throw new UnsupportedArgsError(`optimizer "${args.optimizer}" is not available in the trainer yet: use "adamw".`, 'optimizer');
  if (args.quantization !== 'none') throw new UnsupportedArgsError(`quantization "${args.quantization}" during training is not available yet: set "quantization" to "none".`, 'quantization');
  const plan: RunPlan = {
    version: PLAN_VERSION,
    model_dir: paths.modelDir,
    data_dir: paths.trainDataDir,
    output_dir: paths.outputDir,
    method: args.method,
    optimizer: { lr: args.learning_rate, weight_decay: args.weight_decay },
    schedule: args.schedule,
    warmup_steps: args.warmup_steps,
    batch_size: args.batch_size,
    seq_len: args.max_length,
    grad_accum: args.gradient_accumulation,
    max_grad_norm: args.max_grad_norm,
    seed: args.seed,
    threads: args.threads,
    save_interval: args.save_interval,
  };
  if (args.max_steps !== undefined) plan.max_steps = args.max_steps;
  else plan.epochs = args.epochs;
  if (args.method === 'lora') {
    plan.lora = { rank: args.lora_rank, alpha: args.lora_alpha, dropout: args.lora_dropout, target_modules: [...args.lora_target_modules] };
  }
  if (paths.evalDataDir) {
    plan.eval_data_dir = paths.evalDataDir;
    plan.eval_interval = args.eval_interval;
  }
  return plan;
}
