// Import benchmark: writes a Parquet file of instruction/response pairs (default 1 GiB, row
// groups of 20,000 rows, snappy, as the datasets library writes them) with hyparquet-writer,
// plus the same records as JSONL, then measures in separate processes, in the same run:
//   import  the Parquet file imported to alpaca JSONL (src/core/workbench/import: row group by
//           row group through a byte-range AsyncBuffer, mapped, written atomically);
//   worker  the same import as the extension runs it, in its worker thread (import-client.ts),
//           the host renaming the output into place;
//   peer    a plain line-by-line copy of the JSONL (readline -> write stream).
// It prints wall time and peak RSS of each and import/peer as ratios. Peak RSS far below the
// file size shows memory is bounded (one row group at a time).
//
//   npm run build:ts && node out/bench/workbench-import-bench.js [--mb 1024] [--keep]
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { schemaFromColumnData, ParquetWriter, type ColumnSource } from 'hyparquet-writer';
import { importInWorker } from '../src/core/workbench/import/import-client';
import { runImport } from '../src/core/workbench/import/pipeline';
import { formatBytes, formatCount, formatDuration, significant } from '../src/core/units';
import { parseBenchOptions } from './bench-options';

interface Options { mb: number; keep: boolean }

// Sentence pieces joined by a seeded xorshift: varied enough that snappy does not shrink it much.
const PIECES = ['LoRA freezes the base weights', 'a low-rank update is trained', 'the learning rate warms up', 'each batch holds packed sequences',
  'the tokenizer splits words into pieces', 'gradients are clipped at one', 'evaluation loss stops falling', 'the adapter is merged afterwards',
  'quantised weights save memory', 'attention looks back over the context', 'checkpoints are written every epoch', 'the answer cites the source'];

function* records(seed: number): Generator<{ instruction: string; response: string }> {
  let s = seed >>> 0 || 1;
  const next = () => ((s ^= s << 13), (s ^= s >>> 17), (s ^= s << 5), s >>> 0);
  const text = (n: number) => {
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`${PIECES[next() % PIECES.length]} (${next().toString(36)})`);
    return parts.join(', ') + '.';
  };
  for (;;) yield { instruction: `Explain step ${next() % 1000}: ${text(4)}`, response: text(20 + (next() % 20)) };
}

type FileWriter = ConstructorParameters<typeof ParquetWriter>[0]['writer'];

async function writeData(dir: string, bytes: number): Promise<{ parquet: string; jsonl: string; rows: number; rowGroups: number }> {
  const parquet = path.join(dir, 'pairs.parquet');
  const jsonl = path.join(dir, 'pairs.jsonl');
  // hyparquet-writer's Node entry (its typings describe the browser one, without fileWriter).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fileWriter } = require('hyparquet-writer') as { fileWriter(file: string): FileWriter };
  const jsonOut = createWriteStream(jsonl);
  const gen = records(42);
  let writer: ParquetWriter | undefined;
  let rows = 0, rowGroups = 0;
  const GROUP = 20000;
  while (!writer || statSync(parquet).size < bytes) {
    const batch = Array.from({ length: GROUP }, () => gen.next().value as { instruction: string; response: string });
    const columnData: ColumnSource[] = [
      { name: 'instruction', data: batch.map((r) => r.instruction), type: 'STRING' },
      { name: 'response', data: batch.map((r) => r.response), type: 'STRING' },
    ];
    writer ??= new ParquetWriter({ writer: fileWriter(parquet), schema: schemaFromColumnData({ columnData }), kvMetadata: [{ key: 'huggingface', value: '{"info":{"features":{"instruction":{"dtype":"string","_type":"Value"},"response":{"dtype":"string","_type":"Value"}}}}' }] });
    await writer.write({ columnData, rowGroupSize: GROUP });
    if (!jsonOut.write(batch.map((r) => JSON.stringify(r)).join('\n') + '\n')) await new Promise<void>((r) => jsonOut.once('drain', () => r()));
    rows += GROUP;
    rowGroups++;
    if (rowGroups % 10 === 0) process.stderr.write(`  written ${formatBytes(statSync(parquet).size)}, ${formatCount(rows)} rows\n`);
  }
  writer.finish();
  await new Promise<void>((r) => jsonOut.end(r));
  return { parquet, jsonl, rows, rowGroups };
}

