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
      changes.push(`packing on: records average ${dataset.tokens.mean} tokens of ${a.max_length}, so sharing sequences computes far fewer padding tokens`);
    }
    if (g.epochs === undefined && g.maxSteps === undefined && records >= 1000 && a.epochs > 1) {
      changes.push(`1 epoch instead of ${a.epochs}: every record is seen once (a little less fitted to the data)`);
      a.epochs = 1;
    }
    if (g.loraRank === undefined && a.lora_rank > 8) {
      changes.push(`rank 8 instead of ${a.lora_rank}: fewer adapter weights to update`);
      a.lora_rank = 8;
      a.lora_alpha = 16;
    }
    if (changes.length === 0) changes.push('these settings are already the fast ones for this data (length from the data, one pass where the data is large)');
  } else if (g.speed === 'quality') {
    if (g.loraRank === undefined && a.lora_rank < 32) {
      changes.push(`rank 32 instead of ${a.lora_rank}: more adapter capacity`);
      a.lora_rank = 32;
      a.lora_alpha = 32;
    }
    if (a.lora_target_modules.length < LORA_ALL_LINEAR.length) {
      a.lora_target_modules = [...LORA_ALL_LINEAR];
      changes.push('adapters on every linear layer');
    }
    if (g.epochs === undefined && g.maxSteps === undefined && records > 0 && records < 10000 && a.epochs < 3) {
      changes.push(`3 epochs instead of ${a.epochs}`);
      a.epochs = 3;
    }
    if (records >= 200 && a.eval_split === 0 && !a.eval_data) {
      a.eval_split = 0.05;
      changes.push('5% held out to watch for overfitting and pick the best checkpoint');
    }
    if (changes.length === 0) changes.push('the plan already uses full capacity for this data');
  }
  return changes;
}

/** The sentence under the plan for a speed wish. */
export function speedWishNote(g: GoalIntent, changes: string[]): string | undefined {
  if (g.speed === 'fast') return `For speed: ${changes.join('; ')}. Nothing is cut from the data: every record is trained on.`;
  if (g.speed === 'quality') return `For quality: ${changes.join('; ')}. It takes longer.`;
  return undefined;
}

/** "quick test": a short trial run of the whole setup, stated as such. */
export function testRunNote(steps: number): string {
  return `A test run: ${steps} steps to check data, memory and speed end to end. Remove "max_steps" (or ask for the full run) to train on all the data.`;
}

/** "use less memory": what the re-fit changed, and its price. */
export function lessMemoryNote(before: number, after: number, a: ResolvedArgs, spec?: ModelSpec): string {
  if (after >= before) return `Less memory: this plan already uses the least this method needs here (${formatBytes(after)}); say a limit ("fit in 8 GB") to allow a cheaper method.`;
  return `Less memory: batch ${a.batch_size} with gradient accumulation ${a.gradient_accumulation} (the same sequences per step)${a.gradient_checkpointing ? ` and activations recomputed in backward (${spec ? `${Math.round(recomputeShare(spec, a) * 100)}%` : 'about a third'} more compute)` : ''}: peak ${formatBytes(after)} instead of ${formatBytes(before)}.`;
}

/** What to say about the parts of the goal the planner did not act on. */
export function unactedNote(clauses: string[]): string {
  return `Not acted on: ${clauses.map((c) => `"${c}"`).join(', ')}. What the model says comes from the data; if this was about the run, name what to change (speed, quality, memory, length, method, epochs).`;
}
