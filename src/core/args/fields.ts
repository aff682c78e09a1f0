// The one source of truth for ARGS.json: every field, its type, allowed values, default and
// description. The JSON Schema (schemas/args.schema.json, contributed to VS Code), the TypeScript
// types (Args, ResolvedArgs) and the validator are all derived from this table, so a field is
// added by adding one entry here.

import * as l10n from '@vscode/l10n';
export const METHODS = ['full', 'lora', 'qlora', 'lomo'] as const;
export const QUANTIZATIONS = ['none', 'int8', 'int4', 'nf4'] as const;
export const OPTIMIZERS = ['adamw', 'lion', 'sgd'] as const;
export const SCHEDULES = ['constant', 'linear', 'cosine'] as const;
export const PRECISIONS = ['fp32', 'bf16', 'fp16'] as const;
export const ROPE_SCALINGS = ['none', 'linear', 'dynamic', 'yarn', 'llama3', 'ntk_by_parts', 'xpos'] as const;
export const DATA_FORMATS = ['auto', 'input-output', 'question-answer', 'alpaca', 'messages', 'sharegpt', 'text'] as const;
export const TRUNCATIONS = ['truncate', 'drop'] as const;
export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
/** What a run optimizes (LLaMA-Factory's `stage`): next-token loss, or DPO on preference pairs. */
export const STAGES = ['sft', 'dpo'] as const;
/** PEFT's module names: Llama family, Qwen3 and Gemma 3; GPT-2; Bloom (native/src/models/arch_params.cpp). */
export const LORA_TARGETS = [
  'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj',
  'c_attn', 'c_proj', 'c_fc',
  'query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h',
] as const;

interface Common {
  description: string;
  /** Shown in completions and docs; also the value the resolver uses when the key is absent. */
  default?: unknown;
  /** null is a valid value (e.g. "resume_from": null). */
  nullable?: boolean;
  required?: boolean;
}
export type FieldDef =
  | (Common & { kind: 'string' })
  | (Common & { kind: 'boolean' })
  | (Common & { kind: 'number'; minimum?: number; maximum?: number; exclusiveMinimum?: number })
  | (Common & { kind: 'integer'; minimum?: number; maximum?: number })
  | (Common & { kind: 'enum'; values: readonly string[] })
  | (Common & { kind: 'enum-array'; values: readonly string[] })
  | (Common & { kind: 'string-array'; minItems?: number; maxItems?: number });

