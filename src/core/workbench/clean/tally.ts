// What each step did, counted while the pipeline streams: records in and out, records changed
// and what changed in them, and per reason the records removed, with their first line numbers
// and a few samples (the side file holds all of them).

export const LINES_KEPT = 50;
export const SAMPLES_KEPT = 3;
const SAMPLE_CHARS = 200;

export interface ReasonTally {
  count: number;
  /** The first LINES_KEPT line numbers (1-based). */
  lines: number[];
  /** The first SAMPLES_KEPT removed records as they were in the file, cut to SAMPLE_CHARS. */
  samples: { line: number; text: string; detail?: string }[];
}

export interface StepTally {
  id: string;
  title: string;
  in: number;
  out: number;
  /** Records the step rewrote. */
  changed: number;
  /** What it rewrote or measured, by name ("e-mails": 12). */
  counts: Record<string, number>;
  removed: Record<string, ReasonTally>;
  /** A sentence the report shows under the step (e.g. lengths in characters, no model given). */
  note?: string;
}

export function newTally(id: string, title: string): StepTally {
  return { id, title, in: 0, out: 0, changed: 0, counts: {}, removed: {} };
}

export function addCount(t: StepTally, what: string, n = 1): void {
  if (n !== 0) t.counts[what] = (t.counts[what] ?? 0) + n;
}

export function removedTotal(t: StepTally): number {
  let n = 0;
  for (const r of Object.values(t.removed)) n += r.count;
  return n;
}

export function recordRemoval(t: StepTally, reason: string, line: number, original: string, detail?: string): void {
  const r = (t.removed[reason] ??= { count: 0, lines: [], samples: [] });
  r.count++;
  if (r.lines.length < LINES_KEPT) r.lines.push(line);
  if (r.samples.length < SAMPLES_KEPT) {
    const text = original.length > SAMPLE_CHARS ? `${original.slice(0, SAMPLE_CHARS)}…` : original;
    r.samples.push(detail ? { line, text, detail } : { line, text });
  }
}
