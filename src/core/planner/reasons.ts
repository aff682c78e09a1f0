// One line per choice, for the plan table: why this value, in terms of this machine, this model
// and this data. Used for rule-based and LLM plans alike, so every plan reads the same way.
import { recomputeShare } from '../args/estimate';
import type { ArgsFieldName, ResolvedArgs } from '../args/fields';
import { formatBytes, type HardwareProfile } from '../hardware/types';
import type { DatasetInfo, LocalModel } from './context';
import { formatDuration, type PlanEstimate } from './estimator';
import { maxLengthReason } from './lengths';
import { formatCount } from '../units';

export interface ReasonContext {
  hardware: HardwareProfile;
  model?: LocalModel;
  dataset?: DatasetInfo;
  estimate?: PlanEstimate;
  /** Fields the user asked for in words. */
  stated: ReadonlySet<string>;
  /** Extra notes from fitting (what had to change), keyed by field. */
  notes?: Partial<Record<ArgsFieldName, string>>;
}

const billions = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${Math.round(n / 1e6)}M` : `${Math.round(n / 1e3)}K`);

export function reasonFor(field: ArgsFieldName, a: ResolvedArgs, c: ReasonContext): string {
  const asked = c.stated.has(field) ? 'you asked for it' : undefined;
  const note = c.notes?.[field];
  const join = (...parts: (string | undefined)[]) => parts.filter(Boolean).join('; ');
  const budget = c.estimate ? formatBytes(c.estimate.budgetBytes) : 'the memory available';
  const where = c.estimate?.device === 'cuda' ? `per GPU (${c.hardware.gpus[0]?.name ?? 'GPU'})` : 'of RAM';
  switch (field) {
    case 'model':
      return join(asked, c.model ? `${c.model.spec.architecture}, ${billions(c.model.params)} parameters, found at ${c.model.dir}` : 'the model named in the goal');
    case 'data':
      return join(asked, c.dataset ? `${c.dataset.records} records, ${c.dataset.format} format, ~${c.dataset.tokens.mean} tokens each` : 'the dataset named in the goal');
    case 'method': {
      const what = { full: 'updates every weight', lora: 'trains small adapters on a frozen base', qlora: 'adapters on a 4-bit base: the least memory', lomo: 'every weight, updated during backward so no optimizer state' }[a.method];
      return join(asked, note, `${what}; peak ${formatBytes(c.estimate?.memoryBytes)} of ${budget} ${where}`);
    }
    case 'quantization':
      return join(asked, a.quantization === 'none' ? 'base weights kept at full precision: no quantization error' : `base weights stored as ${a.quantization} (${formatBytes(c.estimate?.breakdown.weights)}) to fit`);
    case 'lora_rank':
      return join(asked, `r=${a.lora_rank}: ${a.lora_rank >= 32 ? 'more adapter capacity for a large dataset or a quality run' : a.lora_rank >= 16 ? 'the rank Unsloth and LLaMA-Factory start from: enough capacity for instruction data' : 'a small adapter: quick to train, less capacity'}`);
    case 'lora_alpha':
      return `updates scaled by alpha / rank = ${Number((a.lora_alpha / a.lora_rank).toPrecision(3))} (alpha 16-32 is current practice)`;
    case 'lora_dropout':
      return 'light regularisation on the adapter input';
    case 'lora_target_modules':
      return a.lora_target_modules.length >= 7 ? 'every linear layer (attention and MLP), as the QLoRA paper, LLaMA-Factory (lora_target all) and Unsloth do: better quality than attention alone at the same rank' : `${a.lora_target_modules.join(', ')} only: fewer adapter weights, usually a little less quality than every linear layer`;
    case 'optimizer':
      return join(asked, a.optimizer === 'lion' ? 'Lion keeps one moment instead of two: less memory, needs a smaller learning rate' : a.optimizer === 'sgd' ? 'LOMO fuses a plain SGD step into backward' : 'AdamW: the robust default');
    case 'learning_rate':
      if (a.stage === 'dpo') return join(asked, `${a.learning_rate}: DPO moves a tuned model with a far smaller step than SFT (LLaMA-Factory's DPO example and Unsloth use 5e-6 with adapters)`);
      return join(asked, `${a.learning_rate} is a usual peak for ${a.method}${c.model && c.model.params >= 30e9 && a.method !== 'lomo' ? ' on a model this large (the QLoRA paper used 1e-4 from 33B, 2e-4 below)' : ''}${a.optimizer === 'lion' ? ' with Lion (3-10x below AdamW)' : ''}`);
    case 'weight_decay':
      return a.weight_decay > 0 ? 'Lion needs stronger decoupled decay than AdamW' : 'no decay: adapters and short runs rarely need it';
    case 'schedule':
      return `${a.schedule} decay after ${a.warmup_steps} warmup steps`;
    case 'warmup_steps':
      return 'about 3% of the steps, to keep the first updates small';
    case 'epochs':
      return join(asked, c.dataset ? `${a.epochs} pass${a.epochs === 1 ? '' : 'es'} over ${c.dataset.records} records (${c.estimate?.optimizerSteps ?? '?'} steps)` : 'a usual number of passes');
    case 'max_steps':
      return join(asked, note, `${a.max_steps} optimizer steps`);
    case 'batch_size':
      return join(asked, note, `the largest micro-batch that fits in ${budget}`);
    case 'gradient_accumulation':
      return `effective batch ${a.batch_size * a.gradient_accumulation} sequences per step${c.dataset && c.dataset.records < 1000 ? `: small data wants 4-8, so ${c.dataset.records} records still give ${c.estimate?.optimizerSteps ?? '?'} steps to learn from` : ''}`;
    case 'max_length':
      return join(asked, note, c.dataset ? maxLengthReason(c.dataset, a.max_length) : 'a usual length for instruction data');
    case 'gradient_checkpointing':
      return a.gradient_checkpointing ? `recomputes each layer in backward to fit (${c.model ? `${Math.round(recomputeShare(c.model.spec, a) * 100)}%` : 'about a third'} more compute)` : 'not needed: activations fit';
    case 'precision':
      return a.precision === 'fp32' ? 'the CPU engine computes in fp32' : a.precision === 'bf16' ? 'bf16: fast on this GPU and numerically safe' : 'fp16: this GPU has no bf16';
    case 'device':
      return c.estimate?.device === 'cuda' ? `${c.hardware.gpus.length} x ${c.hardware.gpus[0]?.name}` : `CPU: ${c.hardware.cpuModel}, ${c.hardware.cores} cores`;
    case 'gpus':
      return a.gpus > 1 ? `data parallel over ${a.gpus} GPUs` : 'one GPU';
    case 'eval_split':
      return a.eval_split > 0 ? `${Math.round(a.eval_split * 100)}% of records held out to watch for overfitting` : c.dataset && c.dataset.records > 0 ? `none held out: ${c.dataset.records} records are too few to spare a useful eval set; every record trains, watch the samples and the training loss` : 'no eval split';
    case 'save_interval':
      return a.save_interval > 0 ? `a checkpoint every ${a.save_interval} steps, so a stopped run resumes` : 'a checkpoint at the end';
    case 'output_dir':
      return 'the finished adapter (or model) is copied here; checkpoints stay in runs/<id>/';
    case 'model_name':
      return join(asked, 'replaces [MODEL NAME] in the data');
    case 'packing':
      if (a.stage === 'dpo') return 'off: DPO scores each answer as a sequence of its own';
      return join(asked, a.packing ? 'short records share a sequence: fewer wasted padding tokens' : 'one record per sequence: simplest, no cross-record attention');
    case 'eval_data':
      return join(asked, 'held-out records to watch for overfitting');
    case 'stage':
      return join(asked, a.stage === 'dpo' ? `preference pairs: DPO raises each chosen answer's likelihood over the rejected one's, relative to the model before tuning${a.method === 'lora' || a.method === 'qlora' ? ' (the base with adapters off, so no second copy of the model)' : ''}` : 'next-token loss on the answers');
    case 'pref_beta':
      return `beta ${a.pref_beta}: how far the tuned model may move from the reference (TRL's and LLaMA-Factory's default)`;
    case 'train_on_responses_only':
      return 'loss on the answers only: the model learns to answer, not to echo prompts';
    default:
      return asked ?? '';
  }
}

/** Time line under the table. */
export function estimateLine(e: PlanEstimate | undefined): string {
  if (!e) return 'Estimate: not available (model not found on this machine).';
  const fit = e.fits ? 'fits' : 'DOES NOT FIT';
  return `Estimate: peak ${formatBytes(e.memoryBytes)} of ${formatBytes(e.budgetBytes)} on ${e.device === 'cuda' ? 'each GPU' : 'the CPU host'} (${fit}); ${e.optimizerSteps === undefined ? '?' : formatCount(e.optimizerSteps)} steps, about ${formatDuration(e.seconds)}${e.speed ? `; speed ${e.speed}` : ''}.`;
}
