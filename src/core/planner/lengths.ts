// What the data's length histogram implies for max_length: the shortest power of two that
// covers 95% of the records (up to what the model was trained for), and — whenever max_length
// ends up shorter than some records — how many records it cuts, said in the plan.
import type { DatasetInfo } from './context';
import * as l10n from '@vscode/l10n';

export interface LengthBucket {
  /** Records of at most this many tokens (a power of two), in the sample. */
  upTo: number;
  records: number;
}

/** Cumulative counts of a sorted sample at 128, 256, … up to its longest record. */
export function lengthHistogram(sorted: readonly number[]): LengthBucket[] {
  const out: LengthBucket[] = [];
  if (sorted.length === 0) return out;
  let i = 0;
  for (let upTo = 128; ; upTo *= 2) {
    while (i < sorted.length && sorted[i] <= upTo) i++;
    out.push({ upTo, records: i });
    if (i === sorted.length) return out;
  }
}

/** The smallest power of two ≥ p95 of the data, between 128 and the model's context. */
export function lengthForData(dataset: DatasetInfo | undefined, modelMaxPositions: number): number {
  const cap = modelMaxPositions > 0 ? modelMaxPositions : 4096;
  if (!dataset || dataset.tokens.sampled === 0) return Math.min(512, cap);
  let p = 128;
  while (p < dataset.tokens.p95 && p < cap) p <<= 1;
  return Math.min(p, cap);
}

export interface Truncation {
  /** Records longer than max_length (estimated over the whole file from the sample). */
  records: number;
  /** Their share of the data, 0..1. */
  share: number;
  /** True when counted from the histogram; false when bounded from p95 and the longest record. */
  counted: boolean;
}

/** How many records a max_length cuts. */
export function truncation(dataset: DatasetInfo, maxLength: number): Truncation {
  const t = dataset.tokens;
  if (t.sampled === 0 || maxLength >= t.max) return { records: 0, share: 0, counted: true };
  const bucket = t.histogram?.find((b) => b.upTo === maxLength);
  if (bucket) {
    const share = (t.sampled - bucket.records) / t.sampled;
    return { records: Math.round(share * dataset.records), share, counted: true };
  }
  // Without a histogram: p95 bounds the share from one side.
  const share = maxLength >= t.p95 ? 0.05 : 0.5;
  return { records: Math.round(share * dataset.records), share, counted: false };
}

/** Records cut over this share are said under the plan (a few long outliers are not). */
export const TRUNCATION_WARN_SHARE = 0.05;

/** The warning under a plan whose max_length cuts more than TRUNCATION_WARN_SHARE of the records, else undefined. */
export function truncationWarning(dataset: DatasetInfo, maxLength: number): string | undefined {
  const cut = truncation(dataset, maxLength);
  if (cut.share <= TRUNCATION_WARN_SHARE) return undefined;
  return l10n.t('max_length {0} cuts {1}{2} of {3} records ({4}%) short: their ends are not trained on. A longer max_length needs more memory and time; or split long records.', maxLength, cut.counted ? '' : l10n.t('more than '), cut.records, dataset.records, Math.round(cut.share * 100));
}

/** The reason line for max_length: coverage, and what is cut when anything is. */
export function maxLengthReason(dataset: DatasetInfo, maxLength: number): string {
  const t = dataset.tokens;
  const cut = truncation(dataset, maxLength);
  const shape = l10n.t('p95 {0} tokens, longest {1}', t.p95, t.max);
  if (cut.records === 0) return l10n.t('no record is cut ({0})', shape);
  const pct = cut.share * 100;
  const share = pct < 1 ? l10n.t('under 1%') : `${Math.round(pct)}%`;
  if (!cut.counted) return l10n.t('{0} {1} of records are longer and cut at {2} tokens ({3})', maxLength >= t.p95 ? l10n.t('up to') : l10n.t('more than'), maxLength >= t.p95 ? '5%' : l10n.t('half'), maxLength, shape);
  return l10n.t('{0} records ({1}) are longer and cut at {2} tokens ({3})', cut.records, share, maxLength, shape);
}
