// The configuration keys the hand-off writes, with the type each tool documents for them. Neither
// tool installs here (no PyPI), so the generated files are checked against these tables, and each
// table says where its keys were read. A key the tools renamed or dropped shows up as a failing
// unit test the day the table is brought up to date, not as a config the tool rejects on a cluster.
import * as l10n from '@vscode/l10n';

export type KeyType = 'string' | 'int' | 'number' | 'bool' | 'string-list' | 'object' | 'object-list';

export type KeyTable = Readonly<Record<string, KeyType>>;

/**
 * Axolotl 0.18.0 (github.com/axolotl-ai-cloud/axolotl, commit 067b021, VERSION 0.18.0): the
 * pydantic models of src/axolotl/utils/schemas/ (config.py AxolotlInputConfig, model.py,
 * peft.py LoraConfig, training.py HyperparametersConfig, deprecated.py RemappedParameters whose
 * `model_config` alias carries config.json overrides); the same keys as docs/config-reference.
 * lora_alpha is `int | None` there.
 */
export const AXOLOTL_KEYS: KeyTable = {
  base_model: 'string',
  trust_remote_code: 'bool',
  chat_template: 'string',
  chat_template_jinja: 'string',
  datasets: 'object-list',
  test_datasets: 'object-list',
  val_set_size: 'number',
  dataset_prepared_path: 'string',
  output_dir: 'string',
  sequence_len: 'int',
  sample_packing: 'bool',
  pad_to_sequence_len: 'bool',
  train_on_inputs: 'bool',
  adapter: 'string',
  load_in_4bit: 'bool',
  load_in_8bit: 'bool',
  lora_r: 'int',
  lora_alpha: 'int',
  lora_dropout: 'number',
  lora_target_modules: 'string-list',
  micro_batch_size: 'int',
  gradient_accumulation_steps: 'int',
  num_epochs: 'number',
  max_steps: 'int',
  optimizer: 'string',
  optim_args: 'object',
  lr_scheduler: 'string',
  learning_rate: 'number',
  warmup_steps: 'int',
  weight_decay: 'number',
  max_grad_norm: 'number',
  bf16: 'bool',
  fp16: 'bool',
  gradient_checkpointing: 'bool',
  deepspeed: 'string',
  seed: 'int',
  save_steps: 'int',
  eval_steps: 'int',
  logging_steps: 'int',
  model_config: 'object',
};

/** One entry of Axolotl's `datasets:` (schemas/datasets.py SFTDataset, same commit). */
export const AXOLOTL_DATASET_KEYS: KeyTable = {
  path: 'string',
  ds_type: 'string',
  type: 'string',
  split: 'string',
  field_messages: 'string',
  roles_to_train: 'string-list',
  train_on_eos: 'string',
};

/**
 * LLaMA-Factory 0.9.6.dev0 (github.com/hiyouga/LLaMA-Factory, commit ff6d4d1): the dataclasses of
 * src/llamafactory/hparams/ (model_args.py, data_args.py, finetuning_args.py) and the Hugging Face
 * Seq2SeqTrainingArguments it extends (transformers TrainingArguments, docs v4.57). lora_alpha is
 * `int | None`; rope_scaling is one of linear, dynamic, yarn, llama3 (extras/constants.py
 * RopeScaling), its factor computed from cutoff_len; quantization_type is fp4 or nf4.
 */
export const LLAMA_FACTORY_KEYS: KeyTable = {
  model_name_or_path: 'string',
  trust_remote_code: 'bool',
  rope_scaling: 'string',
  quantization_bit: 'int',
  quantization_method: 'string',
  quantization_type: 'string',
  disable_gradient_checkpointing: 'bool',
  stage: 'string',
  do_train: 'bool',
  finetuning_type: 'string',
  lora_rank: 'int',
  lora_alpha: 'int',
  lora_dropout: 'number',
  lora_target: 'string',
  dataset: 'string',
  eval_dataset: 'string',
  dataset_dir: 'string',
  template: 'string',
  cutoff_len: 'int',
  train_on_prompt: 'bool',
  val_size: 'number',
  packing: 'bool',
  overwrite_cache: 'bool',
  output_dir: 'string',
  logging_steps: 'int',
  save_steps: 'int',
  eval_steps: 'int',
  eval_strategy: 'string',
  plot_loss: 'bool',
  overwrite_output_dir: 'bool',
  per_device_train_batch_size: 'int',
  gradient_accumulation_steps: 'int',
  learning_rate: 'number',
  num_train_epochs: 'number',
  max_steps: 'int',
  lr_scheduler_type: 'string',
  warmup_steps: 'int',
  weight_decay: 'number',
  max_grad_norm: 'number',
  optim: 'string',
  optim_args: 'string',
  bf16: 'bool',
  fp16: 'bool',
  seed: 'int',
  deepspeed: 'string',
  report_to: 'string',
};

/** One dataset_info.json entry (LLaMA-Factory data/README.md, same commit: sharegpt formatting). */
export const LLAMA_FACTORY_DATASET_KEYS: KeyTable = { file_name: 'string', formatting: 'string', columns: 'object', tags: 'object' };
export const LLAMA_FACTORY_COLUMN_KEYS: KeyTable = { messages: 'string', system: 'string' };
export const LLAMA_FACTORY_TAG_KEYS: KeyTable = { role_tag: 'string', content_tag: 'string', user_tag: 'string', assistant_tag: 'string', system_tag: 'string' };

/**
 * DeepSpeed config keys (deepspeed.ai/docs/config-json, DeepSpeed 0.16): "auto" values are filled
 * by the transformers integration (transformers docs v4.57, "DeepSpeed"), which both tools use.
 */
export const DEEPSPEED_KEYS: KeyTable = {
  train_batch_size: 'int',
  train_micro_batch_size_per_gpu: 'int',
  gradient_accumulation_steps: 'int',
  gradient_clipping: 'number',
  zero_allow_untested_optimizer: 'bool',
  bf16: 'object',
  fp16: 'object',
  zero_optimization: 'object',
};
export const DEEPSPEED_ZERO_KEYS: KeyTable = {
  stage: 'int',
  overlap_comm: 'bool',
  contiguous_gradients: 'bool',
  reduce_scatter: 'bool',
  allgather_partitions: 'bool',
  round_robin_gradients: 'bool',
  stage3_gather_16bit_weights_on_model_save: 'bool',
  offload_optimizer: 'object',
  offload_param: 'object',
};

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return 'list';
  if (v === null) return 'null';
  return typeof v;
}

function fits(v: unknown, t: KeyType): boolean {
  switch (t) {
    case 'string': return typeof v === 'string';
    case 'int': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'bool': return typeof v === 'boolean';
    case 'string-list': return Array.isArray(v) && v.every((x) => typeof x === 'string');
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'object-list': return Array.isArray(v) && v.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));
  }
}

/** Every key of `config` that `table` does not document, or whose value has another type: "where: key …". */
export function undocumentedKeys(config: Record<string, unknown>, table: KeyTable, where: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    const t = table[k];
    if (!t) out.push(l10n.t('{0}: "{1}" is not a documented key', where, k));
    // DeepSpeed's "auto" stands for a number the integration fills in.
    else if (!fits(v, t) && !(v === 'auto' && where.includes('ds_config'))) out.push(l10n.t('{0}: "{1}" is a {2}, documented as {3}', where, k, typeOf(v), t));
  }
  return out;
}
