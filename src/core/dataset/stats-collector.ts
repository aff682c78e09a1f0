// Counters the linter fills as it goes (cheap increments on the hot path), turned into
// DatasetStats at the end. Lengths are in characters of the record's line.

import type { FormatId } from './formats';
import type { DatasetStats } from './stats';

/** Upper bounds (exclusive) of the length histogram buckets, in characters. */
export const LENGTH_BUCKETS = [128, 512, 2048, 8192, 32768] as const;

function bucketLabel(i: number): string {
  const fmt = (n: number) => (n >= 1024 ? `${n / 1024}k` : String(n));
  if (i === 0) return `< ${fmt(LENGTH_BUCKETS[0])}`;
  if (i === LENGTH_BUCKETS.length) return `>= ${fmt(LENGTH_BUCKETS[i - 1])}`;
  return `${fmt(LENGTH_BUCKETS[i - 1])}–${fmt(LENGTH_BUCKETS[i])}`;
}

export class StatsCollector {
  private readonly lengthCounts = new Array<number>(LENGTH_BUCKETS.length + 1).fill(0);
  private readonly roles = new Map<string, number>();
  private readonly problemCounts = new Map<string, number>();
  private duplicates = 0;
  private nearDuplicates = 0;
  private totalChars = 0;
  private maxChars = 0;
  private lengths = 0;

  countLength(n: number): void {
    let i = 0;
    while (i < LENGTH_BUCKETS.length && n >= LENGTH_BUCKETS[i]) i++;
    this.lengthCounts[i]++;
    this.totalChars += n;
    this.lengths++;
    if (n > this.maxChars) this.maxChars = n;
  }

  countRole(role: string): void {
    this.roles.set(role, (this.roles.get(role) ?? 0) + 1);
  }

  countProblem(code: string): void {
    this.problemCounts.set(code, (this.problemCounts.get(code) ?? 0) + 1);
  }

  countDuplicate(): void {
    this.duplicates++;
  }

  countNearDuplicate(): void {
    this.nearDuplicates++;
  }

  countFormat(_id: FormatId): void {
    // Format counts are kept by the linter itself (it needs them for the dominant format).
  }

  result(records: number, formatCounts: Partial<Record<FormatId, number>>): DatasetStats {
    return {
      records,
      formatCounts,
      lengthHistogram: this.lengthCounts.map((count, i) => ({ bucket: bucketLabel(i), count })),
      duplicates: this.duplicates,
      nearDuplicates: this.nearDuplicates,
      roleCounts: Object.fromEntries(this.roles),
      problemCounts: Object.fromEntries([...this.problemCounts].sort()),
      totalChars: this.totalChars,
      meanChars: this.lengths ? Math.round(this.totalChars / this.lengths) : 0,
      maxChars: this.maxChars,
    };
  }
}
