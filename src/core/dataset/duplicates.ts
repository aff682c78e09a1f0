// Exact-duplicate detection without keeping the records. Hashing every character of every line
// would cost as much as JSON.parse itself, so each line gets a cheap fingerprint (its length
// plus a fixed sample of its characters) and a fingerprint match is confirmed by comparing
// with the earlier line, read back from the document text or the file. Fingerprint classes that
// get crowded with different lines (templated data) switch to a full hash, so the work per line
// stays bounded; a full-hash match is confirmed the same way, so a collision is never reported.

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

/**
 * Fingerprint -> earlier lines, in typed arrays: an open-addressing table of fingerprint
 * classes whose entries (line, offset, length) are chained. Typed arrays hold no pointers, so
 * a million records cost about 40 bytes each and nothing for the garbage collector to scan.
 */
export class DuplicateIndex {
  private slotKey = new Float64Array(1024);
  private slotHead = new Int32Array(1024).fill(-1);
  private slotCount = new Int32Array(1024);
  private used = 0;
  private entryLine = new Int32Array(1024);
  private entryOffset = new Float64Array(1024);
  private entryLen = new Int32Array(1024);
  private entryNext = new Int32Array(1024);
  private entries = 0;
  /** Full hash -> the last entry with it; entries of one hash are chained, and compared before a match counts. */
  private readonly byFullHash = new Map<number, number>();
  /** The text of entries that cannot be read back (no reader, or offset < 0). */
  private readonly unreadable = new Map<number, string>();

  /**
   * `read` undefined: no way to read lines back, so every line gets a full hash (and is kept
   * to compare with). `hash` is replaceable so a test can force collisions.
   */
  constructor(private readonly read?: LineReader, private readonly hash: (s: string) => number = hashString) {}

  /**
   * Returns the first line with exactly this text, or undefined (and remembers this line).
   * `offset`/`len` locate this line for `read`; offset < 0 means it cannot be read back.
   */
  check(text: string, line: number, offset: number, len: number): number | undefined {
    if (!this.read || offset < 0) return this.checkFull(text, line, offset, len);
    const fp = fingerprint(text);
    const slot = this.findSlot(fp);
    const head = this.slotHead[slot];
    if (head < 0) {
      this.slotKey[slot] = fp;
      this.slotHead[slot] = this.addEntry(line, offset, len, -1);
      this.slotCount[slot] = 1;
      if (++this.used * 2 > this.slotKey.length) this.growSlots();
      return undefined;
    }
    const count = this.slotCount[slot];
    if (count > CHAIN) return this.checkFull(text, line, offset, len); // a crowded class: full hashes
    for (let e = head; e >= 0; e = this.entryNext[e]) {
      if (this.read(this.entryOffset[e], this.entryLen[e]) === text) return this.entryLine[e];
    }
    if (count === CHAIN) {
      // From now on this class uses full hashes; the chain's lines join that index too.
      for (let e = head; e >= 0; e = this.entryNext[e]) this.remember(this.read(this.entryOffset[e], this.entryLen[e]), this.entryLine[e], this.entryOffset[e], this.entryLen[e]);
      this.slotCount[slot] = count + 1;
      return this.checkFull(text, line, offset, len);
    }
    this.slotHead[slot] = this.addEntry(line, offset, len, head);
    this.slotCount[slot] = count + 1;
    return undefined;
  }

  private findSlot(fp: number): number {
    const mask = this.slotKey.length - 1;
    // Fingerprints are well mixed, so their low bits index the table directly.
    let i = (fp % 0x40000000) & mask;
    while (this.slotHead[i] >= 0 && this.slotKey[i] !== fp) i = (i + 1) & mask;
    return i;
  }

  private growSlots(): void {
    const oldKey = this.slotKey, oldHead = this.slotHead, oldCount = this.slotCount;
    const n = oldKey.length * 2;
    this.slotKey = new Float64Array(n);
    this.slotHead = new Int32Array(n).fill(-1);
    this.slotCount = new Int32Array(n);
    for (let i = 0; i < oldKey.length; i++) {
      if (oldHead[i] < 0) continue;
      const j = this.findSlot(oldKey[i]);
      this.slotKey[j] = oldKey[i];
      this.slotHead[j] = oldHead[i];
      this.slotCount[j] = oldCount[i];
    }
  }

  private addEntry(line: number, offset: number, len: number, next: number): number {
    if (this.entries === this.entryLine.length) {
      const n = this.entries * 2;
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(n);
        b.set(a);
        return b;
      };
      this.entryLine = grow(this.entryLine, (k) => new Int32Array(k));
      this.entryOffset = grow(this.entryOffset, (k) => new Float64Array(k));
      this.entryLen = grow(this.entryLen, (k) => new Int32Array(k));
      this.entryNext = grow(this.entryNext, (k) => new Int32Array(k));
    }
    const e = this.entries++;
    this.entryLine[e] = line;
    this.entryOffset[e] = offset;
    this.entryLen[e] = len;
    this.entryNext[e] = next;
    return e;
  }

  /** A hash match is only a candidate: the earlier text is compared before it counts as a copy. */
  private checkFull(text: string, line: number, offset: number, len: number): number | undefined {
    const h = this.hash(text);
    for (let e = this.byFullHash.get(h) ?? -1; e >= 0; e = this.entryNext[e]) {
      if (this.textOf(e) === text) return this.entryLine[e];
    }
    this.remember(text, line, offset, len, h);
    return undefined;
  }

  private remember(text: string, line: number, offset: number, len: number, h = this.hash(text)): void {
    const e = this.addEntry(line, offset, len, this.byFullHash.get(h) ?? -1);
    if (!this.read || offset < 0) this.unreadable.set(e, text);
    this.byFullHash.set(h, e);
  }

  private textOf(e: number): string {
    return this.unreadable.get(e) ?? (this.read as LineReader)(this.entryOffset[e], this.entryLen[e]);
  }
}
