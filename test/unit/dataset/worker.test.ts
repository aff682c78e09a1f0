// The lint worker: same result as in-process linting, progress reported, cancellation
// honoured, and a file linted from disk without handing its text over.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { lintText } from '../../../src/core/dataset/lint';
import { disposeLintWorkers, lintInWorker } from '../../../src/core/dataset/lint-client';
import { WORKER } from './helpers';

function sampleText(lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    if (i % 97 === 5) out.push('{"input": "broken",');
    else if (i % 50 === 7) out.push(JSON.stringify({ input: 'dup', output: 'dup' }));
    else out.push(JSON.stringify({ input: `question ${i} ${'x'.repeat(i % 300)}`, output: `answer ${i}` }));
  }
  return out.join('\n') + '\n';
}

test('worker on editor text gives the in-process result and reports progress', async () => {
  const text = sampleText(3000);
  const fractions: number[] = [];
  const r = await lintInWorker(WORKER, { text }, {}, (f) => fractions.push(f));
  assert.deepEqual(r, lintText(text));
  assert.ok(fractions.length >= 1 && fractions[fractions.length - 1] === 1);
});

test('worker streams a file from disk (larger than one chunk) with progress', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tuner-worker-'));
  try {
    const text = sampleText(60_000); // about 10 MB: streamed in chunks
    const file = path.join(dir, 'data.jsonl');
    writeFileSync(file, text);
    const fractions: number[] = [];
    const r = await lintInWorker(WORKER, { filePath: file }, {}, (f) => fractions.push(f));
    const expected = lintText(text);
    assert.equal(r.records, expected.records);
    assert.deepEqual(r.problems.map((p) => [p.code, p.range]), expected.problems.map((p) => [p.code, p.range]));
    assert.ok(fractions.length >= 2, `progress events: ${fractions.length}`);
    assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('aborting rejects with AbortError', async () => {
  const controller = new AbortController();
  const pending = lintInWorker(WORKER, { text: sampleText(200_000) }, {}, undefined, controller.signal);
  setTimeout(() => controller.abort(), 5);
  await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
  const already = new AbortController();
  already.abort();
  await assert.rejects(lintInWorker(WORKER, { text: '' }, {}, undefined, already.signal), (e: Error) => e.name === 'AbortError');
});

test('a missing file is an error naming the file, not a crash', async () => {
  await assert.rejects(lintInWorker(WORKER, { filePath: '/nonexistent/data.jsonl' }, {}), /nonexistent\/data\.jsonl/);
});

test('concurrent and repeated lints each get their own result (warm worker reused)', async () => {
  const a = '{"text": "a"}\n{"text": "a"}\n';
  const b = '{"question": "q"}\n';
  const [ra, rb] = await Promise.all([lintInWorker(WORKER, { text: a }, {}), lintInWorker(WORKER, { text: b }, {})]);
  assert.deepEqual(ra, lintText(a));
  assert.deepEqual(rb, lintText(b));
  for (let i = 0; i < 3; i++) assert.deepEqual(await lintInWorker(WORKER, { text: a }, { severities: { TUN401: 'off' } }), lintText(a, { severities: { TUN401: 'off' } }));
  // A failed request leaves the warm worker usable.
  await assert.rejects(lintInWorker(WORKER, { filePath: '/nonexistent/x.jsonl' }, {}));
  assert.deepEqual(await lintInWorker(WORKER, { text: b }, {}), lintText(b));
  disposeLintWorkers();
});