/** The peer: reads the JSONL line by line and writes each line to a copy. */
async function copyLines(file: string): Promise<number> {
  const out = createWriteStream(file + '.copy');
  let n = 0;
  for await (const line of readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    n++;
    if (!out.write(line + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(r));
  return n;
}

async function child(mode: string, file: string): Promise<void> {
  const t0 = performance.now();
  const plan = { format: 'alpaca' as const, fields: { instruction: 'instruction', output: 'response' } };
  const worker = path.join(__dirname, '..', 'src', 'core', 'workbench', 'import', 'import-worker.js');
  const records = mode === 'peer'
    ? await copyLines(file)
    : mode === 'worker'
      ? (await importInWorker(worker, { kind: 'parquet', path: file }, plan)).recordsOut
      : (await runImport({ kind: 'parquet', path: file }, plan)).recordsOut;
  process.stdout.write(JSON.stringify({ seconds: (performance.now() - t0) / 1000, peakRss: process.resourceUsage().maxRSS * 1024, records }));
}

async function main(): Promise<void> {
  const o = parseBenchOptions<Options>(process.argv.slice(2), { mb: 1024, keep: false }, { file: 'bench/workbench-import-bench.ts', numeric: { '--mb': 'mb' }, flags: { '--keep': 'keep' } });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tuner-import-bench-'));
  try {
    process.stderr.write(`Writing ${o.mb} MiB of Parquet (and the same records as JSONL) in ${dir}\n`);
    const data = await writeData(dir, o.mb * 1024 * 1024);
    const run = (mode: string, file: string) => {
      const r = spawnSync(process.execPath, [__filename, '--child', mode, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as { seconds: number; peakRss: number; records: number };
    };
    const peer = run('peer', data.jsonl);
    const imp = run('import', data.parquet);
    const inWorker = run('worker', data.parquet);
    if (imp.records !== data.rows || inWorker.records !== data.rows || peer.records !== data.rows) throw new Error(`records differ: wrote ${data.rows}, imported ${imp.records} (in the worker ${inWorker.records}), copied ${peer.records}`);
    const size = statSync(data.parquet).size;
    console.log(`Parquet ${formatBytes(size)} (${formatCount(data.rows)} rows, ${data.rowGroups} row groups); JSONL ${formatBytes(statSync(data.jsonl).size)}; output ${formatBytes(statSync(path.join(dir, 'pairs.alpaca.jsonl')).size)}`);
    console.log(`peer   (line-by-line JSONL copy): ${formatDuration(peer.seconds)}, peak RSS ${formatBytes(peer.peakRss)}`);
    console.log(`import (Parquet -> alpaca JSONL): ${formatDuration(imp.seconds)}, peak RSS ${formatBytes(imp.peakRss)}, ${formatBytes(size / imp.seconds)}/s of Parquet`);
    console.log(`worker (the same, in the import worker thread): ${formatDuration(inWorker.seconds)}, peak RSS ${formatBytes(inWorker.peakRss)}`);
    console.log(`import / peer: time ${significant(imp.seconds / peer.seconds, 3)}×, peak RSS ${significant(imp.peakRss / peer.peakRss, 3)}×; peak RSS / Parquet size ${significant(imp.peakRss / size, 2)}`);
    console.log(`worker / peer: time ${significant(inWorker.seconds / peer.seconds, 3)}×, peak RSS ${significant(inWorker.peakRss / peer.peakRss, 3)}×; worker / in-process: time ${significant(inWorker.seconds / imp.seconds, 3)}×`);
  } finally {
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
(argv[0] === '--child' ? child(argv[1], argv[2]) : main()).catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
