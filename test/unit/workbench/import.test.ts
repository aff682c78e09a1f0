// The dataset importers on real files written by each format's own library, the mapping step,
// and whole imports: output beside the source, source unchanged, set-aside rows in a side file
// with their row and reason, and a clear message naming the file (and row) for input that
// cannot be read.
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { lintText } from '../../../src/core/dataset/lint';
import type { SetAsideRecord, SourceRecord } from '../../../src/core/workbench/records';
import { readArrow } from '../../../src/core/workbench/import/arrow';
import { readCsv } from '../../../src/core/workbench/import/csv';
import { markdownSections, readDocuments } from '../../../src/core/workbench/import/documents';
import { listHfCache } from '../../../src/core/workbench/import/hf-cache';
import { candidateArrays, formatJsonPath, readJsonArray, readJsonl } from '../../../src/core/workbench/import/json';
import { guessFormat, guessMapping, mapRecord } from '../../../src/core/workbench/import/mapping';
import { parquetInfo, readParquet } from '../../../src/core/workbench/import/parquet';
import { previewLines, proposePlan, runImport, sampleSource, sourceKindOf } from '../../../src/core/workbench/import/pipeline';
import { FIXTURE_DIR, HF_FEATURES, PAIRS, tempDir, writeDocx, writeHfCaches, writePairsArrowFile, writePairsArrowStream, writePairsParquet, writePdf } from './import-fixtures';

async function readAll(reader: (o: { onSkip(s: SetAsideRecord): void }) => AsyncGenerator<SourceRecord>): Promise<{ records: SourceRecord[]; skipped: SetAsideRecord[] }> {
  const records: SourceRecord[] = [];
  const skipped: SetAsideRecord[] = [];
  for await (const r of reader({ onSkip: (s) => skipped.push(s) })) records.push(r);
  return { records, skipped };
}

const CSV = 'instruction,response,id\n"Say ""hi""",Hello!,1\n"Two\nlines",Yes,2\nbroken row with no separators\n"Name a colour",Blue,4\n';

describe('CSV and TSV', () => {
  test('header names the fields, quoted values keep quotes and line breaks, a broken row is set aside naming file and row', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'pairs.csv');
    writeFileSync(file, CSV);
    const { records, skipped } = await readAll((o) => readCsv(file, o));
    assert.deepEqual(records.map((r) => r.value), [
      { instruction: 'Say "hi"', response: 'Hello!', id: '1' },
      { instruction: 'Two\nlines', response: 'Yes', id: '2' },
      { instruction: 'Name a colour', response: 'Blue', id: '4' },
    ]);
    assert.deepEqual(records.map((r) => r.row), [2, 3, 5]);
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0].row, 4);
    assert.match(skipped[0].reason, /^pairs\.csv row 4: .*Too few fields.*field is missing/);
  });

  test('a TSV file is split at tabs, a BOM is dropped from the first header', async () => {
    const file = path.join(tempDir(), 'pairs.tsv');
    writeFileSync(file, '\uFEFFquestion\tanswer\nWhat, exactly?\tThis, that\n');
    const { records } = await readAll((o) => readCsv(file, o));
    assert.deepEqual(records.map((r) => r.value), [{ question: 'What, exactly?', answer: 'This, that' }]);
  });

  test('a quote never closed is named with its row and the fix', async () => {
    const file = path.join(tempDir(), 'open-quote.csv');
    writeFileSync(file, 'text\nfine\n"never closed\n');
    const { records, skipped } = await readAll((o) => readCsv(file, o));
    assert.deepEqual(records.map((r) => r.value.text), ['fine']);
    assert.match(skipped[0].reason, /^open-quote\.csv row 3: .*never closed/);
  });

  test('a file larger than one read chunk keeps every row in order', async () => {
    const file = path.join(tempDir(), 'big.csv');
    const n = 20000;
    writeFileSync(file, 'text,n\n' + Array.from({ length: n }, (_, i) => `"row ${i}, padded ${'x'.repeat(i % 50)}",${i}`).join('\n') + '\n');
    const { records, skipped } = await readAll((o) => readCsv(file, o));
    assert.equal(skipped.length, 0);
    assert.equal(records.length, n);
    assert.ok(records.every((r, i) => r.value.n === String(i) && r.row === i + 2));
  });
});

