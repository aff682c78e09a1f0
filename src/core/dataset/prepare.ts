// Data preparation: JSONL -> conversations -> chat template -> token ids + loss mask -> shards,
// streamed in fixed-size chunks so memory stays bounded whatever the file size. Every record
// that is dropped or cut is listed with its line number in the report; nothing is silent.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ShardWriter, type ShardManifest } from '../engine/shards';
import { makeOwnFolder, removeOwnFolder } from './prepare-paths';
import type { ChatRenderer } from './chat-template';
import { recordToConversation, type ConversationOptions } from './conversation';
import type { FormatId } from './formats';
import { fitPair, pairConversation, PairRecordError, tokenizePair, type TokenizedPair } from './prepare-pairs';
import { tokenizeSegments, trainedCount, type TokenizedExample } from './tokenize';
import * as l10n from '@vscode/l10n';

/** Shard size: bounds the memory of pending documents (5 bytes per token) to ~20 MiB. */
export const DEFAULT_TOKENS_PER_SHARD = 4 * 1024 * 1024;

export interface PrepareOptions extends ConversationOptions {
  dataFile: string;
  /** Receives train/ and (with an eval split or file) eval/ shard sets, and prep-report.json. */
  outDir: string;
  evalFile?: string;
  /** Fraction of records held out for evaluation when evalFile is not given. */
  evalSplit?: number;
  maxLength: number;
  truncation: 'truncate' | 'drop';
  packing: boolean;
  trainOnAll: boolean;
  /** Model vocabulary size: every id must be below it. */
  vocabSize: number;
  modelFingerprint?: string;
  tokenizerFingerprint?: string;
  maxTokensPerShard?: number;
  /** "dpo": every record is a preference pair, written as two documents (prepare-pairs.ts). */
  stage?: 'sft' | 'dpo';
}

export interface LineNote {
  line: number; // 1-based, as editors show it
  reason: string;
}

export interface PrepareReport {
  dataFile: string;
  records: number;
  blankLines: number;
  formats: Partial<Record<FormatId, number>>;
  trainDocuments: number;
  evalDocuments: number;
  tokens: number;
  trainedTokens: number;
  /** Records cut to max_length (truncation "truncate"). */
  truncated: LineNote[];
  /** Records left out: over-long (truncation "drop"), invalid, or refused by the template. */
  dropped: LineNote[];
  /** Records whose answers the template did not close with a stop token; EOS was appended. */
  eosAppended: number;
  /** Token counts before truncation: counts[i] counts lengths in [edges[i], edges[i+1]); the last one, lengths over max_length. */
  histogram: { edges: number[]; counts: number[] };
  maxTokens: number;
  meanTokens: number;
  packedSequences: number | null;
  train: ShardManifest | null;
  eval: ShardManifest | null;
  seconds: number;
}

export interface PrepareProgress {
  fraction: number;
  records: number;
  tokens: number;
}

export class PrepareCancelled extends Error {
  constructor() {
    super(l10n.t('Preparation was cancelled; the previous shards (if any) are unchanged'));
    this.name = 'AbortError';
  }
}

/** Yields the lines of a file (1-based numbers) reading fixed chunks, so memory is bounded. */
export function* readLines(file: string, chunkBytes = 1 << 20): Generator<{ line: number; text: string; bytesRead: number; size: number }> {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(chunkBytes);
    const decoder = new TextDecoder('utf-8');
    let carry = '';
    let pos = 0;
    let line = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, chunkBytes, pos);
      pos += n;
      const text = carry + (n > 0 ? decoder.decode(buf.subarray(0, n), { stream: true }) : decoder.decode());
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        line++;
        yield { line, text: text.slice(start, nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl), bytesRead: pos, size };
        start = nl + 1;
      }
      carry = text.slice(start);
      if (n === 0) {
        if (carry !== '') yield { line: line + 1, text: carry, bytesRead: pos, size };
        return;
      }
    }
  } finally {
    closeSync(fd);
  }
}

export function histogramEdges(maxLength: number): number[] {
  const edges = [0];
  for (let e = 16; e < maxLength; e *= 2) edges.push(e);
  edges.push(maxLength + 1);
  return edges;
}

/** A packed sequence: the records' tokens joined, with where each record after the first begins. */
type PackedExample = TokenizedExample & { sampleStarts: number[] };

/**
 * Greedy packing: consecutive examples joined until the next would pass max_length. The record
 * starts go into the shard, so the trainer keeps attention within each record.
 */
class Packer {
  private ids: number[] = [];
  private mask: number[] = [];
  private starts: number[] = [];
  sequences = 0;
  constructor(private readonly maxLength: number, private readonly emit: (ex: PackedExample) => void) {}
  add(ex: TokenizedExample): void {
    if (this.ids.length > 0 && this.ids.length + ex.ids.length > this.maxLength) this.flush();
    if (this.ids.length > 0) this.starts.push(this.ids.length);
    for (let i = 0; i < ex.ids.length; i++) {
      this.ids.push(ex.ids[i]);
      this.mask.push(ex.mask[i]);
    }
  }
  flush(): void {
    if (this.ids.length === 0) return;
    this.emit({ ids: this.ids, mask: this.mask, sampleStarts: this.starts });
    this.sequences++;
    this.ids = [];
    this.mask = [];
    this.starts = [];
  }
}