export const ARGS_FIELDS = {
  $schema: { kind: 'string', get description() { return l10n.t('JSON Schema of this file (lets other editors validate it too).'); } },
  model: { kind: 'string', required: true, get description() { return l10n.t('Model to tune: a local Hugging Face folder (config.json, *.safetensors, tokenizer.json), relative to ARGS.json, or a Hugging Face id found in the local cache (~/.cache/huggingface/hub).'); } },
  model_name: { kind: 'string', get description() { return l10n.t('Name the tuned model answers to: replaces every [MODEL NAME] placeholder in the data.'); } },
  data: { kind: 'string', required: true, get description() { return l10n.t('Training data: a JSON lines file, relative to ARGS.json.'); } },
  eval_data: { kind: 'string', get description() { return l10n.t('Evaluation data (JSON lines). Leave out to split eval_split of the training data off instead.'); } },
  eval_split: { kind: 'number', minimum: 0, maximum: 0.5, default: 0, get description() { return l10n.t('Fraction of the training records held out for evaluation when eval_data is not given (0 = no evaluation).'); } },
  format: { kind: 'enum', values: DATA_FORMATS, default: 'auto', get description() { return l10n.t('Record format of the data; auto detects it.'); } },
  stage: { kind: 'enum', values: STAGES, default: 'sft', get description() { return l10n.t('sft: learn the answers (next-token loss on the responses); dpo: Direct Preference Optimization on records with "prompt", "chosen" and "rejected": raise the chosen answer\'s likelihood over the rejected one\'s, relative to the model before tuning (for lora/qlora the base with adapters off; for full/lomo log-probs computed before the first step). batch_size counts pairs.'); } },
  pref_beta: { kind: 'number', exclusiveMinimum: 0, maximum: 1000, default: 0.1, get description() { return l10n.t('DPO\'s beta (stage dpo): how far the tuned model may move from the reference; lower lets it drift further. TRL and LLaMA-Factory default to 0.1.'); } },
  method: { kind: 'enum', values: METHODS, default: 'lora', get description() { return l10n.t('full: every weight; lora: low-rank adapters; qlora: adapters on a frozen quantized base (nf4, int8 or int4); lomo: full tuning with each weight updated during backward (plain SGD, no optimizer state, gradient_accumulation 1).'); } },
  lora_rank: { kind: 'integer', minimum: 1, maximum: 1024, default: 8, get description() { return l10n.t('Rank r of the LoRA matrices.'); } },
  lora_alpha: { kind: 'number', exclusiveMinimum: 0, default: 16, get description() { return l10n.t('LoRA scaling numerator: updates are scaled by alpha / rank.'); } },
  lora_dropout: { kind: 'number', minimum: 0, maximum: 0.9, default: 0.05, get description() { return l10n.t('Dropout on the LoRA input.'); } },
  lora_target_modules: { kind: 'enum-array', values: LORA_TARGETS, default: ['q_proj', 'k_proj', 'v_proj', 'o_proj'], get description() { return l10n.t('Linear layers that get adapters.'); } },
  quantization: { kind: 'enum', values: QUANTIZATIONS, default: 'none', get description() { return l10n.t('Storage of the frozen base weights of lora/qlora: nf4 (QLoRA), int8 (the k-bit recipe), int4; qlora without one uses nf4. full and lomo need none.'); } },
  optimizer: { kind: 'enum', values: OPTIMIZERS, default: 'adamw', get description() { return l10n.t('Optimizer: adamw (two moments), lion (one moment, sign updates; use a 3-10x smaller learning_rate), sgd (momentum buffer, or no state when momentum is 0). lomo always runs plain sgd.'); } },
  momentum: { kind: 'number', minimum: 0, maximum: 0.999, default: 0.9, get description() { return l10n.t('Momentum of optimizer sgd (0: plain SGD, no state). Ignored by lomo, which keeps no state.'); } },
  nesterov: { kind: 'boolean', default: false, get description() { return l10n.t('Nesterov momentum for optimizer sgd (needs momentum above 0).'); } },
  learning_rate: { kind: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.0002, get description() { return l10n.t('Peak learning rate.'); } },
  weight_decay: { kind: 'number', minimum: 0, maximum: 1, default: 0, get description() { return l10n.t('Decoupled weight decay.'); } },
  schedule: { kind: 'enum', values: SCHEDULES, default: 'cosine', get description() { return l10n.t('Learning-rate schedule after warmup.'); } },
  warmup_steps: { kind: 'integer', minimum: 0, default: 0, get description() { return l10n.t('Steps of linear warmup from 0 to learning_rate.'); } },
  epochs: { kind: 'number', exclusiveMinimum: 0, default: 3, get description() { return l10n.t('Passes over the training data (leave out when max_steps is set).'); } },
  max_steps: { kind: 'integer', minimum: 1, get description() { return l10n.t('Optimizer steps to run; replaces epochs.'); } },
  batch_size: { kind: 'integer', minimum: 1, maximum: 4096, default: 4, get description() { return l10n.t('Sequences per micro-batch.'); } },
  gradient_accumulation: { kind: 'integer', minimum: 1, maximum: 4096, default: 1, get description() { return l10n.t('Micro-batches per optimizer step (effective batch = batch_size × gradient_accumulation).'); } },
  max_length: { kind: 'integer', minimum: 8, maximum: 1048576, default: 512, get description() { return l10n.t('Tokens per sequence; longer records are cut or dropped (truncation).'); } },
  truncation: { kind: 'enum', values: TRUNCATIONS, default: 'truncate', get description() { return l10n.t('What happens to records longer than max_length: truncate cuts them, drop leaves them out. Both are listed in the prep report.'); } },
  packing: { kind: 'boolean', default: false, get description() { return l10n.t('Pack several short records into each max_length sequence.'); } },
  train_on_responses_only: { kind: 'boolean', default: true, get description() { return l10n.t('Compute the loss on assistant tokens only (false: on every token, prompts included).'); } },
  chat_template: { kind: 'string', nullable: true, default: null, get description() { return l10n.t('Chat template override: a Jinja template, a path to a .jinja file, or "default" for the plain "Human: … Assistant: …" form. null uses the model\'s tokenizer_config.json.'); } },
  rope_scaling: { kind: 'enum', values: ROPE_SCALINGS, default: 'none', get description() { return l10n.t('RoPE scaling that replaces the model\'s config.json rope_scaling, to reach a longer max_length than the model was trained for (linear, dynamic NTK, yarn, llama3, ntk_by_parts: YaRN\'s ramp without its attention factor) or to add xPos (xpos: scores decay with distance, scale base 512). none: the model\'s own.'); } },
  rope_scaling_factor: { kind: 'number', minimum: 1, default: 1, get description() { return l10n.t('Context extension factor for rope_scaling.'); } },
  precision: { kind: 'enum', values: PRECISIONS, default: 'fp32', get description() { return l10n.t('Compute precision (the CPU engine keeps fp32 master weights).'); } },
  gradient_checkpointing: { kind: 'boolean', default: false, get description() { return l10n.t('Keep only each layer\'s input and recompute the layer in backward: less memory, the same numbers, about a third more compute.'); } },
  max_grad_norm: { kind: 'number', minimum: 0, default: 1, get description() { return l10n.t('Clip gradients to this global L2 norm (0 disables clipping).'); } },
  save_interval: { kind: 'integer', minimum: 0, default: 0, get description() { return l10n.t('Save a checkpoint every N steps (0: at the end only).'); } },
  eval_interval: { kind: 'integer', minimum: 0, default: 0, get description() { return l10n.t('Evaluate every N steps (0: at the end only).'); } },
  eval_generate_every: { kind: 'integer', minimum: 0, default: 0, get description() { return l10n.t('Every N evaluations, also answer the first 8 eval records\' prompts greedily and report ROUGE-L F1 and BLEU-4 of the answers against the records\' own, on token ids (0: never; the final evaluation counts too).'); } },
  sample_prompts: { kind: 'string-array', minItems: 1, maxItems: 16, get description() { return l10n.t('Prompts the trainer answers from the current weights every sample_interval steps (greedy, chat template applied), shown step by step under the dashboard\'s charts.'); } },
  sample_interval: { kind: 'integer', minimum: 0, default: 0, get description() { return l10n.t('Generate answers to sample_prompts every N steps and after the last (0: never).'); } },
  sample_max_new_tokens: { kind: 'integer', minimum: 1, maximum: 512, default: 32, get description() { return l10n.t('Tokens each sample answer may have.'); } },
  output_dir: { kind: 'string', default: './output', get description() { return l10n.t('Where a completed run\'s adapter (or full model) is copied, as <output_dir>/adapter (or /model), and where Prepare Dataset writes <output_dir>/data; relative to ARGS.json. Checkpoints stay in the run\'s folder, runs/<id>/.'); } },
  resume_from: { kind: 'string', nullable: true, default: null, get description() { return l10n.t('Checkpoint folder to resume from (null: start fresh).'); } },
  seed: { kind: 'integer', minimum: 0, default: 42, get description() { return l10n.t('Random seed (data order, LoRA init, dropout).'); } },
  device: { kind: 'enum', values: DEVICES, default: 'auto', get description() { return l10n.t('Where to train: auto picks a CUDA GPU (compute capability 8.0 or newer) when the engine can train the run there, else the CPU; cuda requires the GPU and is an error where it cannot train the run; cpu always trains on the CPU.'); } },
  gpus: { kind: 'integer', minimum: 0, maximum: 64, default: 1, get description() { return l10n.t('Number of GPUs to use on device cuda.'); } },
  threads: { kind: 'integer', minimum: 0, maximum: 1024, default: 0, get description() { return l10n.t('CPU worker threads (0: every core).'); } },
} as const satisfies Record<string, FieldDef>;