describe('JSON and JSONL', () => {
  const nested = { meta: { source: 'x', tags: ['a', 'b'] }, data: { rows: [{ q: 'Q1 "quoted" [x]', a: 'A1' }, { q: 'Q2 \\ {', a: 'A2' }, 7, { q: 'Q4', a: 'A4' }] } };

  test('the candidate arrays of a nested file are listed with their element counts', async () => {
    const file = path.join(tempDir(), 'nested.json');
    writeFileSync(file, JSON.stringify(nested, null, 2));
    const c = await candidateArrays(file);
    assert.deepEqual(c.map((x) => [formatJsonPath(x.path), x.elements, x.objects]), [['$.meta.tags', 2, 0], ['$.data.rows', 4, 3]]);
  });

  test('records come from the chosen path; an element that is not an object is set aside with its index', async () => {
    const file = path.join(tempDir(), 'nested.json');
    writeFileSync(file, JSON.stringify(nested));
    const { records, skipped } = await readAll((o) => readJsonArray(file, ['data', 'rows'], o));
    assert.deepEqual(records.map((r) => r.value), [nested.data.rows[0], nested.data.rows[1], nested.data.rows[3]]);
    assert.deepEqual(records.map((r) => r.row), [1, 2, 4]);
    assert.match(skipped[0].reason, /^nested\.json record 3 of \$\.data\.rows: a number, not an object/);
  });

  test('a top-level array split across read chunks is read element by element', async () => {
    const file = path.join(tempDir(), 'array.json');
    const rows = Array.from({ length: 3000 }, (_, i) => ({ text: `record ${i} ${'ü'.repeat(i % 700)}`, n: i }));
    writeFileSync(file, JSON.stringify(rows));
    const { records } = await readAll((o) => readJsonArray(file, [], o));
    assert.deepEqual(records.map((r) => r.value), rows);
  });

  test('a JSON file cut short names the file and line', async () => {
    const file = path.join(tempDir(), 'cut.json');
    writeFileSync(file, '[\n{"text": "a"},\n{"text": "b"');
    await assert.rejects(readAll((o) => readJsonArray(file, [], o)), /^ImportError: cut\.json line 3: not valid JSON: the file ends before the JSON does/);
  });

  test('JSONL: a broken line is set aside with its line number, the rest are read', async () => {
    const file = path.join(tempDir(), 'data.jsonl');
    writeFileSync(file, '{"text": "a"}\n{"text": "b"\n\n[1]\n{"text": "c"}\n');
    const { records, skipped } = await readAll((o) => readJsonl(file, o));
    assert.deepEqual(records.map((r) => [r.row, r.value.text]), [[1, 'a'], [5, 'c']]);
    assert.deepEqual(skipped.map((s) => s.row), [2, 4]);
    assert.match(skipped[0].reason, /^data\.jsonl line 2: not valid JSON/);
  });
});

describe('Parquet and Arrow', () => {
  test('Parquet in the datasets library layout: every row group, int64 as numbers, the "huggingface" metadata readable', async () => {
    const file = path.join(tempDir(), 'train.parquet');
    writePairsParquet(file);
    const info = await parquetInfo(file);
    assert.deepEqual([info.rows, info.rowGroups, info.columns], [25, 3, ['instruction', 'response', 'id']]);
    assert.equal(info.keyValue.huggingface, HF_FEATURES);
    const { records } = await readAll((o) => readParquet(file, o));
    assert.deepEqual(records.map((r) => r.value), PAIRS);
    assert.deepEqual(records.map((r) => r.row), PAIRS.map((_, i) => i + 1));
  });

  test('a truncated Parquet file is named with what to do', async () => {
    const file = path.join(tempDir(), 'cut.parquet');
    writePairsParquet(file);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await assert.rejects(readAll((o) => readParquet(file, o)), /^ImportError: cut\.parquet: not a readable Parquet file .*cut short.*download or copy it again/);
  });

  test('a Parquet file damaged inside a row group names the row group and its rows', async () => {
    const file = path.join(tempDir(), 'damaged.parquet');
    writePairsParquet(file);
    const bytes = readFileSync(file);
    bytes.fill(0xff, 4, 200); // the first row group's pages; the footer stays readable
    writeFileSync(file, bytes);
    await assert.rejects(readAll((o) => readParquet(file, o)), /^ImportError: damaged\.parquet row group 1 \(rows 1-10\): cannot be read/);
  });

  test('Arrow IPC stream (as the datasets cache stores it) and IPC file give the same records', async () => {
    const dir = tempDir();
    writePairsArrowStream(path.join(dir, 'pairs-train.arrow'));
    writePairsArrowFile(path.join(dir, 'pairs.feather'));
    for (const f of ['pairs-train.arrow', 'pairs.feather']) {
      const { records } = await readAll((o) => readArrow(path.join(dir, f), o));
      assert.deepEqual(records.map((r) => r.value), PAIRS, f);
    }
  });

  test('the Hugging Face caches list each dataset split with its shards and row count', async () => {
    const roots = writeHfCaches(tempDir());
    const entries = await listHfCache(roots);
    assert.deepEqual(entries.map((e) => [e.dataset, e.config, e.split, e.format, e.files.length, e.rows]), [
      ['tuner/pairs', 'default', 'train', 'arrow', 1, 25],
      ['tuner/pairs-hub', 'default', 'test', 'parquet', 1, 25],
      ['tuner/pairs-hub', 'default', 'train', 'parquet', 2, 50],
    ]);
  });
});

