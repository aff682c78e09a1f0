// ARGS.json (what the user wants) -> the run plan tuner-train reads (every value explicit).
// Settings the CPU engine cannot run are refused here with the alternative, rather than
// silently changed.
import { PLAN_VERSION, type RunPlan } from '../engine/plan';
import type { ArgsFieldName, ResolvedArgs } from './fields';
import * as l10n from '@vscode/l10n';

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

/** The frozen base's format in the trainer: ARGS quantization → plan base_quant (int4 runs as q4_0 blocks). */
const BASE_QUANT = { nf4: 'nf4', int8: 'int8', int4: 'int4' } as const;

/**
 * ARGS.json's rope_scaling as the config.json object the trainer reads in its place (transformers'
 * keys). The model's max_position_embeddings is the original context: llama3's
 * original_max_position_embeddings and yarn's are filled in by the trainer from config.json.
 * ntk_by_parts is YaRN's ramp without its attention factor; xpos keeps the frequencies and adds
 * xPos's decay (torchscale's scale base 512).
 */
export function ropeScalingPlan(args: Pick<ResolvedArgs, 'rope_scaling' | 'rope_scaling_factor'>): Record<string, unknown> | undefined {
  const factor = args.rope_scaling_factor;
  switch (args.rope_scaling) {
    case 'none':
      return undefined;
    case 'xpos':
      return { rope_type: 'xpos', scale_base: 512 };
    case 'ntk_by_parts':
      return { rope_type: 'yarn', factor, attention_factor: 1 };
    case 'llama3':
      return { rope_type: 'llama3', factor, low_freq_factor: 1, high_freq_factor: 4 };
    default:
      return { rope_type: args.rope_scaling, factor };
  }
}

export function argsToRunPlan(args: ResolvedArgs, paths: RunPaths): RunPlan {
  // lora on a quantized base is QLoRA's path (an int8 base is the k-bit recipe of
  // load_in_8bit + prepare_model_for_kbit_training); qlora without a quantization means nf4.
  const quantized = args.method === 'qlora' || (args.method === 'lora' && args.quantization !== 'none');
  if ((args.method === 'full' || args.method === 'lomo') && args.quantization !== 'none') {
    throw new UnsupportedArgsError(l10n.t('method "{0}" updates every weight, which the trainer keeps in fp32: set "quantization" to "none", or use method "qlora" for a quantized base.', args.method), 'quantization');
  }
  if (args.method === 'lomo' && args.gradient_accumulation !== 1) {
    throw new UnsupportedArgsError(l10n.t('method "lomo" updates every weight during backward, so there is no gradient to accumulate: set "gradient_accumulation" to 1 (raise batch_size instead).'), 'gradient_accumulation');
  }
  if (args.method === 'lomo' && args.optimizer !== 'sgd') {
    throw new UnsupportedArgsError(l10n.t('method "lomo" fuses a plain SGD step into backward and keeps no optimizer state: set "optimizer" to "sgd" (not "{0}"), or use method "full".', args.optimizer), 'optimizer');
  }
  if (args.stage === 'dpo' && args.packing) {
    throw new UnsupportedArgsError(l10n.t('stage "dpo" scores each answer as a sequence of its own, so records cannot be packed together: set "packing" to false.'), 'packing');
  }
  const plan: RunPlan = {
    version: PLAN_VERSION,
    model_dir: paths.modelDir,
    data_dir: paths.trainDataDir,
    output_dir: paths.outputDir,
    method: quantized ? 'qlora' : args.method,
    optimizer: { name: args.optimizer, lr: args.learning_rate, weight_decay: args.weight_decay },
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
  if (quantized) plan.base_quant = BASE_QUANT[args.quantization === 'none' ? 'nf4' : args.quantization];
  if (args.optimizer === 'sgd' && args.method !== 'lomo') {
    if (args.nesterov && args.momentum <= 0) throw new UnsupportedArgsError(l10n.t('"nesterov" needs "momentum" above 0 (e.g. 0.9).'), 'nesterov');
    plan.optimizer.momentum = args.momentum;
    if (args.nesterov) plan.optimizer.nesterov = true;
  }
  if (args.gradient_checkpointing) plan.gradient_checkpointing = true;
  const rope = ropeScalingPlan(args);
  if (rope) plan.rope_scaling = rope;
  if (args.precision === 'fp16') {
    throw new UnsupportedArgsError(l10n.t('precision "fp16" is for GPUs without bf16; the CPU engine computes in "bf16" (bf16 matmuls, fp32 master weights; fastest on CPUs with AVX512_BF16) or "fp32".'), 'precision');
  }
  if (args.precision === 'bf16') plan.precision = 'bf16';
  // auto is the trainer's default; cpu and cuda are passed on, and tuner-train refuses cuda it cannot use (no_cuda_device).
  if (args.device !== 'auto') plan.device = args.device;
  if (args.stage === 'dpo') {
    plan.stage = 'dpo';
    plan.pref_beta = args.pref_beta;
  }
  if (args.method === 'lora' || args.method === 'qlora') {
    plan.lora = { rank: args.lora_rank, alpha: args.lora_alpha, dropout: args.lora_dropout, target_modules: [...args.lora_target_modules] };
  }
  if (paths.evalDataDir) {
    plan.eval_data_dir = paths.evalDataDir;
    plan.eval_interval = args.eval_interval;
  }
  return plan;
}
