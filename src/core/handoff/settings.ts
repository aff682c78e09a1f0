// ARGS.json as the hand-off engines say it: one settings object (written as train_config.json
// and read by train.py) from which the Axolotl and LLaMA-Factory configs are made too, so the
// three say the same thing. What an engine cannot say is refused here with the field to change.
import * as l10n from '@vscode/l10n';
import type { ArgsFieldName, ResolvedArgs } from '../args/fields';
import { baseQuantization } from '../args/estimate';
import { ropeScalingPlan } from '../args/run-plan';
import { loraTargetsFor, type ModelSpec } from '../model/spec';

export class HandoffError extends Error {
  constructor(
    message: string,
    readonly field?: ArgsFieldName,
  ) {
    super(message);
    this.name = 'HandoffError';
  }
}

/** Hugging Face scheduler names (transformers SchedulerType): the constant schedule keeps its warmup. */
const HF_SCHEDULER = { constant: 'constant_with_warmup', linear: 'linear', cosine: 'cosine' } as const;
/** Hugging Face optimizer names (transformers OptimizerNames): Lion is bitsandbytes' 32-bit one. */
const HF_OPTIMIZER = { adamw: 'adamw_torch', lion: 'lion_32bit', sgd: 'sgd' } as const;

export interface HandoffSettings {
  /** What the configs load: a Hugging Face id, or "model" (the folder copied next to them). */
  model: string;
  method: 'full' | 'lora' | 'qlora';
  /** bitsandbytes format of the frozen base (qlora, or lora on a quantized base). */
  quantization: 'nf4' | 'fp4' | 'int8' | null;
  lora: { r: number; alpha: number; dropout: number; target_modules: string[] } | null;
  optimizer: string;
  /** "momentum=0.9,nesterov=True" for SGD (TrainingArguments' optim_args). */
  optim_args: string | null;
  learning_rate: number;
  weight_decay: number;
  lr_scheduler_type: string;
  warmup_steps: number;
  num_train_epochs: number;
  max_steps: number | null;
  per_device_train_batch_size: number;
  gradient_accumulation_steps: number;
  max_length: number;
  truncation: 'truncate' | 'drop';
  packing: boolean;
  train_on_responses_only: boolean;
  max_grad_norm: number;
  precision: 'bf16' | 'fp16' | 'fp32';
  gradient_checkpointing: boolean;
  /** config.json's rope_scaling replacement (transformers' keys), or null for the model's own. */
  rope_scaling: Record<string, unknown> | null;
  seed: number;
  save_steps: number;
  eval_steps: number;
  /** Training and evaluation data (messages JSON lines), relative to the folder. */
  train_file: string;
  eval_file: string | null;
  eval_split: number;
  /** The chat template file the run used (Tuner's override), or null: the tokenizer's own. */
  chat_template_file: string | null;
  output_dir: string;
}

const BNB = { nf4: 'nf4', int4: 'fp4', int8: 'int8' } as const;

export function handoffSettings(a: ResolvedArgs, spec: ModelSpec, o: { model: string; trainFile: string; evalFile?: string; chatTemplateFile?: string }): HandoffSettings {
  if (a.stage !== 'sft') throw new HandoffError(l10n.t('stage "{0}": the hand-off writes supervised fine-tuning (sft) only; train DPO with Tuner here, or set "stage" to "sft".', a.stage), 'stage');
  if (a.method === 'lomo') throw new HandoffError(l10n.t('method "lomo" is Tuner\'s fused SGD update, which torchrun + PEFT, Axolotl and LLaMA-Factory do not run: set "method" to "full" (or "lora") for the hand-off.'), 'method');
  if (a.rope_scaling === 'xpos') throw new HandoffError(l10n.t('rope_scaling "xpos" is not a transformers RoPE type: the cluster engines cannot load it. Use "yarn", "linear", "dynamic" or "llama3", or "none".'), 'rope_scaling');
  if (a.method === 'full' && a.quantization !== 'none') throw new HandoffError(l10n.t('method "full" trains every weight: set "quantization" to "none", or use method "qlora".'), 'quantization');
  const quant = baseQuantization(a);
  const rope = ropeScalingPlan(a) ?? null;
  // transformers' yarn and llama3 read the original context from the rope_scaling object.
  if (rope && (rope.rope_type === 'yarn' || rope.rope_type === 'llama3')) rope.original_max_position_embeddings = spec.maxPositions;
  const adapters = a.method === 'lora' || a.method === 'qlora';
  const targets = loraTargetsFor(spec, a.lora_target_modules);
  if (adapters && targets.length === 0) throw new HandoffError(l10n.t('none of lora_target_modules ({0}) is a linear of {1}.', a.lora_target_modules.join(', '), spec.architecture), 'lora_target_modules');
  return {
    model: o.model,
    method: quant ? 'qlora' : (a.method as 'full' | 'lora'),
    quantization: quant ? BNB[quant] : null,
    lora: adapters ? { r: a.lora_rank, alpha: a.lora_alpha, dropout: a.lora_dropout, target_modules: targets } : null,
    optimizer: HF_OPTIMIZER[a.optimizer],
    optim_args: a.optimizer === 'sgd' ? `momentum=${a.momentum}${a.nesterov ? ',nesterov=True' : ''}` : null,
    learning_rate: a.learning_rate,
    weight_decay: a.weight_decay,
    lr_scheduler_type: HF_SCHEDULER[a.schedule],
    warmup_steps: a.warmup_steps,
    num_train_epochs: a.epochs,
    max_steps: a.max_steps ?? null,
    per_device_train_batch_size: a.batch_size,
    gradient_accumulation_steps: a.gradient_accumulation,
    max_length: a.max_length,
    truncation: a.truncation,
    packing: a.packing,
    train_on_responses_only: a.train_on_responses_only,
    max_grad_norm: a.max_grad_norm,
    precision: a.precision,
    gradient_checkpointing: a.gradient_checkpointing,
    rope_scaling: rope,
    seed: a.seed,
    save_steps: a.save_interval,
    eval_steps: a.eval_interval,
    train_file: o.trainFile,
    eval_file: o.evalFile ?? null,
    eval_split: o.evalFile ? 0 : a.eval_split,
    chat_template_file: o.chatTemplateFile ?? null,
    output_dir: 'output',
  };
}
