// The near-duplicate key of a record: its structure and field names as they are, each text
// value with runs of whitespace made one space, trimmed and lower-cased, numbers and booleans
// as written. Two records with equal keys differ only in spacing or case inside their fields.
// Keys go through a DuplicateIndex like whole lines do, so a key match is confirmed against
// the earlier record (re-read and re-keyed) and only true near-duplicates are reported.

import { DuplicateIndex, type LineReader } from './duplicates';

/** Deeper values are not compared (such records are reported as too deeply nested). */
const MAX_DEPTH = 64;
const WHITESPACE = /\s+/g;

export function nearDuplicateKey(record: unknown): string {
  const out: string[] = [];
  walk(record, 0, out);
  return out.join('\u0000');
}

function walk(v: unknown, depth: number, out: string[]): void {
  if (typeof v === 'string') {
    out.push(normaliseText(v));
  } else if (v === null || typeof v !== 'object') {
    out.push(String(v));
  } else if (depth >= MAX_DEPTH) {
    out.push('\u0002');
  } else if (Array.isArray(v)) {
    out.push('[');
    for (const x of v) walk(x, depth + 1, out);
    out.push(']');
  } else {
    out.push('{');
    const o = v as Record<string, unknown>;
    // Field order does not make a record different.
    for (const k of Object.keys(o).sort()) {
      out.push(k);
      walk(o[k], depth + 1, out);
    }
    out.push('}');
  }
}

/** Whitespace runs → one space, trimmed, lower case. */
export function normaliseText(s: string): string {
  return s.replace(WHITESPACE, ' ').trim().toLowerCase();
}

/** Near-duplicate lookups: `read` reads an earlier line back (as for exact duplicates). */
export class NearDuplicateIndex {
  private readonly index: DuplicateIndex;

  constructor(read?: LineReader) {
    this.index = new DuplicateIndex(read ? (offset, len) => nearDuplicateKey(JSON.parse(read(offset, len))) : undefined);
  }

  /** The first line whose record has the same key, or undefined (and remembers this one). */
  check(record: unknown, line: number, offset: number, len: number): number | undefined {
    return this.index.check(nearDuplicateKey(record), line, offset, len);
  }
}
