// The run plan tuner-train reads (--plan plan.json): the resolved ARGS of one run, every value
// explicit. native/src/train/plan.cpp validates the same fields and names any bad one; the
// field list is documented in docs/trainer-protocol.md.
import * as fs from 'node:fs';

import type { TrainMethod, TrainStage } from './protocol';

export type { TrainMethod } from './protocol';
export const PLAN_VERSION = 1;

export type OptimizerName = 'adamw' | 'lion' | 'sgd';
export type ScheduleName = 'constant' | 'linear' | 'cosine';
/** PEFT's module names: the Llama family, Qwen3 and Gemma 3; GPT-2 (c_*); Bloom. */
export type LoraTarget =
  | 'q_proj' | 'k_proj' | 'v_proj' | 'o_proj' | 'gate_proj' | 'up_proj' | 'down_proj'
  | 'c_attn' | 'c_proj' | 'c_fc'
  | 'query_key_value' | 'dense' | 'dense_h_to_4h' | 'dense_4h_to_h';

export interface LoraPlan {
  rank: number;
  alpha: number;
  /** Dropout on the LoRA input, 0 to disable. */
  dropout: number;
  target_modules: LoraTarget[];
}

export interface OptimizerPlan {
  /** adamw (default), lion, or sgd; lomo runs sgd without momentum. */
  name?: OptimizerName;
  lr: number;
  betas?: [number, number];
  eps?: number;
  weight_decay?: number;
  /** sgd only. */
  momentum?: number;
  nesterov?: boolean;
}

/** Samples during training (docs/trainer-protocol.md): greedy answers to these prompts every `interval` steps. */
export interface SamplesPlan {
  interval: number;
  max_new_tokens: number;
  /** Token ids of each prompt, the chat template applied and the generation prompt added. */
  prompts: number[][];
  /** Ids that end an answer (EOS, the template's end of turn). */
  stop_ids: number[];
  /** The prompts as the user wrote them (for the dashboard; the trainer reads ids only). */
  texts: string[];
}

/** Generation metrics at evaluation (docs/trainer-protocol.md). */
export interface EvalGeneratePlan {
  every: number;
  /** The first eval records answered (default 8). */
  max_records?: number;
  /** Longest answer (default 64). */
  max_new_tokens?: number;
  /** Ids that end an answer (EOS, the template's end of turn). */
  stop_ids: number[];
}

export interface RunPlan {
  version: typeof PLAN_VERSION;
  /** Hugging Face model folder (config.json + safetensors). Relative paths are relative to the plan file. */
  model_dir: string;
  /** Shard directory written by ShardWriter (docs/shard-format.md). */
  data_dir: string;
  /** Receives checkpoints/step-N/ and the final adapter/ (LoRA) or model/ (full). */
  output_dir: string;
  method: TrainMethod;
  /** sft (default) or dpo: Direct Preference Optimization on "preference-pairs" shards. */
  stage?: TrainStage;
  /** dpo: beta of the loss -log sigmoid(beta * log-ratio margin); default 0.1. */
  pref_beta?: number;
  /** qlora: the frozen base's format (nf4 default, int8, or int4 as q4_0 blocks). */
  base_quant?: 'nf4' | 'int8' | 'int4';
  lora?: LoraPlan;
  optimizer: OptimizerPlan;
  schedule?: ScheduleName;
  warmup_steps?: number;
  /** Exactly one of max_steps (optimizer steps) and epochs. */
  max_steps?: number;
  epochs?: number;
  batch_size: number;
  seq_len: number;
  grad_accum?: number;
  /** Clip gradients to this global L2 norm; 0 disables clipping. */
  max_grad_norm?: number;
  seed?: number;
  /** Worker threads; 0 uses every core. */
  threads?: number;
  /** Checkpoint every N steps (0: only at the end). */
  save_interval?: number;
  /** Evaluate every N steps on eval_data_dir (0: only at the end, when eval data is given). */
  eval_interval?: number;
  eval_data_dir?: string;
  /** Cap on eval micro-batches per evaluation (0: the whole eval set). */
  eval_max_batches?: number;
  samples?: SamplesPlan;
  /** Recompute each layer's activations in backward (same numbers, less memory). */
  gradient_checkpointing?: boolean;
  /** Every `every`-th evaluation: greedy answers to the first eval records scored by ROUGE-L and BLEU-4. */
  eval_generate?: EvalGeneratePlan;
  /** A config.json rope_scaling object that replaces the model's (ARGS.json rope_scaling; docs/trainer-protocol.md). */
  rope_scaling?: Record<string, unknown>;
  /** bf16: bf16 weights and activations in the matmuls, fp32 master weights and optimizer state (default fp32). */
  precision?: 'fp32' | 'bf16';
  /** Where to train (ARGS.json device): auto (default, left out) picks a GPU only when the engine can train the plan there; cuda without one is an error. */
  device?: 'cpu' | 'cuda';
}

/** Writes a plan file for tuner-train. */
export function writePlanFile(file: string, plan: RunPlan): void {
  fs.writeFileSync(file, JSON.stringify(plan, null, 2) + '\n');
}
