// Near-duplicate records by MinHash with locality-sensitive hashing: a record becomes the set of
// its word shingles (k words in a row), a fixed-size signature estimates the Jaccard similarity
// of two sets, and LSH (the signature cut into b bands of r values; records sharing a whole band
// are candidates) finds the likely pairs without comparing every record with every other.
//
// Signatures use one-permutation hashing with optimal densification (Shrivastava 2017): each
// shingle is hashed once and falls into one of `size` bins, an empty bin borrows a value from a
// bin picked by a fixed probe sequence. That costs one hash per shingle instead of one per
// shingle and permutation, and estimates Jaccard as classic MinHash does.
//
// Memory is bounded by the kept records, not the data: per record, a 16-bit copy of each
// signature value (b-bit MinHash: two different values agree by chance once in 65,536, which the
// estimate corrects for), one chain link per band, and its line number.
import { hashString } from '../dataset/hash';
import { words } from './clean/text-steps';

/** The 32-bit murmur3 finaliser: spreads a seeded value over all bits. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The hashes of a text's k-word shingles (a text shorter than k words is one shingle). */
export function shingleHashes(text: string, k: number): number[] {
  const w = words(text);
  if (w.length === 0) return [];
  if (w.length <= k) return [hashString(w.join(' ')) >>> 0];
  const out: number[] = [];
  for (let i = 0; i + k <= w.length; i++) out.push(hashString(w.slice(i, i + k).join(' ')) >>> 0);
  return out;
}

/** The exact Jaccard similarity of two texts' shingle sets (for tests and reports). */
export function shingleJaccard(a: string, b: string, k: number): number {
  const sa = new Set(shingleHashes(a, k)), sb = new Set(shingleHashes(b, k));
  if (sa.size === 0 && sb.size === 0) return 1;
  let both = 0;
  for (const x of sa) if (sb.has(x)) both++;
  return both / (sa.size + sb.size - both);
}

const EMPTY = 0xffffffff;

/** A signature of `size` values (one-permutation hashing, densified); all EMPTY when there are no shingles. */
export function signature(shingles: readonly number[], size: number, seed: number): Uint32Array {
  const sig = new Uint32Array(size).fill(EMPTY);
  if (shingles.length === 0) return sig;
  for (const s of shingles) {
    const h = mix(s ^ seed);
    const bin = Math.floor((h / 4294967296) * size);
    if (h < sig[bin]) sig[bin] = h;
  }
  const filled = sig.slice();
  for (let i = 0; i < size; i++) {
    if (filled[i] !== EMPTY) continue;
    // Optimal densification: probe bins by a hash of (bin, attempt) until one was filled.
    for (let attempt = 1; ; attempt++) {
      const j = mix(Math.imul(i + 1, 0x9e3779b1) ^ mix(attempt ^ seed)) % size;
      if (filled[j] !== EMPTY) {
        sig[i] = filled[j];
        break;
      }
    }
  }
  return sig;
}

/** The estimated Jaccard similarity of two signatures. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * The bands (b) and rows per band (r), b·r ≤ size, that minimise the weighted chance of a false
 * candidate (similarity below the threshold) and of a missed pair (above it), as datasketch's
 * MinHashLSH chooses them, but weighted 1:19: a false candidate costs one signature comparison
 * (every candidate is checked against the threshold), a missed pair leaves a duplicate in.
 */
export function lshParameters(threshold: number, size: number): { bands: number; rows: number } {
  const steps = 200;
  const area = (from: number, to: number, f: (s: number) => number): number => {
    let sum = 0;
    const h = (to - from) / steps;
    for (let i = 0; i < steps; i++) sum += f(from + (i + 0.5) * h) * h;
    return sum;
  };
  let best = { bands: 1, rows: size, error: Infinity };
  for (let b = 1; b <= size; b++) {
    for (let r = 1; r * b <= size; r++) {
      const p = (s: number) => 1 - Math.pow(1 - Math.pow(s, r), b);
      const error = 0.05 * area(0, threshold, p) + 0.95 * area(threshold, 1, (s) => 1 - p(s));
      if (error < best.error) best = { bands: b, rows: r, error };
    }
  }
  return { bands: best.bands, rows: best.rows };
}

