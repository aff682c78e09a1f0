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
import * as l10n from '@vscode/l10n';

export interface ExplainContext {
  hardware: HardwareProfile;
  model?: LocalModel;
  dataset?: DatasetInfo;
  estimate?: PlanEstimate;
}

const pct = (share: number) => (share > 0 && share < 0.01 ? l10n.t('under 1%') : `${Math.round(share * 100)}%`);

/** Why these weights are trained. */
export function modulesSentence(a: ResolvedArgs, model?: LocalModel): string {
  if (a.method === 'full' || a.method === 'lomo') {
    return l10n.t('Trained weights: every weight, embed_tokens and lm_head included (no adapters to target): the most the data can change, at the most memory.');
  }
  const targets: readonly string[] = a.lora_target_modules;
  const all = (model ? loraModuleNames(model.spec) : LORA_ALL_LINEAR).every((m) => targets.includes(m));
  const list = a.lora_target_modules.join(', ');
  return all
    ? l10n.t('Targeted modules: {0}, every linear layer of attention and MLP, as the QLoRA paper, LLaMA-Factory (lora_target: all) and Unsloth do: the MLP holds most of what a model knows, so adapters there learn more than attention-only adapters at the same rank.', list)
    : l10n.t('Targeted modules: {0} only: fewer adapter weights and a little faster, usually a little less quality than adapters on every linear layer.', list);
}

/** What the length histogram implies for max_length, truncation and padding. */
export function lengthsSentence(a: ResolvedArgs, d: DatasetInfo | undefined): string {
  if (!d || d.tokens.sampled === 0) return l10n.t('Lengths: the data was not read, so max_length {0} is a default; check it against your records.', a.max_length);
  const t = d.tokens;
  const h = t.histogram ?? [];
  const short = h.find((b) => b.records / t.sampled >= 0.5);
  const cut = truncation(d, a.max_length);
  const parts = [l10n.t('records average {0} tokens ({1}), p95 {2}, longest {3}{4}', formatCount(t.mean), t.counter, formatCount(t.p95), formatCount(t.max), short ? l10n.t('; {0} fit in {1}', pct(short.records / t.sampled), formatCount(short.upTo)) : '')];
  parts.push(cut.records === 0 ? l10n.t('max_length {0} cuts no record', a.max_length) : cut.counted ? l10n.t('max_length {0} cuts {1} records ({2}) short', a.max_length, formatCount(cut.records), pct(cut.share)) : l10n.t('max_length {0} cuts about {1} records ({2}) short', a.max_length, formatCount(cut.records), pct(cut.share)));
  const fill = Math.min(1, t.mean / a.max_length);
  if (a.packing) parts.push(l10n.t('packing fills each {0}-token row with several records instead of padding', a.max_length));
  else if (fill < 0.5) parts.push(l10n.t('unpacked rows are {0} padding on average (the engine computes every position)', pct(1 - fill)));
  return l10n.t('Lengths: {0}.', parts.join('; '));
}

/** How long, on what, and whence the speed. */
export function timeSentence(e: PlanEstimate | undefined, hw: HardwareProfile): string {
  if (!e || e.seconds === undefined) return l10n.t('Time: unknown until the data is read (the estimate needs its record count).');
  const where = e.device === 'cuda' ? `${hw.gpus.length > 1 ? `${hw.gpus.length} x ` : ''}${hw.gpus[0]?.name ?? l10n.t('the GPU')}` : l10n.t('this machine\'s CPU ({0} cores)', hw.cores);
  return l10n.t('Time: about {0} for {1} steps on {2}; speed {3}.', formatDuration(e.seconds), formatCount(e.optimizerSteps ?? 0), where, e.speed ?? l10n.t('not measured'));
}

/** What the plan trades for speed (or memory), each with its price. */
export function tradeOffsSentence(a: ResolvedArgs, d: DatasetInfo | undefined, model?: LocalModel): string {
  const given: string[] = [];
  if (a.method === 'lora' || a.method === 'qlora') given.push(l10n.t('adapters (rank {0}) instead of every weight: far less memory and compute per step, less capacity to learn a new domain than full fine-tuning', a.lora_rank));
  if (a.method === 'qlora' || a.quantization !== 'none') given.push(l10n.t('the frozen base stored as {0}: a little quantization error in its weights', a.quantization === 'none' ? 'nf4' : a.quantization));
  if (a.method === 'lomo') given.push(l10n.t('LOMO: plain SGD fused into backward, no AdamW moments'));
  const cut = d ? truncation(d, a.max_length) : undefined;
  if (cut && cut.records > 0) given.push(l10n.t('the ends of {0} records longer than {1} tokens', formatCount(cut.records), a.max_length));
  if (a.packing) given.push(l10n.t('packed records share a row and attend to their neighbours in it'));
  if (a.max_steps !== undefined) given.push(l10n.t('a stop at step {0} instead of whole epochs', formatCount(a.max_steps)));
  else if (a.epochs === 1 && (d?.records ?? 0) >= 1000) given.push(l10n.t('one pass over the data'));
  if (a.eval_split === 0 && !a.eval_data) given.push(l10n.t('no held-out eval set (every record trains)'));
  const costs: string[] = [];
  if (a.gradient_checkpointing) costs.push(l10n.t('recomputing each layer in backward to fit memory ({0} more compute)', model ? `${Math.round(recomputeShare(model.spec, a) * 100)}%` : l10n.t('about a third')));
  const head = given.length ? l10n.t('Given up for speed: {0}.', given.join('; ')) : l10n.t('Given up for speed: nothing: the plan trains every weight on every token of every record.');
  return costs.length ? l10n.t('{0} Speed given up: {1}.', head, costs.join('; ')) : head;
}

/** The four sentences, in order. */
export function planExplanation(a: ResolvedArgs, c: ExplainContext): string[] {
  return [modulesSentence(a, c.model), lengthsSentence(a, c.dataset), timeSentence(c.estimate, c.hardware), tradeOffsSentence(a, c.dataset, c.model)];
}
