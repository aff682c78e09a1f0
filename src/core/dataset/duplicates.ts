// Exact-duplicate detection without keeping the records. Hashing every character of every line
// would cost as much as JSON.parse itself, so each line gets a cheap fingerprint (its length
// plus a fixed sample of its characters) and a fingerprint match is confirmed by comparing
// with the earlier line, read back from the document text or the file. Fingerprint classes that
// get crowded with different lines (templated data) switch to a full hash, so the work per line
// stays bounded.

import { hashString } from './hash';

const SAMPLES = 48;
const SHORT = 128;
/** Distinct lines compared exactly within one fingerprint class before switching to full hashes. */
const CHAIN = 4;

/** Length + a spread of characters: O(1) per line however long the line is. */
export function fingerprint(s: string): number {
  const n = s.length;
  let h1 = 0x811c9dc5 ^ n;
  let h2 = 0x9747b28c ^ Math.imul(n, 0x27d4eb2d);
  if (n <= SHORT) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
  } else {
    // Both ends in full (where records of one template usually differ) and a spread between.
    const step = (n - 32) / SAMPLES;
    for (let i = 0; i < 16; i++) {
      const a = s.charCodeAt(i), b = s.charCodeAt(n - 1 - i);
      h1 = Math.imul(h1 ^ a, 0x01000193);
      h2 = Math.imul(h2 ^ b, 0x5bd1e995);
    }
    for (let k = 0; k < SAMPLES; k++) {
      const c = s.charCodeAt(16 + ((k * step) | 0));
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
  }
  h1 ^= h1 >>> 15;
  h1 = Math.imul(h1, 0x85ebca6b);
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0xc2b2ae35);
  return ((h2 ^ (h2 >>> 13)) >>> 0) * 0x200000 + ((h1 ^ (h1 >>> 13)) >>> 11);
}

/** Reads back an earlier line (same text as was checked) from its offset and length. */
export type LineReader = (offset: number, len: number) => string;

export class DuplicateIndex {
  private readonly byFingerprint = new Map<number, number | number[]>();
  private readonly crowded = new Set<number>();
  private readonly byFullHash = new Map<number, number>();
  // Entry i: the earlier line's number and where to read it back.
  private readonly lines: number[] = [];
  private readonly offsets: number[] = [];
  private readonly lens: number[] = [];

  /** `read` undefined: no way to read lines back, so every line gets a full hash. */
  constructor(private readonly read?: LineReader) {}

  /**
   * Returns the first line with exactly this text, or undefined (and remembers this line).
   * `offset`/`len` locate this line for `read`; offset < 0 means it cannot be read back.
   */
  check(text: string, line: number, offset: number, len: number): number | undefined {
    if (!this.read || offset < 0) return this.checkFull(text, line);
    const fp = fingerprint(text);
    if (this.crowded.has(fp)) return this.checkFull(text, line);
    const slot = this.byFingerprint.get(fp);
    if (slot === undefined) {
      this.byFingerprint.set(fp, this.add(line, offset, len));
      return undefined;
    }
    const chain = typeof slot === 'number' ? [slot] : slot;
    for (const e of chain) {
      if (this.read(this.offsets[e], this.lens[e]) === text) return this.lines[e];
    }
    if (chain.length >= CHAIN) {
      // From now on this class uses full hashes; the chain's lines join that index too.
      this.crowded.add(fp);
      for (const e of chain) this.byFullHash.set(hashString(this.read(this.offsets[e], this.lens[e])), this.lines[e]);
      return this.checkFull(text, line);
    }
    const id = this.add(line, offset, len);
    this.byFingerprint.set(fp, typeof slot === 'number' ? [slot, id] : (slot.push(id), slot));
    return undefined;
  }

  private add(line: number, offset: number, len: number): number {
    this.lines.push(line);
    this.offsets.push(offset);
    this.lens.push(len);
    return this.lines.length - 1;
  }

  private checkFull(text: string, line: number): number | undefined {
    const h = hashString(text);
    const first = this.byFullHash.get(h);
    if (first !== undefined) return first;
    this.byFullHash.set(h, line);
    return undefined;
  }
}
