// One import, start to finish: open the chosen source, map each record to the target format
// and write JSONL beside the source (a temp file renamed into place, so a cancelled or failed
// import leaves no half-written file and the source is never touched). Rows that cannot be read
// or mapped go to a side file with their file, row and reason: nothing is dropped silently.
import { createWriteStream, existsSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import type { FormatId } from '../../dataset/formats';
import type { SetAsideRecord, SourceRecord } from '../records';
import { readArrow } from './arrow';
import { csvDelimiterFor, readCsv } from './csv';
import { isDocumentFile, readDocuments, type DocumentUnit } from './documents';
import type { HfCacheEntry } from './hf-cache';
import { readJsonArray, readJsonl, type JsonArrayPath } from './json';
import { guessFormat, guessMapping, mapRecord, type MappingPlan } from './mapping';
import { readParquet } from './parquet';
import { ImportError, type ReadOptions, type RecordReader } from './source';
import * as l10n from '@vscode/l10n';

export type SourceKind = 'csv' | 'json' | 'jsonl' | 'parquet' | 'arrow' | 'documents' | 'hf-cache';

export interface ImportSource {
  kind: SourceKind;
  /** The file or folder (for an HF cache entry: its first shard). */
  path: string;
  /** JSON: the array holding the records ([] = the top-level array). */
  jsonPath?: JsonArrayPath;
  /** Documents: one record per file or per section (heading, PDF page). */
  unit?: DocumentUnit;
  hfEntry?: HfCacheEntry;
}

/** What kind of source a file or folder is, from its extension; undefined when Tuner cannot import it. */
export function sourceKindOf(file: string): SourceKind | undefined {
  if (existsSync(file) && statSync(file).isDirectory()) return 'documents';
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv' || csvDelimiterFor(file)) return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  if (ext === '.arrow' || ext === '.feather' || ext === '.arrows' || ext === '.ipc') return 'arrow';
  if (isDocumentFile(file)) return 'documents';
  return undefined;
}

export function readerFor(source: ImportSource): RecordReader {
  switch (source.kind) {
    case 'csv': return (o) => readCsv(source.path, o);
    case 'json': return (o) => readJsonArray(source.path, source.jsonPath ?? [], o);
    case 'jsonl': return (o) => readJsonl(source.path, o);
    case 'parquet': return (o) => readParquet(source.path, o);
    case 'arrow': return (o) => readArrow(source.path, o);
    case 'documents': return (o) => readDocuments(source.path, source.unit ?? 'file', o);
    case 'hf-cache': {
      const entry = source.hfEntry;
      if (!entry) throw new ImportError(l10n.t('no Hugging Face cache entry chosen'));
      return (o) => readShards(entry, o);
    }
  }
}

/** The shards of one cached split, one after the other, each shard's rows numbered in that shard. */
async function* readShards(entry: HfCacheEntry, options: ReadOptions): AsyncGenerator<SourceRecord, void, undefined> {
  for (const [i, file] of entry.files.entries()) {
    const inner: ReadOptions = { ...options, onProgress: (f) => options.onProgress?.((i + f) / entry.files.length) };
    yield* entry.format === 'parquet' ? readParquet(file, inner) : readArrow(file, inner);
  }
}

export interface SourceSample {
  records: SourceRecord[];
  skipped: SetAsideRecord[];
  /** The columns, in first-seen order, over the sample. */
  columns: string[];
}

/** The first `count` records (for the mapping step and its preview); stops reading there. */
export async function sampleSource(source: ImportSource, count = 20, signal?: AbortSignal): Promise<SourceSample> {
  const sample: SourceSample = { records: [], skipped: [], columns: [] };
  const seen = new Set<string>();
  for await (const r of readerFor(source)({ onSkip: (s) => sample.skipped.push(s), signal })) {
    sample.records.push(r);
    for (const k of Object.keys(r.value)) if (!seen.has(k)) { seen.add(k); sample.columns.push(k); }
    if (sample.records.length >= count) break;
  }
  return sample;
}

/** The mapping Tuner proposes for a sample: the format its columns look like, and which column fills each field. */
export function proposePlan(sample: SourceSample, format?: FormatId): MappingPlan {
  const f = format ?? guessFormat(sample.columns);
  return { format: f, fields: guessMapping(f, sample.columns) };
}

/** The first records as they will be written (or why each is set aside), for the live preview. */
export function previewLines(sample: SourceSample, plan: MappingPlan, count = 10): string[] {
  return sample.records.slice(0, count).map((r) => {
    const m = mapRecord(r.value, plan);
    return 'record' in m ? JSON.stringify(m.record) : l10n.t('// {0} row {1} set aside: {2}', r.file, r.row, m.reason);
  });
}

/** "data.csv" -> "data.alpaca.jsonl" beside it; a folder "docs" -> "docs.text.jsonl" beside the folder. */
export function defaultOutputPath(source: ImportSource, format: FormatId, outputDir?: string): string {
  const base = source.kind === 'hf-cache' && source.hfEntry
    ? `${source.hfEntry.dataset.replace(/[/\\]/g, '__')}.${source.hfEntry.config}.${source.hfEntry.split}`
    : path.basename(source.path).replace(/\.[^.]+$/, '');
  const dir = outputDir ?? path.dirname(source.path);
  let out = path.join(dir, `${base}.${format}.jsonl`);
  if (path.resolve(out) === path.resolve(source.path)) out = path.join(dir, `${base}.${format}.imported.jsonl`);
  return out;
}

export interface ImportSummary {
  source: string;
  output: string;
  format: FormatId;
  /** Records read plus rows that could not be read. */
  recordsIn: number;
  recordsOut: number;
  skipped: number;
  /** Why rows were set aside (location stripped), with how many each. */
  skippedByReason: Record<string, number>;
  /** The first set-aside rows, each "file row N: why". */
  skippedSamples: string[];
  /** The side file holding every set-aside row; undefined when none was. */
  skippedFile?: string;
}

export interface ImportOptions {
  output?: string;
  onProgress?(fraction: number, recordsOut: number): void;
  signal?: AbortSignal;
}

/** A JSONL writer with back-pressure: lines are gathered into ~1 MiB writes. */
class JsonlSink {
  private parts: string[] = [];
  private size = 0;
  readonly stream: WriteStream;
  constructor(readonly file: string) {
    this.stream = createWriteStream(file, { flags: 'w' });
  }
  async write(value: unknown): Promise<void> {
    const line = JSON.stringify(value) + '\n';
    this.parts.push(line);
    this.size += line.length;
    if (this.size >= 1 << 20) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const ok = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (!ok) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }
  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}

function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
}

