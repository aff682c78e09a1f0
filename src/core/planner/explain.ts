// The four sentences every plan ends with, for rule and language-model plans alike: why these
// modules are trained, what the data's length histogram implies, how long the run takes on the
// machine that runs it (and where that speed comes from), and what the plan gives up for speed.
import type { ResolvedArgs } from '../args/fields';
import { recomputeShare } from '../args/estimate';
import type { HardwareProfile } from '../hardware/types';
import { loraModuleNames } from '../model/spec';
import { formatCount } from '../units';
import type { DatasetInfo, LocalModel } from './context';
import { formatDuration, type PlanEstimate } from './estimator';
import { LORA_ALL_LINEAR } from './fit';
import { truncation } from './lengths';

export interface ExplainContext {
  hardware: HardwareProfile;
  model?: LocalModel;
  dataset?: DatasetInfo;
  estimate?: PlanEstimate;
}

const pct = (share: number) => (share > 0 && share < 0.01 ? 'under 1%' : `${Math.round(share * 100)}%`);

/** Why these weights are trained. */
export function modulesSentence(a: ResolvedArgs, model?: LocalModel): string {
  if (a.method === 'full' || a.method === 'lomo') {
    return 'Trained weights: every weight, embed_tokens and lm_head included (no adapters to target): the most the data can change, at the most memory.';
  }
  const targets: readonly string[] = a.lora_target_modules;
  const all = (model ? loraModuleNames(model.spec) : LORA_ALL_LINEAR).every((m) => targets.includes(m));
  const list = a.lora_target_modules.join(', ');
  return all
    ? `Targeted modules: ${list}, every linear layer of attention and MLP, as the QLoRA paper, LLaMA-Factory (lora_target: all) and Unsloth do: the MLP holds most of what a model knows, so adapters there learn more than attention-only adapters at the same rank.`
    : `Targeted modules: ${list} only: fewer adapter weights and a little faster, usually a little less quality than adapters on every linear layer.`;
}

/** What the length histogram implies for max_length, truncation and padding. */
export function lengthsSentence(a: ResolvedArgs, d: DatasetInfo | undefined): string {
  if (!d || d.tokens.sampled === 0) return `Lengths: the data was not read, so max_length ${a.max_length} is a default; check it against your records.`;
  const t = d.tokens;
  const h = t.histogram ?? [];
  const short = h.find((b) => b.records / t.sampled >= 0.5);
  const cut = truncation(d, a.max_length);
  const parts = [`records average ${formatCount(t.mean)} tokens (${t.counter}), p95 ${formatCount(t.p95)}, longest ${formatCount(t.max)}${short ? `; ${pct(short.records / t.sampled)} fit in ${formatCount(short.upTo)}` : ''}`];
  parts.push(cut.records === 0 ? `max_length ${a.max_length} cuts no record` : `max_length ${a.max_length} cuts ${cut.counted ? '' : 'about '}${formatCount(cut.records)} records (${pct(cut.share)}) short`);
  const fill = Math.min(1, t.mean / a.max_length);
  if (a.packing) parts.push(`packing fills each ${a.max_length}-token row with several records instead of padding`);
  else if (fill < 0.5) parts.push(`unpacked rows are ${pct(1 - fill)} padding on average (the engine computes every position)`);
  return `Lengths: ${parts.join('; ')}.`;
}

/** How long, on what, and whence the speed. */
export function timeSentence(e: PlanEstimate | undefined, hw: HardwareProfile): string {
  if (!e || e.seconds === undefined) return 'Time: unknown until the data is read (the estimate needs its record count).';
  const where = e.device === 'cuda' ? `${hw.gpus.length > 1 ? `${hw.gpus.length} x ` : ''}${hw.gpus[0]?.name ?? 'the GPU'}` : `this machine's CPU (${hw.cores} cores)`;
  return `Time: about ${formatDuration(e.seconds)} for ${formatCount(e.optimizerSteps ?? 0)} steps on ${where}; speed ${e.speed ?? 'not measured'}.`;
}

/** What the plan trades for speed (or memory), each with its price. */
export function tradeOffsSentence(a: ResolvedArgs, d: DatasetInfo | undefined, model?: LocalModel): string {
  const given: string[] = [];
  if (a.method === 'lora' || a.method === 'qlora') given.push(`adapters (rank ${a.lora_rank}) instead of every weight: far less memory and compute per step, less capacity to learn a new domain than full fine-tuning`);
  if (a.method === 'qlora' || a.quantization !== 'none') given.push(`the frozen base stored as ${a.quantization === 'none' ? 'nf4' : a.quantization}: a little quantization error in its weights`);
  if (a.method === 'lomo') given.push('LOMO: plain SGD fused into backward, no AdamW moments');
  const cut = d ? truncation(d, a.max_length) : undefined;
  if (cut && cut.records > 0) given.push(`the ends of ${formatCount(cut.records)} records longer than ${a.max_length} tokens`);
  if (a.packing) given.push('packed records share a row and attend to their neighbours in it');
  if (a.max_steps !== undefined) given.push(`a stop at step ${formatCount(a.max_steps)} instead of whole epochs`);
  else if (a.epochs === 1 && (d?.records ?? 0) >= 1000) given.push('one pass over the data');
  if (a.eval_split === 0 && !a.eval_data) given.push('no held-out eval set (every record trains)');
  const costs: string[] = [];
  if (a.gradient_checkpointing) costs.push(`recomputing each layer in backward to fit memory (${model ? `${Math.round(recomputeShare(model.spec, a) * 100)}%` : 'about a third'} more compute)`);
  const head = given.length ? `Given up for speed: ${given.join('; ')}.` : 'Given up for speed: nothing: the plan trains every weight on every token of every record.';
  return costs.length ? `${head} Speed given up: ${costs.join('; ')}.` : head;
}

/** The four sentences, in order. */
export function planExplanation(a: ResolvedArgs, c: ExplainContext): string[] {
  return [modulesSentence(a, c.model), lengthsSentence(a, c.dataset), timeSentence(c.estimate, c.hardware), tradeOffsSentence(a, c.dataset, c.model)];
}
