// The train/eval split: how many eval records each source gets (its share of the total, by
// largest remainder, so the counts add up exactly), and which ones, chosen while streaming by
// selection sampling (Knuth's algorithm S) from a seeded generator per source. The same data,
// recipe and seed always give the same split, and no record needs to be held in memory.
import { hashString } from '../dataset/hash';
import * as l10n from '@vscode/l10n';

/** mulberry32: a small, fast, seeded 32-bit generator; returns numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The eval total: `evalCount`, or the ratio of the records rounded; at least one record stays in train. */
export function evalTotal(records: number, split: { evalRatio?: number; evalCount?: number }): number {
  const wanted = split.evalCount ?? Math.round(records * (split.evalRatio ?? 0));
  return Math.max(0, Math.min(wanted, records - 1));
}

/** Each source's share of `total` eval records, proportional to its size (largest remainder). */
export function allocateEval(counts: ReadonlyMap<string, number>, total: number): Map<string, number> {
  const records = [...counts.values()].reduce((a, b) => a + b, 0);
  const out = new Map<string, number>();
  if (records === 0) return out;
  const rest: { source: string; frac: number }[] = [];
  let given = 0;
  for (const [source, n] of counts) {
    const exact = (n * total) / records;
    const whole = Math.floor(exact);
    out.set(source, whole);
    given += whole;
    rest.push({ source, frac: exact - whole });
  }
  // Ties go to the source named first, so the allocation does not depend on Map order luck.
  rest.sort((a, b) => b.frac - a.frac || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  for (let i = 0; given < total; i++, given++) out.set(rest[i].source, out.get(rest[i].source)! + 1);
  return out;
}

/** Decides record by record, in file order, whether each goes to eval: exactly the allocated number per source. */
export class StreamingSplitter {
  private readonly left = new Map<string, { records: number; evals: number; random: () => number }>();

  constructor(counts: ReadonlyMap<string, number>, allocation: ReadonlyMap<string, number>, seed: number) {
    for (const [source, records] of counts) {
      this.left.set(source, { records, evals: allocation.get(source) ?? 0, random: seededRandom(seed ^ (hashString(source) >>> 0)) });
    }
  }

  /** Whether the next record of `source` goes to eval. */
  toEval(source: string): boolean {
    const s = this.left.get(source);
    if (!s || s.records <= 0) throw new Error(l10n.t('split: more records of source "{0}" than were counted', source));
    const pick = s.random() * s.records < s.evals;
    s.records--;
    if (pick) s.evals--;
    return pick;
  }
}
