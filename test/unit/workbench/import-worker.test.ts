// The import in its worker thread (out/…/import-worker.js, as dist/import-worker.js runs in the
// host): the same output and summary as in-process, progress from the worker, a damaged file's
// error naming file and row group, and a cancel part-way (the worker terminated mid-import)
// leaving neither output nor temp file.
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { importInWorker, jsonArraysInWorker, sampleInWorker } from '../../../src/core/workbench/import/import-client';
import { runImport, stagedPathsFor } from '../../../src/core/workbench/import/pipeline';
import { tempDir, writePairsParquet } from './import-fixtures';

const WORKER = path.resolve(__dirname, '..', '..', '..', 'src', 'core', 'workbench', 'import', 'import-worker.js');
const PLAN = { format: 'alpaca' as const, fields: { instruction: 'instruction', output: 'response' } };

test('the worker imports a Parquet file as in-process, with progress, and samples its first records', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'train.parquet');
  writePairsParquet(file);
  const sample = await sampleInWorker(WORKER, { kind: 'parquet', path: file }, 3);
  assert.deepEqual([sample.records.map((r) => r.row), sample.columns], [[1, 2, 3], ['instruction', 'response', 'id']]);
  const fractions: number[] = [];
  const summary = await importInWorker(WORKER, { kind: 'parquet', path: file }, PLAN, { output: path.join(dir, 'worker.jsonl'), onProgress: (f) => fractions.push(f) });
  const inProcess = await runImport({ kind: 'parquet', path: file }, PLAN, { output: path.join(dir, 'host.jsonl') });
  assert.deepEqual([summary.recordsOut, summary.skipped], [25, 0]);
  assert.equal(readFileSync(summary.output, 'utf8'), readFileSync(inProcess.output, 'utf8'));
  assert.ok(fractions.some((f) => f > 0 && f < 1) && fractions.at(-1) === 1, `progress from the worker: ${fractions.join(', ')}`);
  assert.deepEqual(readdirSync(dir).sort(), ['host.jsonl', 'train.parquet', 'worker.jsonl']);
});

test('cancelling part-way terminates the worker and leaves neither output nor temp file', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'train.parquet');
  writePairsParquet(file, 1); // 25 row groups: 25 progress messages
  const output = path.join(dir, 'train.alpaca.jsonl');
  const temp = stagedPathsFor(output).outputTemp;
  const ac = new AbortController();
  let tempSeenAt: number | undefined;
  await assert.rejects(importInWorker(WORKER, { kind: 'parquet', path: file }, PLAN, {
    signal: ac.signal,
    onProgress: (f) => {
      // Cancel once the worker has its temp file open, with row groups still to read.
      if (tempSeenAt === undefined && existsSync(temp)) { tempSeenAt = f; ac.abort(); }
    },
  }), (e: Error) => e.name === 'AbortError');
  assert.ok(tempSeenAt !== undefined && tempSeenAt < 1, `cancelled part-way (at ${tempSeenAt})`);
  assert.deepEqual(readdirSync(dir), ['train.parquet']);
});

test('a damaged file fails in the worker with the ImportError naming file and row group; nothing written', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'damaged.parquet');
  writePairsParquet(file);
  const bytes = readFileSync(file);
  bytes.fill(0xff, 4, 200);
  writeFileSync(file, bytes);
  await assert.rejects(importInWorker(WORKER, { kind: 'parquet', path: file }, PLAN), /^ImportError: damaged\.parquet row group 1 \(rows 1-10\): cannot be read/);
  assert.deepEqual(readdirSync(dir), ['damaged.parquet']);
  const json = path.join(dir, 'nested.json');
  writeFileSync(json, '{"data": {"train": [{"a": 1}, {"a": 2}]}}');
  assert.deepEqual((await jsonArraysInWorker(WORKER, json)).map((c) => [c.path, c.objects]), [[['data', 'train'], 2]]);
});
