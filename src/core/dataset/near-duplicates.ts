// Near-duplicates: records equal once, inside every text value, runs of whitespace are one
// space, leading and trailing whitespace is dropped and letters are lower case. The check is on
// by default, so it must cost little per line. A JavaScript loop over every character costs
// several times JSON.parse, so each line first gets a sketch that looks only at the ends of its
// strings (found with indexOf): how many there are, and the first and last few letters or
// digits of each, lower-cased. Near-duplicates always have equal sketches; only lines whose
// sketch was seen before get the full normalised hash, and only a full-hash match builds the
// normalised text of both lines to compare them, so a collision is never reported.

import type { LineReader } from './duplicates';
import { finishHash } from './hash';
import { stringEnd } from './key-scan';

let lowerTable: Uint16Array | undefined;

/** UTF-16 unit → its lower case where that is one unit (built once, 128 KB). */
function lower(): Uint16Array {
  if (lowerTable) return lowerTable;
  const t = new Uint16Array(65536);
  for (let c = 0; c < 65536; c++) {
    const l = c >= 0xd800 && c <= 0xdfff ? '' : String.fromCharCode(c).toLowerCase();
    t[c] = l.length === 1 ? l.charCodeAt(0) : c;
  }
  return (lowerTable = t);
}

/** What JavaScript's \s matches. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || (c >= 0xa0 && (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff));
}

const HEX = (c: number): number => (c <= 57 ? c - 48 : (c | 32) - 87);

/**
 * Walks a line that JSON.parse accepted and feeds each normalised unit to two multiplicative
 * hashes (and to `units` when given); returns the 53-bit hash. Outside strings every
 * non-whitespace character counts (structure, numbers, literals); a string boundary counts as
 * 0x01, so "a b" and "a", "b" differ. The hash updates are written out in the loop: this is the
 * linter's per-character hot path.
 */
function normalise(s: string, units: number[] | undefined): number {
  const low = lower();
  let h1 = 0x811c9dc5 | 0, h2 = 0x9747b28c | 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    let c = s.charCodeAt(i++);
    if (c !== 34) {
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) {
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x5bd1e995);
        if (units) units.push(c);
      }
      continue;
    }
    h1 = Math.imul(h1 ^ 1, 0x01000193);
    h2 = Math.imul(h2 ^ 1, 0x5bd1e995);
    if (units) units.push(1);
    let started = false, space = false;
    while (i < n) {
      c = s.charCodeAt(i++);
      if (c === 34) break;
      if (c === 92) {
        const e = s.charCodeAt(i++);
        if (e === 117) {
          c = (HEX(s.charCodeAt(i)) << 12) | (HEX(s.charCodeAt(i + 1)) << 8) | (HEX(s.charCodeAt(i + 2)) << 4) | HEX(s.charCodeAt(i + 3));
          i += 4;
        } else {
          c = e === 110 ? 10 : e === 116 ? 9 : e === 114 ? 13 : e === 102 ? 12 : e === 98 ? 8 : e;
        }
      }
      if ((c <= 32 || c >= 0xa0) && isSpace(c)) {
        space = started;
        continue;
      }
      if (space) {
        h1 = Math.imul(h1 ^ 32, 0x01000193);
        h2 = Math.imul(h2 ^ 32, 0x5bd1e995);
        if (units) units.push(32);
        space = false;
      }
      started = true;
      const l = c < 128 ? (c >= 65 && c <= 90 ? c | 32 : c) : low[c];
      h1 = Math.imul(h1 ^ l, 0x01000193);
      h2 = Math.imul(h2 ^ l, 0x5bd1e995);
      if (units) units.push(l);
    }
    h1 = Math.imul(h1 ^ 1, 0x01000193);
    h2 = Math.imul(h2 ^ 1, 0x5bd1e995);
    if (units) units.push(1);
  }
  return finishHash(h1, h2);
}

/** A 53-bit hash of the line's normalised text. */
export function nearDuplicateHash(line: string): number {
  return normalise(line, undefined);
}

/** The normalised text itself, for confirming a hash match. */
export function nearDuplicateText(line: string): string {
  const units: number[] = [];
  normalise(line, units);
  let out = '';
  for (let k = 0; k < units.length; k += 8192) out += String.fromCharCode(...units.slice(k, k + 8192));
  return out;
}

const ENDS = 8;

/** A letter or digit (or any non-ASCII unit that is not whitespace), lower-cased; -1 otherwise. */
function sketchUnit(c: number, low: Uint16Array): number {
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) ? c : c >= 65 && c <= 90 ? c | 32 : -1;
  return isSpace(c) ? -1 : low[c];
}

