// Chart series of one run, built from its trainer events. A resumed run replays steps that
// were done after its last checkpoint, so a step seen twice keeps its latest value (the one
// the model the run continues with actually took). No Node or DOM imports: the webview bundles
// this file and feeds it events as they arrive.
import type { TrainerEvent } from '../engine/protocol';
import type { Point } from './downsample';
import * as l10n from '@vscode/l10n';

export const SERIES_IDS = [
  'loss', 'eval_loss', 'lr', 'grad_norm', 'tokens_per_s', 'tokens', 'memory', 'gpu_memory',
  'reward_margin', 'eval_reward_margin', 'reward_accuracy', 'eval_reward_accuracy',
  'padding', 'eval_rouge_l', 'eval_bleu',
] as const;
export type SeriesId = (typeof SERIES_IDS)[number];

export const SERIES_LABELS: Record<SeriesId, string> = {
  get loss() { return l10n.t('train loss'); },
  get eval_loss() { return l10n.t('eval loss'); },
  get lr() { return l10n.t('learning rate'); },
  get grad_norm() { return l10n.t('gradient norm'); },
  tokens_per_s: 'tokens / s',
  get tokens() { return l10n.t('tokens per step'); },
  get memory() { return l10n.t('peak memory (MiB)'); },
  get gpu_memory() { return l10n.t('GPU peak memory (MiB)'); },
  get reward_margin() { return l10n.t('reward margin'); },
  get eval_reward_margin() { return l10n.t('eval reward margin'); },
  get reward_accuracy() { return l10n.t('reward accuracy (%)'); },
  get eval_reward_accuracy() { return l10n.t('eval reward accuracy (%)'); },
  get padding() { return l10n.t('padding (% of positions)'); },
  get eval_rouge_l() { return l10n.t('eval ROUGE-L F1 (%)'); },
  get eval_bleu() { return l10n.t('eval BLEU-4'); },
};

export type XAxis = 'step' | 'tokens';

interface Row {
  step: number;
  /** Tokens trained up to and including this step. */
  tokensSeen: number;
  values: Partial<Record<SeriesId, number>>;
}

/** Accumulates events into per-step rows; `points()` gives one series against either x axis. */
export class RunSeries {
  private readonly rows = new Map<number, Row>();
  private sorted: Row[] | undefined;
  private tokensPerStep = 0;

  add(event: TrainerEvent): void {
    switch (event.type) {
      case 'start':
        this.tokensPerStep = event.tokens_per_step;
        return;
      case 'step': {
        const row = this.row(event.step);
        row.values.loss = event.loss;
        row.values.lr = event.lr;
        row.values.grad_norm = event.grad_norm;
        row.values.tokens_per_s = event.tokens_per_s;
        row.values.tokens = event.tokens;
        row.values.memory = event.peak_memory_bytes / (1024 * 1024);
        // Training on a device: its memory next to the host process's.
        if (event.device_memory) row.values.gpu_memory = event.device_memory.peak_bytes / (1024 * 1024);
        // DPO: the pairs' mean reward margin, and the share of pairs ranked right as a percentage.
        if (event.rewards) {
          row.values.reward_margin = event.rewards.margin;
          row.values.reward_accuracy = event.rewards.accuracy * 100;
        }
        // The share of the step's batch positions that held no token, as a percentage.
        if (event.padding !== undefined) row.values.padding = event.padding * 100;
        this.tokensPerStep = event.tokens;
        return;
      }
      case 'eval': {
        const row = this.row(event.step);
        row.values.eval_loss = event.loss;
        if (event.rewards) {
          row.values.eval_reward_margin = event.rewards.margin;
          row.values.eval_reward_accuracy = event.rewards.accuracy * 100;
        }
        // Generation metrics on one 0-100 scale: ROUGE-L F1 as a percentage, BLEU as sacrebleu's.
        if (event.rouge_l !== undefined) row.values.eval_rouge_l = event.rouge_l * 100;
        if (event.bleu !== undefined) row.values.eval_bleu = event.bleu;
        return;
      }
      default:
        return;
    }
  }

  addAll(events: Iterable<TrainerEvent>): this {
    for (const e of events) this.add(e);
    return this;
  }

  get size(): number {
    return this.rows.size;
  }

  /** The series as points, x = step or cumulative tokens, sorted by x. */
  points(id: SeriesId, x: XAxis = 'step'): Point[] {
    const out: Point[] = [];
    for (const r of this.ordered()) {
      const y = r.values[id];
      if (y !== undefined) out.push({ x: x === 'step' ? r.step : r.tokensSeen, y });
    }
    return out;
  }

  private row(step: number): Row {
    let r = this.rows.get(step);
    if (!r) {
      r = { step, tokensSeen: 0, values: {} };
      this.rows.set(step, r);
    }
    this.sorted = undefined;
    return r;
  }

  private ordered(): Row[] {
    if (!this.sorted) {
      this.sorted = [...this.rows.values()].sort((a, b) => a.step - b.step);
      // Cumulative tokens: each step adds its own token count (every step of a plan has the same).
      let seen = 0;
      for (const r of this.sorted) {
        seen += r.values.tokens ?? this.tokensPerStep;
        r.tokensSeen = seen;
      }
    }
    return this.sorted;
  }
}