describe('documents', () => {
  test('Markdown splits at headings, not inside code fences', () => {
    assert.deepEqual(markdownSections('Intro\n# One\nbody\n```\n# not a heading\n```\n## Two\nmore\n'), ['Intro', '# One\nbody\n```\n# not a heading\n```', '## Two\nmore']);
  });

  test('a folder of text, Markdown, HTML, DOCX and PDF: one record per section (per page for PDF), source kept', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'a.md'), '# Alpha\nFirst.\n# Beta\nSecond.\n');
    writeFileSync(path.join(dir, 'b.html'), '<html><head><style>p{}</style></head><body><nav>menu</nav><h1>Gamma</h1><p>Third <a href="http://x">link</a>.</p><h2>Delta</h2><p>Fourth.</p></body></html>');
    writeFileSync(path.join(dir, 'c.txt'), 'Plain text file.');
    await writeDocx(path.join(dir, 'd.docx'));
    await writePdf(path.join(dir, 'e.pdf'), ['Page one text.', 'Page two text.']);
    const { records, skipped } = await readAll((o) => readDocuments(dir, 'section', o));
    assert.deepEqual(skipped, []);
    assert.deepEqual(records.map((r) => [r.value.source, r.row, r.value.text]), [
      ['a.md', 1, '# Alpha\nFirst.'], ['a.md', 2, '# Beta\nSecond.'],
      ['b.html', 1, '# Gamma\n\nThird link.'], ['b.html', 2, '## Delta\n\nFourth.'],
      ['c.txt', 1, 'Plain text file.'],
      ['d.docx', 1, '# Adapters\n\nLoRA trains two small matrices beside each frozen weight.'], ['d.docx', 2, '# Quantisation\n\nQLoRA keeps the base weights in four bits.'],
      ['e.pdf', 1, 'Page one text.'], ['e.pdf', 2, 'Page two text.'],
    ]);
    const whole = await readAll((o) => readDocuments(dir, 'file', o));
    assert.equal(whole.records.length, 5);
  });

  test('a password-protected PDF gives a clear message naming the file', async () => {
    // Fixture: a pdf-lib PDF encrypted with `qpdf --encrypt secret secret 256 -- plain.pdf password-protected.pdf` (test/fixtures/workbench/README.md).
    await assert.rejects(readAll((o) => readDocuments(path.join(FIXTURE_DIR, 'password-protected.pdf'), 'file', o)), /^ImportError: password-protected\.pdf: the PDF is protected by a password.*unprotected copy/);
  });
});