/** Whether record `index` (0-based) goes to the eval split: an even, deterministic spread. */
export function inEvalSplit(index: number, fraction: number): boolean {
  if (fraction <= 0) return false;
  return Math.floor((index + 1) * fraction) > Math.floor(index * fraction);
}

export function prepareDataset(
  opts: PrepareOptions,
  renderer: ChatRenderer,
  tokenizer: { encode(text: string): number[] },
  onProgress?: (p: PrepareProgress) => void,
  isCancelled?: () => boolean,
): PrepareReport {
  const t0 = Date.now();
  // Written beside the target and renamed at the end, so the output is complete or absent. Both
  // carry preparation's marker: only a folder with it is ever removed (prepare-paths.ts).
  const staging = `${opts.outDir}.tmp-${process.pid}`;
  makeOwnFolder(staging);
  const dpo = opts.stage === 'dpo';
  if (dpo && opts.packing) throw new Error(l10n.t('"packing" joins records into one sequence, but stage "dpo" scores each answer as a sequence of its own: set "packing" to false.'));
  const info = {
    vocabSize: opts.vocabSize, seqLen: opts.maxLength, modelFingerprint: opts.modelFingerprint, tokenizerFingerprint: opts.tokenizerFingerprint,
    ...(dpo ? { layout: 'preference-pairs' as const } : {}),
  };
  const perShard = opts.maxTokensPerShard ?? DEFAULT_TOKENS_PER_SHARD;
  const train = new ShardWriter(path.join(staging, 'train'), info, perShard);
  const wantEval = opts.evalFile !== undefined || (opts.evalSplit ?? 0) > 0;
  const evalW = wantEval ? new ShardWriter(path.join(staging, 'eval'), info, perShard) : undefined;
  const edges = histogramEdges(opts.maxLength);
  const report: PrepareReport = {
    dataFile: opts.dataFile, records: 0, blankLines: 0, formats: {}, trainDocuments: 0, evalDocuments: 0, tokens: 0, trainedTokens: 0,
    truncated: [], dropped: [], eosAppended: 0, histogram: { edges, counts: edges.map(() => 0) }, maxTokens: 0, meanTokens: 0,
    packedSequences: null, train: null, eval: null, seconds: 0,
  };
  let lengthSum = 0;
  let tokenized = 0;
  const add = (w: ShardWriter, ex: TokenizedExample & { sampleStarts?: number[] }) => {
    // Typed arrays: a shard's pending documents take 5 bytes per token, not 16.
    w.add({ tokens: Uint32Array.from(ex.ids), mask: Uint8Array.from(ex.mask), ...(ex.sampleStarts?.length ? { sampleStarts: ex.sampleStarts } : {}) });
    report.tokens += ex.ids.length;
    report.trainedTokens += trainedCount(ex.mask);
  };
  const trainPacker = opts.packing ? new Packer(opts.maxLength, (ex) => add(train, ex)) : undefined;
  const evalPacker = opts.packing && evalW ? new Packer(opts.maxLength, (ex) => add(evalW, ex)) : undefined;
  let lastReport = 0;
  const countLength = (n: number) => {
    lengthSum += n;
    tokenized++;
    report.maxTokens = Math.max(report.maxTokens, n);
    let b = 0;
    while (b < edges.length - 1 && n >= edges[b + 1]) b++;
    report.histogram.counts[b]++;
  };
  // Stage dpo: a line that is not a pair stops preparation, naming file, line and field.
  const takePair = (text: string, file: string, line: number, note: (list: LineNote[], reason: string) => void): TokenizedPair | undefined => {
    let conv;
    try {
      conv = pairConversation(text, opts);
    } catch (e) {
      if (e instanceof PairRecordError) throw new Error(`${file}:${line}: ${e.message}`);
      throw e;
    }
    report.formats.preference = (report.formats.preference ?? 0) + 1;
    let pair: TokenizedPair;
    try {
      pair = tokenizePair(conv, renderer, tokenizer);
    } catch (e) {
      note(report.dropped, (e as Error).message);
      return undefined;
    }
    if (pair.eosAppended) report.eosAppended++;
    countLength(pair.chosen.ids.length);
    countLength(pair.rejected.ids.length);
    const fit = fitPair(pair, opts.maxLength, opts.truncation);
    if (fit.dropped) note(report.dropped, fit.dropped);
    if (fit.truncated) note(report.truncated, fit.truncated);
    return fit.pair;
  };

  const processFile = (file: string, split: 'auto' | 'eval') => {
    let index = 0;
    for (const { line, text, bytesRead, size } of readLines(file)) {
      if (text.trim() === '') {
        report.blankLines++;
        continue;
      }
      report.records++;
      const where = split === 'eval' ? `${path.basename(file)}:${line}` : line;
      const note = (list: LineNote[], reason: string) => list.push({ line: typeof where === 'number' ? where : line, reason: split === 'eval' ? `${where}: ${reason}` : reason });
      let ex: TokenizedExample;
      let rejected: TokenizedExample | undefined;
      if (dpo) {
        const pair = takePair(text, file, line, note);
        if (!pair) continue;
        ex = pair.chosen;
        rejected = pair.rejected;
      } else {
        const rec = recordToConversation(text, opts);
        if (!rec.ok) {
          note(report.dropped, `record ${rec.reason}`);
          continue;
        }
        report.formats[rec.format] = (report.formats[rec.format] ?? 0) + 1;
        try {
          const rendered = renderer.render(rec.conversation, opts.trainOnAll);
          if (rendered.eosAppended) report.eosAppended++;
          ex = tokenizeSegments(rendered.segments, tokenizer);
        } catch (e) {
          note(report.dropped, (e as Error).message);
          continue;
        }
        const n = ex.ids.length;
        countLength(n);
        if (n > opts.maxLength) {
          if (opts.truncation === 'drop') {
            note(report.dropped, l10n.t('{0} tokens, over max_length {1} (truncation "drop")', n, opts.maxLength));
            continue;
          }
          ex = { ids: ex.ids.slice(0, opts.maxLength), mask: ex.mask.slice(0, opts.maxLength) };
          if (trainedCount(ex.mask) === 0) {
            note(report.dropped, l10n.t('{0} tokens; cut to max_length {1} no answer token is left to train on', n, opts.maxLength));
            continue;
          }
          note(report.truncated, l10n.t('{0} tokens, cut to {1}', n, opts.maxLength));
        } else if (trainedCount(ex.mask) === 0) {
          note(report.dropped, l10n.t('no token to train on (empty answer?)'));
          continue;
        }
      }
      const toEval = evalW !== undefined && (split === 'eval' || (opts.evalFile === undefined && inEvalSplit(index, opts.evalSplit ?? 0)));
      index++;
      if (toEval) {
        report.evalDocuments++;
        if (evalPacker) evalPacker.add(ex);
        else add(evalW!, ex);
        if (rejected) add(evalW!, rejected);
      } else {
        report.trainDocuments++;
        if (trainPacker) trainPacker.add(ex);
        else add(train, ex);
        if (rejected) add(train, rejected);
      }
      if (report.records - lastReport >= 256) {
        lastReport = report.records;
        if (isCancelled?.()) throw new PrepareCancelled();
        onProgress?.({ fraction: size > 0 ? (split === 'eval' ? 0.99 : bytesRead / size) : 1, records: report.records, tokens: report.tokens });
      }
    }
  };

  try {
    processFile(opts.dataFile, 'auto');
    if (opts.evalFile) processFile(opts.evalFile, 'eval');
    trainPacker?.flush();
    evalPacker?.flush();
    if (report.trainDocuments === 0) {
      throw new Error(l10n.t('{0}: no record could be prepared ({1} dropped; first: line {2}: {3})', opts.dataFile, report.dropped.length, report.dropped[0]?.line ?? '-', report.dropped[0]?.reason ?? l10n.t('the file is empty')));
    }
    report.train = train.finish();
    report.eval = evalW ? evalW.finish() : null;
    report.packedSequences = trainPacker ? trainPacker.sequences : null;
    report.meanTokens = tokenized > 0 ? lengthSum / tokenized : 0;
    report.seconds = (Date.now() - t0) / 1000;
    fs.writeFileSync(path.join(staging, 'prep-report.json'), JSON.stringify(report, null, 2) + '\n');
    removeOwnFolder(opts.outDir);
    fs.renameSync(staging, opts.outDir);
    onProgress?.({ fraction: 1, records: report.records, tokens: report.tokens });
    return report;
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** A few lines for a log or notification. */
export function summarizeReport(r: PrepareReport): string {
  const lines = [
    l10n.t('{0} records -> {1} train{2} examples{3}, {4} tokens ({5} trained), in {6} s', r.records, r.trainDocuments, r.evalDocuments ? ` + ${r.evalDocuments} eval` : '', r.packedSequences !== null ? l10n.t(' packed into {0} sequences', r.packedSequences) : '', r.tokens, r.trainedTokens, r.seconds.toFixed(1)),
    l10n.t('tokens per record: mean {0}, max {1}', r.meanTokens.toFixed(0), r.maxTokens),
  ];
  if (r.truncated.length) lines.push(l10n.t('{0} cut to max_length (lines {1}{2})', r.truncated.length, r.truncated.slice(0, 10).map((n) => n.line).join(', '), r.truncated.length > 10 ? ', …' : ''));
  if (r.dropped.length) lines.push(l10n.t('{0} dropped (lines {1}{2}); see prep-report.json for every line and reason', r.dropped.length, r.dropped.slice(0, 10).map((n) => n.line).join(', '), r.dropped.length > 10 ? ', …' : ''));
  if (r.eosAppended) lines.push(l10n.t('{0} records: the template did not close the answer with a stop token, so EOS was appended', r.eosAppended));
  return lines.join('\n');
}
