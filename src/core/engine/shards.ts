// Writer (and verifying reader) of Tuner's pre-tokenized shard format, documented in
// docs/shard-format.md and read natively by native/src/train/shards.cpp. The data-preparation
// step writes training data with ShardWriter; tests use it to feed tuner-train directly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as l10n from '@vscode/l10n';

export const SHARD_MAGIC = 'TUNERSHD';
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 48;
export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'tuner-shards';

/** One training example: token ids and, per token, 1 if the model is trained to predict it. */
export interface ShardDocument {
  tokens: ArrayLike<number>;
  mask: ArrayLike<number>;
  /**
   * A packed document (several records in one sequence): the offsets, increasing and inside
   * (0, tokens.length), where each record after the first begins. The trainer keeps attention
   * within each record and restarts positions there. Absent or empty: one record.
   */
  sampleStarts?: ArrayLike<number>;
}

export interface ShardFileEntry {
  path: string;
  documents: number;
  tokens: number;
  bytes: number;
  /** CRC-32 of the whole file, 8 lowercase hex digits. */
  crc32: string;
}

export interface ShardManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  token_dtype: 'uint32';
  mask_dtype: 'uint8';
  /** Tokenizer vocabulary size; every token id is below it. */
  vocab_size: number;
  /** Longest sequence the data was prepared for (informative; the plan's seq_len decides). */
  seq_len: number | null;
  model_fingerprint: string | null;
  tokenizer_fingerprint: string | null;
  documents: number;
  tokens: number;
  /** Tokens with mask 1: the ones the model is trained to predict. */
  trained_tokens: number;
  /**
   * "preference-pairs": documents 2i and 2i+1 are pair i's prompt + chosen and prompt + rejected
   * answer (DPO). Absent: "documents", each trained on its own.
   */
  layout?: ShardLayout;
  files: ShardFileEntry[];
}

export type ShardLayout = 'documents' | 'preference-pairs';

export interface ShardSetInfo {
  vocabSize: number;
  seqLen?: number;
  modelFingerprint?: string;
  tokenizerFingerprint?: string;
  /** Written to the manifest only when "preference-pairs" (older readers see plain documents). */
  layout?: ShardLayout;
}

function crc32hex(buf: Uint8Array): string {
  return (zlib.crc32(buf) >>> 0).toString(16).padStart(8, '0');
}

/** Encodes documents as one shard file (header, document offsets, token ids, loss mask). */
export function encodeShard(docs: readonly ShardDocument[], vocabSize: number): Buffer {
  let n = 0;
  for (const [i, d] of docs.entries()) {
    if (d.tokens.length !== d.mask.length) {
      throw new Error(l10n.t('document {0}: {1} tokens but {2} mask values', i, d.tokens.length, d.mask.length));
    }
    n += d.tokens.length;
  }
  const D = docs.length;
  const starts = packedSampleStarts(docs);
  const payloadBytes = 8 * (D + 1) + 4 * n + n + 8 * starts.length;
  const buf = Buffer.alloc(SHARD_HEADER_BYTES + payloadBytes);
  let off = SHARD_HEADER_BYTES;
  let tokOff = off + 8 * (D + 1);
  let maskOff = tokOff + 4 * n;
  let pos = 0;
  for (const [i, d] of docs.entries()) {
    buf.writeBigUInt64LE(BigInt(pos), off);
    off += 8;
    for (let j = 0; j < d.tokens.length; j++) {
      const t = d.tokens[j];
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new Error(l10n.t('document {0}, token {1}: id {2} is not an integer in [0, {3})', i, j, t, vocabSize));
      }
      const m = d.mask[j];
      if (m !== 0 && m !== 1) throw new Error(l10n.t('document {0}, token {1}: mask {2} is not 0 or 1', i, j, m));
      buf.writeUInt32LE(t, tokOff);
      buf[maskOff] = m;
      tokOff += 4;
      maskOff += 1;
    }
    pos += d.tokens.length;
  }
  buf.writeBigUInt64LE(BigInt(pos), off);
  for (const [i, st] of starts.entries()) buf.writeBigUInt64LE(BigInt(st), maskOff + 8 * i);
  buf.write(SHARD_MAGIC, 0, 'latin1');
  buf.writeUInt32LE(SHARD_VERSION, 8);
  buf.writeUInt32LE(SHARD_HEADER_BYTES, 12);
  buf.writeBigUInt64LE(BigInt(D), 16);
  buf.writeBigUInt64LE(BigInt(n), 24);
  buf.writeBigUInt64LE(BigInt(starts.length), 40);
  buf.writeUInt32LE(zlib.crc32(buf.subarray(SHARD_HEADER_BYTES)) >>> 0, 32);
  buf.writeUInt32LE(zlib.crc32(buf.subarray(0, 36)) >>> 0, 36);
  return buf;
}

