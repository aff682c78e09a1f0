// What the planner does with a user's wishes about the run that are not a setting: speed,
// quality, memory. Each becomes settings with the trade-off said in words; none silently drops
// data (only a stated wait caps the steps, and the plan says how much of the data that leaves).
import { recomputeShare } from '../args/estimate';
import type { ResolvedArgs } from '../args/fields';
import type { ModelSpec } from '../model/spec';
import { formatBytes } from '../hardware/types';
import type { DatasetInfo } from './context';
import { LORA_ALL_LINEAR } from './fit';
import type { GoalIntent } from './goal';
import * as l10n from '@vscode/l10n';

/** Steps of a trial run ("quick test"): enough to see the loss move, memory and speed. */
export const TEST_RUN_STEPS = 20;

/**
 * Settings for "as fast as possible" or "best quality", before memory fitting. Returns what
 * changed and what it costs, one phrase each; fields the user set in words are left alone.
 */
export function applySpeedWish(a: ResolvedArgs, g: GoalIntent, dataset: DatasetInfo | undefined): string[] {
  const changes: string[] = [];
  const records = dataset?.records ?? 0;
  if (g.speed === 'fast') {
    // DPO scores each answer as a sequence of its own: its records are never packed.
    if (g.packing === undefined && !a.packing && a.stage !== 'dpo' && dataset && dataset.tokens.sampled > 0 && dataset.tokens.mean * 2 <= a.max_length) {
      a.packing = true;
      changes.push(l10n.t('packing on: records average {0} tokens of {1}, so sharing sequences computes far fewer padding tokens', dataset.tokens.mean, a.max_length));
    }
    if (g.epochs === undefined && g.maxSteps === undefined && records >= 1000 && a.epochs > 1) {
      changes.push(l10n.t('1 epoch instead of {0}: every record is seen once (a little less fitted to the data)', a.epochs));
      a.epochs = 1;
    }
    if (g.loraRank === undefined && a.lora_rank > 8) {
      changes.push(l10n.t('rank 8 instead of {0}: fewer adapter weights to update', a.lora_rank));
      a.lora_rank = 8;
      a.lora_alpha = 16;
    }
    if (changes.length === 0) changes.push(l10n.t('these settings are already the fast ones for this data (length from the data, one pass where the data is large)'));
  } else if (g.speed === 'quality') {
    if (g.loraRank === undefined && a.lora_rank < 32) {
      changes.push(l10n.t('rank 32 instead of {0}: more adapter capacity', a.lora_rank));
      a.lora_rank = 32;
      a.lora_alpha = 32;
    }
    if (a.lora_target_modules.length < LORA_ALL_LINEAR.length) {
      a.lora_target_modules = [...LORA_ALL_LINEAR];
      changes.push(l10n.t('adapters on every linear layer'));
    }
    if (g.epochs === undefined && g.maxSteps === undefined && records > 0 && records < 10000 && a.epochs < 3) {
      changes.push(l10n.t('3 epochs instead of {0}', a.epochs));
      a.epochs = 3;
    }
    if (records >= 200 && a.eval_split === 0 && !a.eval_data) {
      a.eval_split = 0.05;
      changes.push(l10n.t('5% held out to watch for overfitting and pick the best checkpoint'));
    }
    if (changes.length === 0) changes.push(l10n.t('the plan already uses full capacity for this data'));
  }
  return changes;
}

/** The sentence under the plan for a speed wish. */
export function speedWishNote(g: GoalIntent, changes: string[]): string | undefined {
  if (g.speed === 'fast') return l10n.t('For speed: {0}. Nothing is cut from the data: every record is trained on.', changes.join('; '));
  if (g.speed === 'quality') return l10n.t('For quality: {0}. It takes longer.', changes.join('; '));
  return undefined;
}

/** "quick test": a short trial run of the whole setup, stated as such. */
export function testRunNote(steps: number): string {
  return l10n.t('A test run: {0} steps to check data, memory and speed end to end. Remove "max_steps" (or ask for the full run) to train on all the data.', steps);
}

/** "use less memory": what the re-fit changed, and its price. */
export function lessMemoryNote(before: number, after: number, a: ResolvedArgs, spec?: ModelSpec): string {
  if (after >= before) return l10n.t('Less memory: this plan already uses the least this method needs here ({0}); say a limit ("fit in 8 GB") to allow a cheaper method.', formatBytes(after));
  return l10n.t('Less memory: batch {0} with gradient accumulation {1} (the same sequences per step){2}: peak {3} instead of {4}.', a.batch_size, a.gradient_accumulation, a.gradient_checkpointing ? l10n.t(' and activations recomputed in backward ({0} more compute)', spec ? `${Math.round(recomputeShare(spec, a) * 100)}%` : l10n.t('about a third')) : '', formatBytes(after), formatBytes(before));
}

/** What to say about the parts of the goal the planner did not act on. */
export function unactedNote(clauses: string[]): string {
  return l10n.t('Not acted on: {0}. What the model says comes from the data; if this was about the run, name what to change (speed, quality, memory, length, method, epochs).', clauses.map((c) => `"${c}"`).join(', '));
}
