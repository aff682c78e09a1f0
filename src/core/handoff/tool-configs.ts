// The Axolotl and LLaMA-Factory configs of a hand-off, made from the same settings as train.py
// (settings.ts). Keys and types are the ones tool-keys.ts documents; tests check every key.
import type { YamlValue } from './yaml';
import type { HandoffSettings } from './settings';

/** Axolotl's `lora_alpha` and LLaMA-Factory's are integers; a fractional alpha cannot be said there. */
export function integerAlpha(s: HandoffSettings): number | undefined {
  return s.lora && Number.isInteger(s.lora.alpha) ? s.lora.alpha : undefined;
}

export function axolotlConfig(s: HandoffSettings, deepspeedFile: string | undefined): Record<string, YamlValue | undefined> {
  const dataset = (file: string): YamlValue => ({
    path: file,
    ds_type: 'json',
    type: 'chat_template',
    field_messages: 'messages',
    // Loss on the answers only (the assistant turns and their end-of-turn token), as Tuner trained.
    roles_to_train: s.train_on_responses_only ? ['assistant'] : ['system', 'user', 'assistant'],
    train_on_eos: 'turn',
  });
  const template = s.chat_template_file ? { chat_template: 'jinja', chat_template_jinja: s.chat_template_file } : { chat_template: 'tokenizer_default' };
  return {
    base_model: s.model,
    ...template,
    datasets: [dataset(s.train_file)],
    test_datasets: s.eval_file ? [dataset(s.eval_file)] : undefined,
    val_set_size: s.eval_file ? undefined : s.eval_split,
    dataset_prepared_path: 'output/axolotl-prepared',
    output_dir: 'output/axolotl',
    sequence_len: s.max_length,
    sample_packing: s.packing,
    pad_to_sequence_len: s.packing,
    adapter: s.lora ? (s.quantization ? 'qlora' : 'lora') : undefined,
    load_in_4bit: s.quantization === 'nf4' || s.quantization === 'fp4' ? true : undefined,
    load_in_8bit: s.quantization === 'int8' ? true : undefined,
    lora_r: s.lora?.r,
    lora_alpha: integerAlpha(s),
    lora_dropout: s.lora?.dropout,
    lora_target_modules: s.lora ? [...s.lora.target_modules] : undefined,
    micro_batch_size: s.per_device_train_batch_size,
    gradient_accumulation_steps: s.gradient_accumulation_steps,
    num_epochs: s.num_train_epochs,
    max_steps: s.max_steps ?? undefined,
    optimizer: s.optimizer,
    optim_args: s.optim_args ? Object.fromEntries(s.optim_args.split(',').map((kv) => { const [k, v] = kv.split('='); return [k, v === 'True' ? true : Number(v)]; })) : undefined,
    lr_scheduler: s.lr_scheduler_type,
    learning_rate: s.learning_rate,
    warmup_steps: s.warmup_steps,
    weight_decay: s.weight_decay,
    max_grad_norm: s.max_grad_norm,
    bf16: s.precision === 'bf16',
    fp16: s.precision === 'fp16',
    gradient_checkpointing: s.gradient_checkpointing,
    deepspeed: deepspeedFile,
    seed: s.seed,
    save_steps: s.save_steps > 0 ? s.save_steps : undefined,
    eval_steps: s.eval_steps > 0 ? s.eval_steps : undefined,
    logging_steps: 1,
    model_config: s.rope_scaling ? { rope_scaling: s.rope_scaling as { [k: string]: YamlValue } } : undefined,
  };
}

/** LLaMA-Factory's RoPE types (extras/constants.py RopeScaling); it computes the factor from cutoff_len. */
const LLAMA_FACTORY_ROPE = ['linear', 'dynamic', 'yarn', 'llama3'];

export const LLAMA_FACTORY_DATASET = 'tuner_train';
export const LLAMA_FACTORY_EVAL_DATASET = 'tuner_eval';

export function llamaFactoryConfig(s: HandoffSettings, deepspeedFile: string | undefined): Record<string, YamlValue | undefined> {
  const rope = s.rope_scaling?.rope_type;
  const ropeOk = typeof rope === 'string' && LLAMA_FACTORY_ROPE.includes(rope) && s.rope_scaling?.attention_factor === undefined;
  return {
    model_name_or_path: s.model,
    trust_remote_code: false,
    rope_scaling: ropeOk ? rope : undefined,
    quantization_bit: s.quantization === 'int8' ? 8 : s.quantization ? 4 : undefined,
    quantization_method: s.quantization ? 'bnb' : undefined,
    quantization_type: s.quantization === 'nf4' || s.quantization === 'fp4' ? s.quantization : undefined,
    // LLaMA-Factory checkpoints by default; Tuner's ARGS.json says whether to.
    disable_gradient_checkpointing: !s.gradient_checkpointing,
    stage: 'sft',
    do_train: true,
    finetuning_type: s.lora ? 'lora' : 'full',
    lora_rank: s.lora?.r,
    lora_alpha: integerAlpha(s),
    lora_dropout: s.lora?.dropout,
    lora_target: s.lora ? s.lora.target_modules.join(',') : undefined,
    dataset: LLAMA_FACTORY_DATASET,
    eval_dataset: s.eval_file ? LLAMA_FACTORY_EVAL_DATASET : undefined,
    dataset_dir: 'data',
    // No template: LLaMA-Factory parses the tokenizer's own chat template (data/template.py).
    cutoff_len: s.max_length,
    train_on_prompt: !s.train_on_responses_only,
    val_size: !s.eval_file && s.eval_split > 0 ? s.eval_split : undefined,
    packing: s.packing,
    overwrite_cache: true,
    output_dir: 'output/llamafactory',
    logging_steps: 1,
    save_steps: s.save_steps > 0 ? s.save_steps : undefined,
    eval_steps: s.eval_steps > 0 && (s.eval_file || s.eval_split > 0) ? s.eval_steps : undefined,
    eval_strategy: s.eval_file || s.eval_split > 0 ? 'steps' : undefined,
    plot_loss: true,
    overwrite_output_dir: true,
    per_device_train_batch_size: s.per_device_train_batch_size,
    gradient_accumulation_steps: s.gradient_accumulation_steps,
    learning_rate: s.learning_rate,
    num_train_epochs: s.num_train_epochs,
    max_steps: s.max_steps ?? undefined,
    lr_scheduler_type: s.lr_scheduler_type,
    warmup_steps: s.warmup_steps,
    weight_decay: s.weight_decay,
    max_grad_norm: s.max_grad_norm,
    optim: s.optimizer,
    optim_args: s.optim_args ?? undefined,
    bf16: s.precision === 'bf16',
    fp16: s.precision === 'fp16',
    seed: s.seed,
    deepspeed: deepspeedFile,
    report_to: 'none',
  };
}

/** dataset_info.json: the converted files in LLaMA-Factory's sharegpt formatting with OpenAI-style tags. */
export function llamaFactoryDatasetInfo(s: HandoffSettings): Record<string, unknown> {
  const entry = (file: string) => ({
    file_name: file.replace(/^data\//, ''),
    formatting: 'sharegpt',
    columns: { messages: 'messages' },
    tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant', system_tag: 'system' },
  });
  const info: Record<string, unknown> = { [LLAMA_FACTORY_DATASET]: entry(s.train_file) };
  if (s.eval_file) info[LLAMA_FACTORY_EVAL_DATASET] = entry(s.eval_file);
  return info;
}
