// Per-record memory for the cleaner, in typed arrays rather than JS objects: a growable array in
// fixed chunks (growing never copies what is stored, never doubles the footprint, and never needs
// the old and new buffers at once), and an open-addressing table from a hash to an int.
// With a million records, a Map or an array of arrays costs tens of bytes per entry in headers
// and pointers; these cost the element size plus the table's free slots.

type Typed = Uint16Array | Int32Array | Uint32Array;

const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;

/** A growable array of one typed element kind, stored in chunks of 65,536 elements. */
export class ChunkedArray<T extends Typed> {
  private readonly chunks: T[] = [];
  length = 0;

  constructor(private readonly make: (n: number) => T) {}

  /** Makes room for `n` elements (new ones are zero). */
  reserve(n: number): void {
    while (this.chunks.length * CHUNK < n) this.chunks.push(this.make(CHUNK));
    if (n > this.length) this.length = n;
  }

  get(i: number): number {
    return this.chunks[i >>> CHUNK_BITS][i & (CHUNK - 1)];
  }

  set(i: number, v: number): void {
    this.chunks[i >>> CHUNK_BITS][i & (CHUNK - 1)] = v;
  }

  push(v: number): void {
    this.reserve(this.length + 1);
    this.set(this.length - 1, v);
  }

  get bytes(): number {
    return this.chunks.reduce((a, c) => a + c.byteLength, 0);
  }
}

/** The 32-bit murmur3 finaliser: spreads a value over all bits. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A hash (a non-negative safe integer, up to 53 bits as hashString and nearDuplicateHash give)
 * → int32 value table, open addressing with linear probing; each key is kept whole, as two
 * 32-bit halves, so no two hashes share a slot's key. The table grows by half when 70% full,
 * and its size is not a power of two (the slot is the hash scaled to the size), so it stays
 * between 47% and 70% full instead of 35% to 70%.
 */
export class HashTable {
  private lo: Uint32Array;
  private hi: Uint32Array;
  private values: Int32Array;
  private used: Uint8Array;
  size = 0;

  constructor(capacity = 1024) {
    this.lo = new Uint32Array(capacity);
    this.hi = new Uint32Array(capacity);
    this.values = new Int32Array(capacity);
    this.used = new Uint8Array(capacity);
  }

  private slot(lo: number, hi: number): number {
    const n = this.lo.length;
    let i = Math.floor((mix32(lo ^ mix32(hi)) / 4294967296) * n);
    while (this.used[i] && (this.lo[i] !== lo || this.hi[i] !== hi)) if (++i === n) i = 0;
    return i;
  }

  get(key: number): number | undefined {
    const i = this.slot(key >>> 0, Math.floor(key / 4294967296));
    return this.used[i] ? this.values[i] : undefined;
  }

  set(key: number, value: number): void {
    if ((this.size + 1) * 10 > this.lo.length * 7) this.grow();
    const lo = key >>> 0, hi = Math.floor(key / 4294967296);
    const i = this.slot(lo, hi);
    if (!this.used[i]) {
      this.used[i] = 1;
      this.lo[i] = lo;
      this.hi[i] = hi;
      this.size++;
    }
    this.values[i] = value;
  }

  forEach(fn: (value: number, key: number) => void): void {
    for (let i = 0; i < this.lo.length; i++) if (this.used[i]) fn(this.values[i], this.hi[i] * 4294967296 + this.lo[i]);
  }

  private grow(): void {
    const { lo, hi, values, used } = this;
    const n = Math.ceil(lo.length * 1.5);
    this.lo = new Uint32Array(n);
    this.hi = new Uint32Array(n);
    this.values = new Int32Array(n);
    this.used = new Uint8Array(n);
    for (let i = 0; i < lo.length; i++) {
      if (!used[i]) continue;
      const s = this.slot(lo[i], hi[i]);
      this.used[s] = 1;
      this.lo[s] = lo[i];
      this.hi[s] = hi[i];
      this.values[s] = values[i];
    }
  }

  get bytes(): number {
    return this.lo.byteLength * 2 + this.values.byteLength + this.used.byteLength;
  }
}
