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
// Memory is bounded by the kept records, not the data, and held in typed arrays: per record, a
// 16-bit copy of each signature value (b-bit MinHash: two different values agree by chance once
// in 65,536, which the estimate corrects for), one band-table slot per band (key and entry, 8
// bytes, the table 47-70% full) and its line number (4 bytes).
import { hashString } from '../dataset/hash';
import { words } from './clean/text-steps';
import { ChunkedArray, mix32 } from './typed-tables';

/** The 32-bit murmur3 finaliser: spreads a seeded value over all bits. */
const mix = mix32;

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

export interface NearMatch {
  /** The line of the kept record this one nearly repeats. */
  line: number;
  /** The estimated Jaccard similarity. */
  similarity: number;
}

/** Kept records' 16-bit signature copies, `size` values each, in chunks of whole records. */
class SignatureStore {
  private readonly chunks: Uint16Array[] = [];
  private readonly perChunk: number;
  records = 0;

  constructor(private readonly size: number) {
    this.perChunk = Math.max(1, Math.floor(65536 / size));
  }

  add(sig: Uint32Array): void {
    const r = this.records++;
    const c = Math.floor(r / this.perChunk);
    if (c === this.chunks.length) this.chunks.push(new Uint16Array(this.perChunk * this.size));
    const chunk = this.chunks[c], base = (r - c * this.perChunk) * this.size;
    for (let i = 0; i < this.size; i++) chunk[base + i] = sig[i] & 0xffff;
  }

  /** How many of `sig`'s values agree (in their low 16 bits) with record `r`'s. */
  agreeing(sig: Uint32Array, r: number): number {
    const c = Math.floor(r / this.perChunk);
    const chunk = this.chunks[c], base = (r - c * this.perChunk) * this.size;
    let same = 0;
    for (let i = 0; i < this.size; i++) if ((sig[i] & 0xffff) === chunk[base + i]) same++;
    return same;
  }

  get bytes(): number {
    return this.chunks.length * this.perChunk * this.size * 2;
  }
}

const PARTS = 256;

/**
 * Band key → entries (record·bands + band) with that key: open addressing with linear probing,
 * one slot per entry holding its key and entry + 1 (0 = free), so an entry costs 8 bytes over
 * the free slots and no chain link. The table is cut into 256 parts by the key's hash, each
 * growing by half on its own when 70% full, so a grow copies 1/256 of the table, not all of it.
 */
class BandTable {
  private readonly keys: Uint32Array[] = [];
  private readonly entries: Int32Array[] = [];
  private readonly used = new Int32Array(PARTS);

  constructor() {
    for (let p = 0; p < PARTS; p++) {
      this.keys.push(new Uint32Array(16));
      this.entries.push(new Int32Array(16));
    }
  }

  private static home(h: number, n: number): number {
    return Math.floor(((h & 0xffffff) / 0x1000000) * n);
  }

  /** The entries with `key`, appended to `out` (any order). */
  find(key: number, out: number[]): void {
    const h = mix32(key), p = h >>> 24;
    const keys = this.keys[p], entries = this.entries[p], n = keys.length;
    for (let i = BandTable.home(h, n); entries[i] !== 0; i = i + 1 === n ? 0 : i + 1) if (keys[i] === key) out.push(entries[i] - 1);
  }

  add(key: number, entry: number): void {
    const h = mix32(key), p = h >>> 24;
    if ((this.used[p] + 1) * 10 > this.keys[p].length * 7) this.grow(p);
    BandTable.put(this.keys[p], this.entries[p], h, key, entry + 1);
    this.used[p]++;
  }

  private static put(keys: Uint32Array, entries: Int32Array, h: number, key: number, stored: number): void {
    const n = keys.length;
    let i = BandTable.home(h, n);
    while (entries[i] !== 0) i = i + 1 === n ? 0 : i + 1;
    keys[i] = key;
    entries[i] = stored;
  }

  private grow(p: number): void {
    const keys = this.keys[p], entries = this.entries[p];
    const n = Math.ceil(keys.length * 1.5);
    const k2 = new Uint32Array(n), e2 = new Int32Array(n);
    for (let i = 0; i < keys.length; i++) if (entries[i] !== 0) BandTable.put(k2, e2, mix32(keys[i]), keys[i], entries[i]);
    this.keys[p] = k2;
    this.entries[p] = e2;
  }

  get bytes(): number {
    return this.keys.reduce((a, k) => a + k.byteLength * 2, 0);
  }
}

/**
 * Kept records' signatures, indexed by band. `check` answers whether a new record nearly repeats
 * a kept one (estimated similarity ≥ threshold among its band candidates) and, when not, keeps it.
 * Candidates are compared band by band, the newest record with that band key first.
 */
export class MinHashLsh {
  readonly bands: number;
  readonly rows: number;
  private readonly sigs: SignatureStore;
  private readonly lines = new ChunkedArray((n) => new Int32Array(n));
  private readonly table = new BandTable();
  private readonly chance = 1 / 65536;

  constructor(readonly threshold: number, readonly size: number, readonly seed: number) {
    ({ bands: this.bands, rows: this.rows } = lshParameters(threshold, size));
    this.sigs = new SignatureStore(size);
  }

  get records(): number {
    return this.lines.length;
  }

  /** Bytes held by the signatures, lines and band table (for the benchmark and tests). */
  get bytes(): number {
    return this.sigs.bytes + this.lines.bytes + this.table.bytes;
  }

  private bandKey(sig: Uint32Array, band: number): number {
    let h = Math.imul(band + 1, 0x9e3779b1);
    for (let i = band * this.rows, end = i + this.rows; i < end; i++) h = mix(h ^ sig[i]);
    return h === 0 ? 1 : h;
  }

  private similarity(sig: Uint32Array, record: number): number {
    const agree = this.sigs.agreeing(sig, record) / this.size;
    return Math.max(0, (agree - this.chance) / (1 - this.chance));
  }

  /** The kept record `sig` nearly repeats, or undefined after keeping it under `line`. An empty signature (no words) is neither compared nor kept. */
  check(sig: Uint32Array, line: number): NearMatch | undefined {
    if (sig[0] === EMPTY) return undefined;
    const keys = new Array<number>(this.bands);
    const seen = new Set<number>();
    const found: number[] = [];
    for (let b = 0; b < this.bands; b++) {
      keys[b] = this.bandKey(sig, b);
      found.length = 0;
      this.table.find(keys[b], found);
      found.sort((x, y) => y - x);
      for (const e of found) {
        const record = Math.floor(e / this.bands);
        if (seen.has(record)) continue;
        seen.add(record);
        const similarity = this.similarity(sig, record);
        if (similarity >= this.threshold) return { line: this.lines.get(record), similarity };
      }
    }
    const record = this.lines.length;
    this.lines.push(line);
    this.sigs.add(sig);
    for (let b = 0; b < this.bands; b++) this.table.add(keys[b], record * this.bands + b);
    return undefined;
  }
}