/** Where an import into `output` writes: the output and its side file, and the temp file of each until the import is committed. */
export interface StagedPaths {
  output: string;
  skippedFile: string;
  outputTemp: string;
  skippedTemp: string;
}

export function stagedPathsFor(output: string): StagedPaths {
  const skippedFile = output.replace(/\.jsonl$/, '') + '.skipped.jsonl';
  return { output, skippedFile, outputTemp: tempPathFor(output), skippedTemp: tempPathFor(skippedFile) };
}

/** Removes the temp files of an import that will not be committed (cancelled, failed, or its worker stopped). */
export function discardStaged(paths: StagedPaths): void {
  rmSync(paths.outputTemp, { force: true });
  rmSync(paths.skippedTemp, { force: true });
}

/** Reads, maps and writes the whole source. Throws ImportError for a source it cannot read at all; an AbortError when cancelled (nothing written). */
export async function runImport(source: ImportSource, plan: MappingPlan, options: ImportOptions = {}): Promise<ImportSummary> {
  const output = options.output ?? defaultOutputPath(source, plan.format);
  const staged = await stageImport(source, plan, { ...options, output });
  return commitImport(staged, options);
}

/**
 * The import up to its last step: every record read, mapped and written to the temp files, which
 * are complete and closed. Nothing is at the output paths yet; commitImport puts the files there
 * (the import worker leaves that to the host, so a cancel that arrives after the last record still
 * leaves nothing behind). On failure or cancel the temp files are already removed.
 */
