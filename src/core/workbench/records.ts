// The record shapes the dataset workbench passes between its steps (import, clean, dedupe,
// split): one source record with where it came from, and one record a step set aside with why.
// Kept small on purpose: the formats themselves live in src/core/dataset/formats.ts.

/** Where a record came from: the file and its 1-based row (CSV row, JSONL line, array index + 1, Parquet/Arrow row, section). */
export interface RecordOrigin {
  file: string;
  row: number;
}

/** One record read from a source, before or after mapping to a target format. */
export interface SourceRecord extends RecordOrigin {
  value: Record<string, unknown>;
}

/** A record a step did not keep, with the reason; written to a side file so nothing is lost. */
export interface SetAsideRecord extends RecordOrigin {
  reason: string;
  /** The record (or the raw text of a row that did not parse). */
  value: unknown;
}

/** "data.csv row 12": how every message names a record. */
export function describeOrigin(o: RecordOrigin, unit = 'row'): string {
  return `${o.file} ${unit} ${o.row}`;
}