/** Decodes one shard file, checking magic, sizes and checksums (the same checks as the trainer). */
export function decodeShard(buf: Buffer, name = 'shard'): ShardDocument[] {
  if (buf.length < SHARD_HEADER_BYTES) throw new Error(l10n.t('{0}: {1} bytes, shorter than the header', name, buf.length));
  if (buf.toString('latin1', 0, 8) !== SHARD_MAGIC) throw new Error(l10n.t('{0}: not a Tuner shard (bad magic)', name));
  if (buf.readUInt32LE(8) !== SHARD_VERSION) throw new Error(l10n.t('{0}: shard version {1}', name, buf.readUInt32LE(8)));
  if ((zlib.crc32(buf.subarray(0, 36)) >>> 0) !== buf.readUInt32LE(36)) throw new Error(l10n.t('{0}: header checksum mismatch', name));
  const D = Number(buf.readBigUInt64LE(16));
  const n = Number(buf.readBigUInt64LE(24));
  const S = Number(buf.readBigUInt64LE(40));
  const expected = SHARD_HEADER_BYTES + 8 * (D + 1) + 5 * n + 8 * S;
  if (buf.length !== expected) throw new Error(l10n.t('{0}: {1} bytes, expected {2} (truncated?)', name, buf.length, expected));
  if ((zlib.crc32(buf.subarray(SHARD_HEADER_BYTES)) >>> 0) !== buf.readUInt32LE(32)) throw new Error(l10n.t('{0}: payload checksum mismatch', name));
  const tokBase = SHARD_HEADER_BYTES + 8 * (D + 1);
  const maskBase = tokBase + 4 * n;
  const docs: ShardDocument[] = [];
  for (let i = 0; i < D; i++) {
    const b = Number(buf.readBigUInt64LE(SHARD_HEADER_BYTES + 8 * i));
    const e = Number(buf.readBigUInt64LE(SHARD_HEADER_BYTES + 8 * (i + 1)));
    const tokens: number[] = [];
    const mask: number[] = [];
    for (let j = b; j < e; j++) {
      tokens.push(buf.readUInt32LE(tokBase + 4 * j));
      mask.push(buf[maskBase + j]);
    }
    docs.push({ tokens, mask });
  }
  if (S > 0) assignSampleStarts(docs, buf, maskBase + n, S, name);
  return docs;
}

/** The packed documents' record starts as offsets into the shard's token array, in order. */
function packedSampleStarts(docs: readonly ShardDocument[]): number[] {
  const out: number[] = [];
  let base = 0;
  for (const [i, d] of docs.entries()) {
    let prev = 0;
    for (const s of Array.from(d.sampleStarts ?? [])) {
      if (!Number.isInteger(s) || s <= prev || s >= d.tokens.length) {
        throw new Error(l10n.t('document {0}: sample start {1} is not increasing inside (0, {2})', i, s, d.tokens.length));
      }
      out.push(base + s);
      prev = s;
    }
    base += d.tokens.length;
  }
  return out;
}