export async function stageImport(source: ImportSource, plan: MappingPlan, options: ImportOptions & { output: string }): Promise<ImportSummary> {
  const output = options.output;
  if (path.resolve(output) === path.resolve(source.path)) throw new ImportError(l10n.t('{0}: the output would replace the source; choose another name', path.basename(output)));
  const paths = stagedPathsFor(output);
  const out = new JsonlSink(paths.outputTemp);
  const side = new JsonlSink(paths.skippedTemp);
  const summary: ImportSummary = { source: source.path, output, format: plan.format, recordsIn: 0, recordsOut: 0, skipped: 0, skippedByReason: {}, skippedSamples: [] };
  const pendingSkips: SetAsideRecord[] = [];
  const setAside = (s: SetAsideRecord) => {
    summary.skipped++;
    const why = s.reason.startsWith(`${s.file} `) ? s.reason.slice(s.reason.indexOf(': ') + 2) : s.reason;
    const key = why.replace(/"[^"]*"/g, '"…"').replace(/\d+/g, 'N');
    summary.skippedByReason[key] = (summary.skippedByReason[key] ?? 0) + 1;
    if (summary.skippedSamples.length < 20) summary.skippedSamples.push(s.reason);
    pendingSkips.push(s);
  };
  let fraction = 0;
  try {
    for await (const r of readerFor(source)({ onSkip: (s) => { summary.recordsIn++; setAside(s); }, onProgress: (f) => { fraction = f; options.onProgress?.(f, summary.recordsOut); }, signal: options.signal })) {
      summary.recordsIn++;
      const m = mapRecord(r.value, plan);
      if ('record' in m) {
        await out.write(m.record);
        summary.recordsOut++;
      } else setAside({ file: r.file, row: r.row, reason: `${r.file} row ${r.row}: ${m.reason}`, value: r.value });
      while (pendingSkips.length) await side.write(pendingSkips.shift());
      if (summary.recordsIn % 4096 === 0) options.onProgress?.(fraction, summary.recordsOut);
    }
    while (pendingSkips.length) await side.write(pendingSkips.shift());
    await out.close();
    await side.close();
  } catch (e) {
    out.stream.destroy();
    side.stream.destroy();
    discardStaged(paths);
    throw e;
  }
  return summary;
}

/** The last step of an import: its temp files renamed into place (the side file only when a row was set aside). */
export function commitImport(staged: ImportSummary, options: Pick<ImportOptions, 'onProgress'> = {}): ImportSummary {
  const paths = stagedPathsFor(staged.output);
  const summary = { ...staged };
  renameSync(paths.outputTemp, paths.output);
  if (summary.skipped > 0) {
    renameSync(paths.skippedTemp, paths.skippedFile);
    summary.skippedFile = paths.skippedFile;
  } else {
    rmSync(paths.skippedTemp, { force: true });
    rmSync(paths.skippedFile, { force: true }); // a side file of an earlier import of the same source no longer applies
  }
  options.onProgress?.(1, summary.recordsOut);
  return summary;
}

/** The summary as a few lines of text (the log and the notification). */
export function describeSummary(s: ImportSummary): string {
  const lines = [l10n.t('{0} -> {1} ({2}): {3} rows in, {4} records out, {5} set aside', path.basename(s.source), path.basename(s.output), s.format, s.recordsIn, s.recordsOut, s.skipped)];
  for (const [why, n] of Object.entries(s.skippedByReason)) lines.push(`  ${n} × ${why}`);
  if (s.skippedFile) lines.push(l10n.t('  every set-aside row, with its row number and reason: {0}', s.skippedFile));
  return lines.join('\n');
}