/** A growable typed array. */
class Grow<T extends Uint16Array | Int32Array> {
  length = 0;
  constructor(public data: T, private readonly make: (n: number) => T) {}

  ensure(n: number): void {
    if (n <= this.data.length) return;
    const next = this.make(Math.max(n, this.data.length * 2));
    next.set(this.data);
    this.data = next;
  }
}

export interface NearMatch {
  /** The line of the kept record this one nearly repeats. */
  line: number;
  /** The estimated Jaccard similarity. */
  similarity: number;
}

/**
 * Kept records' signatures, indexed by band. `check` answers whether a new record nearly repeats
 * a kept one (estimated similarity ≥ threshold among its band candidates) and, when not, keeps it.
 */
export class MinHashLsh {
  readonly bands: number;
  readonly rows: number;
  private readonly sigs = new Grow(new Uint16Array(1 << 12), (n) => new Uint16Array(n));
  private readonly next = new Grow(new Int32Array(1 << 10), (n) => new Int32Array(n));
  private lines: number[] = [];
  /** Open addressing: band key (never 0) → the newest entry (record·bands + band) with it. */
  private keys = new Uint32Array(1 << 12);
  private heads = new Int32Array(1 << 12);
  private used = 0;
  private readonly chance = 1 / 65536;

  constructor(readonly threshold: number, readonly size: number, readonly seed: number) {
    ({ bands: this.bands, rows: this.rows } = lshParameters(threshold, size));
  }

  get records(): number {
    return this.lines.length;
  }

  private bandKey(sig: Uint32Array, band: number): number {
    let h = Math.imul(band + 1, 0x9e3779b1);
    for (let i = band * this.rows, end = i + this.rows; i < end; i++) h = mix(h ^ sig[i]);
    return h === 0 ? 1 : h;
  }

  private slot(key: number): number {
    const mask = this.keys.length - 1;
    let i = mix(key) & mask;
    while (this.keys[i] !== 0 && this.keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  private grow(): void {
    const oldKeys = this.keys, oldHeads = this.heads;
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.heads = new Int32Array(oldKeys.length * 2);
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] === 0) continue;
      const s = this.slot(oldKeys[i]);
      this.keys[s] = oldKeys[i];
      this.heads[s] = oldHeads[i];
    }
  }

  private similarity(sig: Uint32Array, record: number): number {
    const base = record * this.size, stored = this.sigs.data;
    let same = 0;
    for (let i = 0; i < this.size; i++) if ((sig[i] & 0xffff) === stored[base + i]) same++;
    const agree = same / this.size;
    return Math.max(0, (agree - this.chance) / (1 - this.chance));
  }

  /** The kept record `sig` nearly repeats, or undefined after keeping it under `line`. An empty signature (no words) is neither compared nor kept. */
  check(sig: Uint32Array, line: number): NearMatch | undefined {
    if (sig[0] === EMPTY) return undefined;
    const keys = new Array<number>(this.bands);
    const seen = new Set<number>();
    for (let b = 0; b < this.bands; b++) {
      keys[b] = this.bandKey(sig, b);
      const s = this.slot(keys[b]);
      if (this.keys[s] === 0) continue;
      for (let e = this.heads[s]; e >= 0; e = this.next.data[e]) {
        const record = Math.floor(e / this.bands);
        if (seen.has(record)) continue;
        seen.add(record);
        const similarity = this.similarity(sig, record);
        if (similarity >= this.threshold) return { line: this.lines[record], similarity };
      }
    }
    this.add(sig, line, keys);
    return undefined;
  }

  private add(sig: Uint32Array, line: number, keys: number[]): void {
    const record = this.lines.length;
    this.lines.push(line);
    this.sigs.ensure((record + 1) * this.size);
    for (let i = 0; i < this.size; i++) this.sigs.data[record * this.size + i] = sig[i] & 0xffff;
    this.next.ensure((record + 1) * this.bands);
    for (let b = 0; b < this.bands; b++) {
      if ((this.used + 1) * 2 > this.keys.length) this.grow();
      const s = this.slot(keys[b]);
      const e = record * this.bands + b;
      if (this.keys[s] === 0) {
        this.keys[s] = keys[b];
        this.used++;
        this.next.data[e] = -1;
      } else {
        this.next.data[e] = this.heads[s];
      }
      this.heads[s] = e;
    }
  }
}