/** Reads the S record starts after the mask back into their documents (decodeShard's checks). */
function assignSampleStarts(docs: ShardDocument[], buf: Buffer, at: number, S: number, name: string): void {
  let d = 0;
  let base = 0;
  let prev = 0;
  for (let i = 0; i < S; i++) {
    const g = Number(buf.readBigUInt64LE(at + 8 * i));
    if (g <= prev && i > 0) throw new Error(l10n.t('{0}: sample starts decrease at entry {1}', name, i));
    prev = g;
    while (d < docs.length && g >= base + docs[d].tokens.length) base += docs[d++].tokens.length;
    if (d === docs.length || g === base) throw new Error(l10n.t('{0}: sample start {1} is not inside a document', name, g));
    const doc = docs[d];
    doc.sampleStarts = [...Array.from(doc.sampleStarts ?? []), g - base];
  }
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Streams documents into a shard directory: files of at most `maxTokensPerShard` tokens, then
 * manifest.json last (written to a temp name and renamed), so a directory with a manifest is
 * always complete.
 */
export class ShardWriter {
  private pending: ShardDocument[] = [];
  private pendingTokens = 0;
  private files: ShardFileEntry[] = [];
  private documents = 0;
  private tokens = 0;
  private trained = 0;

  constructor(
    readonly dir: string,
    readonly info: ShardSetInfo,
    readonly maxTokensPerShard = 16 * 1024 * 1024,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    fs.rmSync(path.join(dir, MANIFEST_FILE), { force: true });
  }

  add(doc: ShardDocument): void {
    this.pending.push(doc);
    this.pendingTokens += doc.tokens.length;
    this.documents += 1;
    this.tokens += doc.tokens.length;
    for (let j = 0; j < doc.mask.length; j++) this.trained += doc.mask[j] === 1 ? 1 : 0;
    if (this.pendingTokens >= this.maxTokensPerShard) this.flush();
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const name = `shard-${String(this.files.length).padStart(5, '0')}.bin`;
    const buf = encodeShard(this.pending, this.info.vocabSize);
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, buf);
    fsyncFile(file);
    this.files.push({
      path: name,
      documents: this.pending.length,
      tokens: this.pendingTokens,
      bytes: buf.length,
      crc32: crc32hex(buf),
    });
    this.pending = [];
    this.pendingTokens = 0;
  }

  finish(): ShardManifest {
    this.flush();
    const manifest: ShardManifest = {
      format: MANIFEST_FORMAT,
      version: SHARD_VERSION,
      token_dtype: 'uint32',
      mask_dtype: 'uint8',
      vocab_size: this.info.vocabSize,
      seq_len: this.info.seqLen ?? null,
      model_fingerprint: this.info.modelFingerprint ?? null,
      tokenizer_fingerprint: this.info.tokenizerFingerprint ?? null,
      documents: this.documents,
      tokens: this.tokens,
      trained_tokens: this.trained,
      ...(this.info.layout === 'preference-pairs' ? { layout: this.info.layout } : {}),
      files: this.files,
    };
    if (this.info.layout === 'preference-pairs' && this.documents % 2 !== 0) {
      throw new Error(l10n.t('{0}: {1} documents for layout "preference-pairs", which holds two per pair', this.dir, this.documents));
    }
    const tmp = path.join(this.dir, `${MANIFEST_FILE}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2) + '\n');
    fsyncFile(tmp);
    fs.renameSync(tmp, path.join(this.dir, MANIFEST_FILE));
    return manifest;
  }
}

/** Writes a whole shard directory at once. */
export function writeShards(dir: string, docs: Iterable<ShardDocument>, info: ShardSetInfo, maxTokensPerShard?: number): ShardManifest {
  const w = new ShardWriter(dir, info, maxTokensPerShard);
  for (const d of docs) w.add(d);
  return w.finish();
}

/** Reads a shard directory back (manifest + every file, all checks applied). */
export function readShards(dir: string): { manifest: ShardManifest; documents: ShardDocument[] } {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as ShardManifest;
  if (manifest.format !== MANIFEST_FORMAT || manifest.version !== SHARD_VERSION) {
    throw new Error(l10n.t('{0}: not a version {1} Tuner shard set', dir, SHARD_VERSION));
  }
  const documents: ShardDocument[] = [];
  for (const f of manifest.files) {
    const buf = fs.readFileSync(path.join(dir, f.path));
    if (crc32hex(buf) !== f.crc32) throw new Error(l10n.t('{0}: checksum differs from manifest.json', f.path));
    documents.push(...decodeShard(buf, f.path));
  }
  return { manifest, documents };
}