describe('mapping', () => {
  test('the format and the columns are guessed from the names', () => {
    assert.equal(guessFormat(['Instruction', 'Input', 'Output']), 'alpaca');
    assert.equal(guessFormat(['prompt', 'chosen', 'rejected']), 'preference');
    assert.equal(guessFormat(['conversations']), 'sharegpt');
    assert.equal(guessFormat(['prompt', 'response']), 'input-output');
    assert.equal(guessFormat(['content']), 'text');
    assert.deepEqual(guessMapping('input-output', ['prompt', 'response', 'id']), { input: 'prompt', output: 'response' });
    assert.deepEqual(guessMapping('alpaca', ['question', 'context', 'answer']), { instruction: 'question', input: 'context', output: 'answer' });
    assert.deepEqual(guessMapping('messages', ['system_prompt', 'question', 'answer']), { system: 'system_prompt', user: 'question', assistant: 'answer' });
    assert.deepEqual(guessMapping('text', ['body']), { text: 'body' });
  });

  test('chat records from role columns or from a turn list in the other layout; bookkeeping columns travel along', () => {
    assert.deepEqual(mapRecord({ q: 'Hi', a: 'Hello', id: 3 }, { format: 'messages', fields: { user: 'q', assistant: 'a' } }), { record: { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }], id: 3 } });
    assert.deepEqual(mapRecord({ c: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Yo' }] }, { format: 'messages', fields: { messages: 'c' } }), { record: { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }] } });
  });

  test('a record that cannot fill the format says which field and column', () => {
    assert.deepEqual(mapRecord({ q: 'Hi', a: '' }, { format: 'input-output', fields: { input: 'q', output: 'a' } }), { reason: 'output (column "a") is empty' });
    assert.deepEqual(mapRecord({ q: 'Hi', a: { x: 1 } }, { format: 'input-output', fields: { input: 'q', output: 'a' } }), { reason: 'column "a" (output) is a object, not text' });
    assert.deepEqual(mapRecord({ q: 'Hi' }, { format: 'input-output', fields: { input: 'q' } }), { reason: 'no column is mapped to output, or it is missing' });
  });
});

describe('a whole import', () => {
  test('CSV -> alpaca JSONL beside the source: linter-clean, source unchanged, broken row in the side file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'pairs.csv');
    writeFileSync(file, CSV);
    const source = { kind: sourceKindOf(file)!, path: file };
    assert.equal(source.kind, 'csv');
    const sample = await sampleSource(source);
    const plan = proposePlan(sample, 'alpaca');
    assert.deepEqual(plan.fields, { instruction: 'instruction', output: 'response' });
    assert.equal(previewLines(sample, plan)[0], '{"instruction":"Say \\"hi\\"","output":"Hello!","id":"1"}');
    const progress: number[] = [];
    const summary = await runImport(source, plan, { onProgress: (f) => progress.push(f) });
    assert.equal(readFileSync(file, 'utf8'), CSV);
    assert.equal(summary.output, path.join(dir, 'pairs.alpaca.jsonl'));
    assert.deepEqual([summary.recordsIn, summary.recordsOut, summary.skipped], [4, 3, 1]);
    const text = readFileSync(summary.output, 'utf8');
    const lint = lintText(text);
    assert.equal(lint.format, 'alpaca');
    assert.deepEqual(lint.problems.filter((p) => p.severity === 'error'), []);
    assert.equal(lint.records, 3);
    const side = readFileSync(summary.skippedFile!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SetAsideRecord);
    assert.deepEqual(side.map((s) => [s.file, s.row]), [['pairs.csv', 4]]);
    assert.equal(progress[progress.length - 1], 1);
    assert.deepEqual(readdirSync(dir).sort(), ['pairs.alpaca.jsonl', 'pairs.alpaca.skipped.jsonl', 'pairs.csv'], 'no temp file left behind');
  });

  test('Parquet -> messages, then a re-import with nothing set aside removes the stale side file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'train.parquet');
    writePairsParquet(file);
    const source = { kind: sourceKindOf(file)!, path: file };
    const sample = await sampleSource(source, 5);
    const plan = proposePlan(sample, 'messages');
    writeFileSync(path.join(dir, 'train.messages.skipped.jsonl'), '{}\n');
    const summary = await runImport(source, plan);
    assert.deepEqual([summary.recordsOut, summary.skipped, summary.skippedFile], [25, 0, undefined]);
    const first = JSON.parse(readFileSync(summary.output, 'utf8').split('\n')[0]) as unknown;
    assert.deepEqual(first, { messages: [{ role: 'user', content: PAIRS[0].instruction }, { role: 'assistant', content: PAIRS[0].response }], id: 1 });
    assert.equal(existsSync(path.join(dir, 'train.messages.skipped.jsonl')), false);
  });

  test('a cancelled import leaves neither output nor temp file', async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'src'));
    const file = path.join(dir, 'src', 'train.parquet');
    writePairsParquet(file, 5);
    const ac = new AbortController();
    await assert.rejects(runImport({ kind: 'parquet', path: file }, { format: 'text', fields: { text: 'instruction' } }, { signal: ac.signal, onProgress: () => ac.abort() }), { name: 'AbortError' });
    assert.deepEqual(readdirSync(path.join(dir, 'src')), ['train.parquet']);
  });

  test('an HF cache entry imports all its shards, rows numbered per shard', async () => {
    const roots = writeHfCaches(tempDir());
    const entry = (await listHfCache(roots)).find((e) => e.split === 'train' && e.format === 'parquet')!;
    const out = path.join(tempDir(), 'out.jsonl');
    copyFileSync(entry.files[0], path.join(path.dirname(out), 'unrelated.parquet'));
    const summary = await runImport({ kind: 'hf-cache', path: entry.files[0], hfEntry: entry }, { format: 'input-output', fields: { input: 'instruction', output: 'response' } }, { output: out });
    assert.equal(summary.recordsOut, 50);
  });
});
