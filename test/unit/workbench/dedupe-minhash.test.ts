// MinHash + LSH near-duplicates measured on a seeded set with known near-duplicates: each base
// document gets at most one variant with a few words edited, and the truth is the exact Jaccard
// similarity of their word shingles. Recall and precision at the threshold are printed and must
// stay high; the chosen bands and rows are datasketch's optimum.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateJaccard, lshParameters, MinHashLsh, shingleHashes, shingleJaccard, signature } from '../../../src/core/workbench/minhash';
import { seededRandom } from '../../../src/core/workbench/split';

function vocabulary(random: () => number, n: number): string[] {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const out = new Set<string>();
  while (out.size < n) {
    let w = '';
    const len = 3 + Math.floor(random() * 6);
    for (let i = 0; i < len; i++) w += letters[Math.floor(random() * 26)];
    out.add(w);
  }
  return [...out];
}

function variant(words: string[], edits: number, vocab: string[], random: () => number): string[] {
  const w = [...words];
  for (let e = 0; e < edits; e++) {
    const i = Math.floor(random() * w.length);
    const kind = random();
    if (kind < 0.4) w[i] = vocab[Math.floor(random() * vocab.length)];
    else if (kind < 0.7) w.splice(i, 1);
    else w.splice(i, 0, vocab[Math.floor(random() * vocab.length)]);
  }
  return w;
}

test('near-duplicate recall and precision at Jaccard 0.8 on a seeded set', () => {
  const threshold = 0.8, shingle = 5, size = 128;
  const random = seededRandom(20);
  const vocab = vocabulary(random, 3000);
  const docs: { text: string; base?: number }[] = [];
  for (let b = 0; b < 500; b++) {
    const len = 60 + Math.floor(random() * 140);
    const words = Array.from({ length: len }, () => vocab[Math.floor(random() * vocab.length)]);
    docs.push({ text: words.join(' ') });
    // Two variants in three, 0 to 5% of the words edited: most are near duplicates, some fall below the threshold.
    if (random() < 0.67) docs.push({ text: variant(words, Math.floor(random() * 0.05 * len), vocab, random).join(' '), base: docs.length - 1 });
  }
  const docsBeforeShuffle = [...docs];
  // Shuffle (seeded) so a variant may come before its base.
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [docs[i], docs[j]] = [docs[j], docs[i]];
  }
  const lsh = new MinHashLsh(threshold, size, 7);
  let truePairs = 0, found = 0, correct = 0, borderline = 0;
  const sets = docs.map((d) => new Set(shingleHashes(d.text, shingle)));
  const jaccard = (a: Set<number>, b: Set<number>) => {
    let both = 0;
    for (const x of a) if (b.has(x)) both++;
    return both / (a.size + b.size - both);
  };
  const indexOf = new Map(docs.map((d, i) => [d, i]));
  const partner = new Map<number, number>();
  docs.forEach((d, i) => {
    if (d.base === undefined) return;
    partner.set(i, indexOf.get(docsBeforeShuffle[d.base])!);
    partner.set(indexOf.get(docsBeforeShuffle[d.base])!, i);
  });
  // Documents from different bases share no 5-word shingle (3,000 words drawn at random); checked on a sample.
  for (let i = 0; i + 1 < 60; i++) if (partner.get(i) !== i + 1) assert.ok(jaccard(sets[i], sets[i + 1]) < 0.05);
  const similarities: number[] = [];
  docs.forEach((d, i) => {
    // The truth: an earlier document with exact shingle Jaccard at or above the threshold.
    const p = partner.get(i);
    const truth = p !== undefined && p < i && jaccard(sets[p], sets[i]) >= threshold;
    if (p !== undefined && p < i) similarities.push(jaccard(sets[p], sets[i]));
    const match = lsh.check(signature(shingleHashes(d.text, shingle), size, 7), i + 1);
    if (truth) truePairs++;
    if (match) {
      found++;
      const j = jaccard(sets[match.line - 1], sets[i]);
      if (j >= threshold) correct++;
      if (Math.abs(j - threshold) < 0.05) borderline++;
    }
  });
  const bins = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.01].map((hi, k, all) => `${k ? all[k - 1] : 0}–${Math.min(hi, 1)}: ${similarities.filter((x) => x >= (k ? all[k - 1] : 0) && x < hi).length}`);
  console.log(`similarity of each variant to its base: ${bins.join(', ')}`);
  const recall = correct / truePairs, precision = correct / found;
  console.log(`near-duplicates at Jaccard ${threshold} (${size} values, ${lsh.bands} bands × ${lsh.rows} rows): ${docs.length} records, ${truePairs} true near-duplicates, ${found} found, ${correct} correct (${borderline} within 0.05 of the threshold); recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)}`);
  assert.ok(truePairs >= 100, `the set has enough near-duplicates to measure (${truePairs})`);
  assert.ok(recall >= 0.9, `recall ${recall}`);
  assert.ok(precision >= 0.9, `precision ${precision}`);
});

test('signature estimates follow the exact Jaccard similarity', () => {
  const random = seededRandom(3);
  const vocab = vocabulary(random, 500);
  const a = Array.from({ length: 300 }, () => vocab[Math.floor(random() * vocab.length)]);
  for (const edits of [0, 5, 20, 60]) {
    const b = variant(a, edits, vocab, random);
    const exact = shingleJaccard(a.join(' '), b.join(' '), 3);
    const est = estimateJaccard(signature(shingleHashes(a.join(' '), 3), 256, 1), signature(shingleHashes(b.join(' '), 3), 256, 1));
    assert.ok(Math.abs(est - exact) < 0.1, `${edits} edits: exact ${exact.toFixed(3)}, estimate ${est.toFixed(3)}`);
  }
  // Short texts (fewer shingles than values) are densified, not left empty.
  const short = signature(shingleHashes('only three words', 5), 64, 1);
  assert.ok(short.every((v) => v === short[0]), 'one shingle fills every value');
  assert.equal(estimateJaccard(short, signature(shingleHashes('Only three   words!', 5), 64, 1)), 1);
});