/** The unit an escape at `i` (a backslash) stands for, and its length. */
function unescape(s: string, i: number): [number, number] {
  const e = s.charCodeAt(i + 1);
  if (e === 117) return [(HEX(s.charCodeAt(i + 2)) << 12) | (HEX(s.charCodeAt(i + 3)) << 8) | (HEX(s.charCodeAt(i + 4)) << 4) | HEX(s.charCodeAt(i + 5)), 6];
  return [e === 110 ? 10 : e === 116 ? 9 : e === 114 ? 13 : e === 102 ? 12 : e === 98 ? 8 : e, 2];
}

/** Whether the character at `k` (between `a` and it) is escaped: an odd run of backslashes before it. */
function escapedAt(s: string, a: number, k: number): boolean {
  let b = k - 1;
  while (b >= a && s.charCodeAt(b) === 92) b--;
  return (k - 1 - b) % 2 === 1;
}

/**
 * The sketch of a line: per string, its first and last ENDS letters or digits lower-cased.
 * Equal normalised text gives an equal sketch (it reads only what normalisation keeps).
 */
export function nearDuplicateSketch(s: string): number {
  const low = lower();
  let h = 0x811c9dc5 | 0, g = 0x9747b28c | 0;
  for (let q = s.indexOf('"'); q >= 0; q = s.indexOf('"', q + 1)) {
    const end = stringEnd(s, q);
    let taken = 0;
    for (let i = q + 1; i < end && taken < ENDS;) {
      let c = s.charCodeAt(i), len = 1;
      if (c === 92) [c, len] = unescape(s, i);
      i += len;
      const u = sketchUnit(c, low);
      if (u >= 0) { h = Math.imul(h ^ u, 0x01000193); taken++; }
    }
    h = Math.imul(h ^ 1, 0x01000193);
    taken = 0;
    for (let k = end - 1; k > q && taken < ENDS; k--) {
      let c = s.charCodeAt(k);
      // Walking backwards, an escape is recognised by the backslash before it.
      if (k - 5 > q && s.charCodeAt(k - 4) === 117 && s.charCodeAt(k - 5) === 92 && !escapedAt(s, q + 1, k - 5)) {
        c = unescape(s, k - 5)[0];
        k -= 5;
      } else if (escapedAt(s, q + 1, k)) {
        c = unescape(s, k - 1)[0];
        k -= 1;
      }
      const u = sketchUnit(c, low);
      if (u >= 0) { g = Math.imul(g ^ u, 0x5bd1e995); taken++; }
    }
    g = Math.imul(g ^ 1, 0x5bd1e995);
    q = end;
  }
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  g ^= g >>> 16;
  g = Math.imul(g, 0xc2b2ae35);
  return ((g ^ (g >>> 13)) >>> 0) * 0x200000 + ((h ^ (h >>> 13)) >>> 11);
}

/** Near-duplicate lookups: `read` reads an earlier line back by the offset and length it was checked with. */
export class NearDuplicateIndex {
  /** Sketch → the first entry with it, while no other line shared it; then -1 (the class uses full hashes). */
  private readonly bySketch = new Map<number, number>();
  /** Full normalised hash → the last entry with it; chained through `nextFull`. */
  private readonly byFull = new Map<number, number>();
  private lineOf: number[] = [];
  private offsetOf: number[] = [];
  private lenOf: number[] = [];
  private nextFull: number[] = [];
  /** Lines that cannot be read back keep their text. */
  private readonly kept = new Map<number, string>();

  constructor(private readonly read?: LineReader, private readonly hash: (line: string) => number = nearDuplicateHash) {}

  /** The first line with the same normalised text, or undefined (and remembers this one). */
  check(text: string, line: number, offset: number, len: number): number | undefined {
    const sketch = nearDuplicateSketch(text);
    const first = this.bySketch.get(sketch);
    if (first === undefined) {
      this.bySketch.set(sketch, this.add(text, line, offset, len));
      return undefined;
    }
    if (first >= 0) {
      // A second line with this sketch: from now on its class is indexed by full hashes.
      this.indexFull(first, this.hash(this.textOf(first)));
      this.bySketch.set(sketch, -1);
    }
    const full = this.hash(text);
    let key: string | undefined;
    for (let e = this.byFull.get(full) ?? -1; e >= 0; e = this.nextFull[e]) {
      key ??= nearDuplicateText(text);
      if (nearDuplicateText(this.textOf(e)) === key) return this.lineOf[e];
    }
    this.indexFull(this.add(text, line, offset, len), full);
    return undefined;
  }

  private add(text: string, line: number, offset: number, len: number): number {
    const e = this.lineOf.length;
    this.lineOf.push(line);
    this.offsetOf.push(offset);
    this.lenOf.push(len);
    this.nextFull.push(-1);
    if (!this.read || offset < 0) this.kept.set(e, text);
    return e;
  }

  private indexFull(e: number, full: number): void {
    this.nextFull[e] = this.byFull.get(full) ?? -1;
    this.byFull.set(full, e);
  }

  private textOf(e: number): string {
    return this.kept.get(e) ?? (this.read as LineReader)(this.offsetOf[e], this.lenOf[e]);
  }
}
