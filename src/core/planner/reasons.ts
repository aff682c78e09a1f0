// One line per choice, for the plan table: why this value, in terms of this machine, this model
// and this data. Used for rule-based and LLM plans alike, so every plan reads the same way.
import { recomputeShare } from '../args/estimate';
import type { ArgsFieldName, ResolvedArgs } from '../args/fields';
import { formatBytes, type HardwareProfile } from '../hardware/types';
import type { DatasetInfo, LocalModel } from './context';
import { formatDuration, type PlanEstimate } from './estimator';
import { maxLengthReason } from './lengths';
import { formatCount } from '../units';
import * as l10n from '@vscode/l10n';

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
  const asked = c.stated.has(field) ? l10n.t('you asked for it') : undefined;
  const note = c.notes?.[field];
  const join = (...parts: (string | undefined)[]) => parts.filter(Boolean).join('; ');
  const budget = c.estimate ? formatBytes(c.estimate.budgetBytes) : l10n.t('the memory available');
  const where = c.estimate?.device === 'cuda' ? l10n.t('per GPU ({0})', c.hardware.gpus[0]?.name ?? 'GPU') : l10n.t('of RAM');
  switch (field) {
    case 'model':
      return join(asked, c.model ? l10n.t('{0}, {1} parameters, found at {2}', c.model.spec.architecture, billions(c.model.params), c.model.dir) : l10n.t('the model named in the goal'));
    case 'data':
      return join(asked, c.dataset ? l10n.t('{0} records, {1} format, ~{2} tokens each', c.dataset.records, c.dataset.format, c.dataset.tokens.mean) : l10n.t('the dataset named in the goal'));
    case 'method': {
      const what = { full: l10n.t('updates every weight'), lora: l10n.t('trains small adapters on a frozen base'), qlora: l10n.t('adapters on a 4-bit base: the least memory'), lomo: l10n.t('every weight, updated during backward so no optimizer state') }[a.method];
      return join(asked, note, l10n.t('{0}; peak {1} of {2} {3}', what, formatBytes(c.estimate?.memoryBytes), budget, where));
    }
    case 'quantization':
      return join(asked, a.quantization === 'none' ? l10n.t('base weights kept at full precision: no quantization error') : l10n.t('base weights stored as {0} ({1}) to fit', a.quantization, formatBytes(c.estimate?.breakdown.weights)));
    case 'lora_rank':
      return join(asked, `r=${a.lora_rank}: ${a.lora_rank >= 32 ? l10n.t('more adapter capacity for a large dataset or a quality run') : a.lora_rank >= 16 ? l10n.t('the rank Unsloth and LLaMA-Factory start from: enough capacity for instruction data') : l10n.t('a small adapter: quick to train, less capacity')}`);
    case 'lora_alpha':
      return l10n.t('updates scaled by alpha / rank = {0} (alpha 16-32 is current practice)', Number((a.lora_alpha / a.lora_rank).toPrecision(3)));
    case 'lora_dropout':
      return l10n.t('light regularisation on the adapter input');
    case 'lora_target_modules':
      return a.lora_target_modules.length >= 7 ? l10n.t('every linear layer (attention and MLP), as the QLoRA paper, LLaMA-Factory (lora_target all) and Unsloth do: better quality than attention alone at the same rank') : l10n.t('{0} only: fewer adapter weights, usually a little less quality than every linear layer', a.lora_target_modules.join(', '));
    case 'optimizer':
      return join(asked, a.optimizer === 'lion' ? l10n.t('Lion keeps one moment instead of two: less memory, needs a smaller learning rate') : a.optimizer === 'sgd' ? l10n.t('LOMO fuses a plain SGD step into backward') : l10n.t('AdamW: the robust default'));
    case 'learning_rate':
      if (a.stage === 'dpo') return join(asked, l10n.t('{0}: DPO moves a tuned model with a far smaller step than SFT (LLaMA-Factory\'s DPO example and Unsloth use 5e-6 with adapters)', a.learning_rate));
      return join(asked, l10n.t('{0} is a usual peak for {1}{2}{3}', a.learning_rate, a.method, c.model && c.model.params >= 30e9 && a.method !== 'lomo' ? l10n.t(' on a model this large (the QLoRA paper used 1e-4 from 33B, 2e-4 below)') : '', a.optimizer === 'lion' ? l10n.t(' with Lion (3-10x below AdamW)') : ''));
    case 'weight_decay':
      return a.weight_decay > 0 ? l10n.t('Lion needs stronger decoupled decay than AdamW') : l10n.t('no decay: adapters and short runs rarely need it');
    case 'schedule':
      return l10n.t('{0} decay after {1} warmup steps', a.schedule, a.warmup_steps);
    case 'warmup_steps':
      return l10n.t('about 3% of the steps, to keep the first updates small');
    case 'epochs':
      return join(asked, c.dataset ? l10n.t('{0} pass{1} over {2} records ({3} steps)', a.epochs, a.epochs === 1 ? '' : 'es', c.dataset.records, c.estimate?.optimizerSteps ?? '?') : l10n.t('a usual number of passes'));
    case 'max_steps':
      return join(asked, note, l10n.t('{0} optimizer steps', String(a.max_steps)));
    case 'batch_size':
      return join(asked, note, l10n.t('the largest micro-batch that fits in {0}', budget));
    case 'gradient_accumulation':
      return l10n.t('effective batch {0} sequences per step{1}', a.batch_size * a.gradient_accumulation, c.dataset && c.dataset.records < 1000 ? l10n.t(': small data wants 4-8, so {0} records still give {1} steps to learn from', c.dataset.records, c.estimate?.optimizerSteps ?? '?') : '');
    case 'max_length':
      return join(asked, note, c.dataset ? maxLengthReason(c.dataset, a.max_length) : l10n.t('a usual length for instruction data'));
    case 'gradient_checkpointing':
      return a.gradient_checkpointing ? l10n.t('recomputes each layer in backward to fit ({0} more compute)', c.model ? `${Math.round(recomputeShare(c.model.spec, a) * 100)}%` : l10n.t('about a third')) : l10n.t('not needed: activations fit');
    case 'precision':
      if (a.precision === 'bf16') return join(asked, c.estimate?.device === 'cpu' ? l10n.t('bf16 matmuls with fp32 master weights (fastest on CPUs with AVX512_BF16)') : l10n.t('bf16: fast on this GPU and numerically safe'));
      if (a.precision === 'fp16') return join(asked, l10n.t('fp16: this GPU has no bf16'));
      if (c.estimate?.device !== 'cuda') return join(asked, l10n.t('the CPU engine computes in fp32'));
      return join(asked, Number(c.hardware.gpus[0]?.computeCapability ?? '8.0') < 8
        ? l10n.t('fp32: this GPU (compute {0}) has no bf16, and the engine does not train in fp16', c.hardware.gpus[0]?.computeCapability ?? '?')
        : l10n.t('fp32: the most exact, at twice the memory and time of bf16'));
    case 'device':
      return c.estimate?.device === 'cuda' ? `${c.hardware.gpus.length} x ${c.hardware.gpus[0]?.name}` : l10n.t('CPU: {0}, {1} cores', c.hardware.cpuModel, c.hardware.cores);
    case 'gpus':
      return a.gpus > 1 ? l10n.t('data parallel over {0} GPUs', a.gpus) : l10n.t('one GPU');
    case 'eval_split':
      return a.eval_split > 0 ? l10n.t('{0}% of records held out to watch for overfitting', Math.round(a.eval_split * 100)) : c.dataset && c.dataset.records > 0 ? l10n.t('none held out: {0} records are too few to spare a useful eval set; every record trains, watch the samples and the training loss', c.dataset.records) : l10n.t('no eval split');
    case 'save_interval':
      return a.save_interval > 0 ? l10n.t('a checkpoint every {0} steps, so a stopped run resumes', a.save_interval) : l10n.t('a checkpoint at the end');
    case 'output_dir':
      return l10n.t('the finished adapter (or model) is copied here; checkpoints stay in runs/<id>/');
    case 'model_name':
      return join(asked, l10n.t('replaces [MODEL NAME] in the data'));
    case 'packing':
      if (a.stage === 'dpo') return l10n.t('off: DPO scores each answer as a sequence of its own');
      return join(asked, a.packing ? l10n.t('short records share a sequence: fewer wasted padding tokens') : l10n.t('one record per sequence: simplest, no cross-record attention'));
    case 'eval_data':
      return join(asked, l10n.t('held-out records to watch for overfitting'));
    case 'stage':
      return join(asked, a.stage === 'dpo' ? l10n.t('preference pairs: DPO raises each chosen answer\'s likelihood over the rejected one\'s, relative to the model before tuning{0}', a.method === 'lora' || a.method === 'qlora' ? l10n.t(' (the base with adapters off, so no second copy of the model)') : '') : l10n.t('next-token loss on the answers'));
    case 'pref_beta':
      return l10n.t('beta {0}: how far the tuned model may move from the reference (TRL\'s and LLaMA-Factory\'s default)', a.pref_beta);
    case 'train_on_responses_only':
      return l10n.t('loss on the answers only: the model learns to answer, not to echo prompts');
    default:
      return asked ?? '';
  }
}

/** Time line under the table. */
export function estimateLine(e: PlanEstimate | undefined): string {
  if (!e) return l10n.t('Estimate: not available (model not found on this machine).');
  const fit = e.fits ? 'fits' : 'DOES NOT FIT';
  return l10n.t('Estimate: peak {0} of {1} on {2} ({3}); {4} steps, about {5}{6}.', formatBytes(e.memoryBytes), formatBytes(e.budgetBytes), e.device === 'cuda' ? l10n.t('each GPU') : l10n.t('the CPU host'), fit, e.optimizerSteps === undefined ? '?' : formatCount(e.optimizerSteps), formatDuration(e.seconds), e.speed ? `; speed ${e.speed}` : '');
}