test('LSH parameters put the S-curve at the threshold', () => {
  for (const t of [0.5, 0.7, 0.8, 0.9]) {
    const { bands, rows } = lshParameters(t, 128);
    assert.ok(bands * rows <= 128);
    const p = (s: number) => 1 - Math.pow(1 - Math.pow(s, rows), bands);
    assert.ok(p(t + 0.1 > 1 ? 1 : t + 0.1) > 0.9, `threshold ${t}: ${bands}×${rows} finds pairs above it`);
    assert.ok(p(t - 0.3) < 0.3, `threshold ${t}: ${bands}×${rows} rarely pairs records far below it`);
  }
});

test('a record without words is neither matched nor kept', () => {
  const lsh = new MinHashLsh(0.8, 64, 1);
  assert.equal(lsh.check(signature(shingleHashes('!!! ???', 5), 64, 1), 1), undefined);
  assert.equal(lsh.check(signature(shingleHashes('... ---', 5), 64, 1), 2), undefined);
  assert.equal(lsh.records, 0);
});

/**
 * The LSH semantics written the plain way (a Map from band key to the kept records with it, newest
 * first), to check that the typed-array tables decide the same: the same records kept, each
 * removed one matched to the same kept line with the same similarity.
 */
class PlainLsh {
  private readonly buckets = new Map<number, number[]>();
  private readonly sigs: Uint32Array[] = [];
  private readonly lines: number[] = [];
  constructor(private readonly lsh: MinHashLsh) {}

  private key(sig: Uint32Array, band: number): number {
    // The same key as MinHashLsh's: mix over the band's rows, seeded by the band.
    let h = Math.imul(band + 1, 0x9e3779b1);
    for (let i = band * this.lsh.rows, end = i + this.lsh.rows; i < end; i++) {
      let x = h ^ sig[i];
      x ^= x >>> 16; x = Math.imul(x, 0x85ebca6b); x ^= x >>> 13; x = Math.imul(x, 0xc2b2ae35); x ^= x >>> 16;
      h = x >>> 0;
    }
    return h === 0 ? 1 : h;
  }

  check(sig: Uint32Array, line: number): { line: number; similarity: number } | undefined {
    if (sig[0] === 0xffffffff) return undefined;
    const keys = Array.from({ length: this.lsh.bands }, (_, b) => this.key(sig, b));
    const seen = new Set<number>();
    for (const k of keys) {
      for (const r of [...(this.buckets.get(k) ?? [])].reverse()) {
        if (seen.has(r)) continue;
        seen.add(r);
        let same = 0;
        for (let i = 0; i < sig.length; i++) if ((sig[i] & 0xffff) === (this.sigs[r][i] & 0xffff)) same++;
        const similarity = Math.max(0, (same / sig.length - 1 / 65536) / (1 - 1 / 65536));
        if (similarity >= this.lsh.threshold) return { line: this.lines[r], similarity };
      }
    }
    const r = this.lines.length;
    this.lines.push(line);
    this.sigs.push(sig.slice());
    for (const k of keys) {
      const list = this.buckets.get(k) ?? [];
      list.push(r);
      this.buckets.set(k, list);
    }
    return undefined;
  }
}

test('the typed-array band table decides as a plain map of band buckets does, shared band keys included', () => {
  const size = 128, random = seededRandom(31);
  const lsh = new MinHashLsh(0.8, size, 7);
  const plain = new PlainLsh(lsh);
  // Three patterns for the first two bands, so thousands of kept records share a band key (long
  // runs in the table, many table grows); one record in five is an edited copy of an earlier one.
  const patterns = Array.from({ length: 3 }, () => Array.from({ length: 2 * lsh.rows }, () => Math.floor(random() * 4294967296)));
  const made: Uint32Array[] = [];
  let matched = 0;
  // Every 50th record starts a triple: a record, a copy with 30 values changed outside the first
  // band (similarity 0.77: kept), then a record within the threshold of both, so which kept
  // record it is matched to depends on the order candidates are compared in.
  const triple: Uint32Array[] = [];
  for (let line = 1; line <= 6000; line++) {
    let sig: Uint32Array;
    if (line % 50 === 0) {
      sig = new Uint32Array(size).map(() => Math.floor(random() * 4294967296));
      const edited = sig.slice(), between = sig.slice();
      for (let i = 0; i < 30; i++) edited[size - 1 - i] = Math.floor(random() * 4294967296);
      for (let i = 0; i < 10; i++) between[size - 1 - i] = edited[size - 1 - i];
      triple.push(edited, between);
    } else if (triple.length > 0) {
      sig = triple.shift()!;
    } else if (made.length > 0 && random() < 0.2) {
      sig = made[Math.floor(random() * made.length)].slice();
      for (let e = 0, n = Math.floor(random() * 40); e < n; e++) sig[Math.floor(random() * size)] = Math.floor(random() * 4294967296);
    } else {
      sig = new Uint32Array(size).map(() => Math.floor(random() * 4294967296));
      sig.set(patterns[Math.floor(random() * 3)]);
    }
    made.push(sig);
    const got = lsh.check(sig, line), want = plain.check(sig, line);
    assert.deepEqual(got, want, `line ${line}`);
    if (got) matched++;
  }
  assert.ok(matched > 300 && lsh.records > 4000, `both kept and matched records (${matched} matched, ${lsh.records} kept)`);
});