export type ArgsFieldName = keyof typeof ARGS_FIELDS;
export const ARGS_FIELD_NAMES = Object.keys(ARGS_FIELDS) as ArgsFieldName[];

type ValueOf<F> =
  F extends { kind: 'string' } ? string
  : F extends { kind: 'boolean' } ? boolean
  : F extends { kind: 'number' | 'integer' } ? number
  : F extends { kind: 'enum'; values: readonly (infer V)[] } ? V
  : F extends { kind: 'enum-array'; values: readonly (infer V)[] } ? V[]
  : F extends { kind: 'string-array' } ? string[]
  : never;
type Nullable<F, T> = F extends { nullable: true } ? T | null : T;
type FieldValue<K extends ArgsFieldName> = Nullable<(typeof ARGS_FIELDS)[K], ValueOf<(typeof ARGS_FIELDS)[K]>>;
type RequiredKeys = { [K in ArgsFieldName]: (typeof ARGS_FIELDS)[K] extends { required: true } ? K : never }[ArgsFieldName];
type DefaultedKeys = { [K in ArgsFieldName]: (typeof ARGS_FIELDS)[K] extends { default: unknown } ? K : never }[ArgsFieldName];

/** ARGS.json as written: required keys present, the rest optional. */
export type Args = { [K in RequiredKeys]: FieldValue<K> } & { [K in Exclude<ArgsFieldName, RequiredKeys>]?: FieldValue<K> };

/** ARGS after defaults: every key with a default is present. */
export type ResolvedArgs = Args & { [K in DefaultedKeys]: FieldValue<K> };

export function isArgsFieldName(key: string): key is ArgsFieldName {
  return Object.prototype.hasOwnProperty.call(ARGS_FIELDS, key);
}

export function fieldDef(name: ArgsFieldName): FieldDef {
  return ARGS_FIELDS[name] as FieldDef;
}

/** Fills every absent key that has a default (deep-copying arrays so callers may mutate). */
export function resolveArgs(args: Args): ResolvedArgs {
  const out: Record<string, unknown> = { ...args };
  for (const name of ARGS_FIELD_NAMES) {
    const def = fieldDef(name);
    if (out[name] === undefined && def.default !== undefined) out[name] = Array.isArray(def.default) ? [...def.default] : def.default;
  }
  return out as ResolvedArgs;
}
