// The broken-file corpus: every file under test/fixtures/jsonl is linted from bytes, from
// decoded text and streamed in tiny chunks; the diagnostics must equal the reviewed
// expectations in <name>.expected.json, and nothing may throw.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { lintBytes, lintText, type LintOptions } from '../../../src/core/dataset/lint';
import { lintFile } from '../../../src/core/dataset/stream-lint';
import { FORMAT_IDS } from '../../../src/core/dataset/formats';
import { FIXTURES, brief } from './helpers';

interface Expected {
  format: string;
  records: number;
  lines: number;
  problems: string[];
}

const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.jsonl')).sort();

function optionsFor(base: string): LintOptions {
  const f = path.join(FIXTURES, `${base}.options.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as LintOptions) : {};
}

test('the corpus has at least 30 broken files, each with expectations', () => {
  assert.ok(files.length >= 30, `only ${files.length} fixtures`);
  for (const f of files) assert.ok(existsSync(path.join(FIXTURES, f.replace(/\.jsonl$/, '.expected.json'))), `${f} has no .expected.json`);
});

for (const file of files) {
  const base = file.replace(/\.jsonl$/, '');
  const bytes = readFileSync(path.join(FIXTURES, file));
  const options = optionsFor(base);
  const expected = JSON.parse(readFileSync(path.join(FIXTURES, `${base}.expected.json`), 'utf8')) as Expected;

  test(`corpus ${file}: diagnostics from bytes match the expectations`, () => {
    const r = lintBytes(bytes, options);
    const got = r.problems.map((p) => `${p.code} ${p.severity} ${p.range.line}:${p.range.col}-${p.range.endLine}:${p.range.endCol}`);
    assert.deepEqual(got, expected.problems);
    assert.equal(r.format, expected.format);
    assert.equal(r.records, expected.records);
    assert.equal(r.lines, expected.lines);
    for (const p of r.problems) assert.ok(p.message.length > 10, `empty message for ${p.code}`);
  });

  test(`corpus ${file}: editor text gives the same diagnostics, invalid UTF-8 included (as U+FFFD)`, () => {
    const text = new TextDecoder().decode(bytes.subarray(0)); // strips a BOM like an editor
    const withBom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
    const r = lintText(withBom ? '\uFEFF' + text : text, options);
    assert.deepEqual(r.problems.map(brief), lintBytes(bytes, options).problems.map(brief));
  });

  test(`corpus ${file}: streaming in 7-byte chunks gives the same diagnostics`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tuner-corpus-'));
    try {
      const p = path.join(dir, file);
      writeFileSync(p, bytes);
      const streamed = lintFile(p, options, undefined, 7).problems;
      const whole = lintBytes(bytes, options).problems;
      // Whole-document checks (a JSON array file) need the whole file; streaming reports per line.
      if (whole.some((x) => x.code === 'TUN110')) {
        assert.ok(streamed.length > 0);
        return;
      }
      assert.deepEqual(streamed.map(brief), whole.map(brief));
      assert.deepEqual(streamed.map((x) => x.message), whole.map((x) => x.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`corpus ${file}: no option combination throws`, () => {
    const variants: LintOptions[] = [
      { nearDuplicates: true, placeholders: ['[MODEL NAME]'], maxRecordChars: 10, maxProblems: 3 },
      { privacy: false, html: false, severities: { 'invalid-json': 'off', TUN203: 'hint' } },
      ...FORMAT_IDS.map((format) => ({ format })),
    ];
    for (const v of variants) {
      lintBytes(bytes, v);
      lintText(bytes.toString('utf8'), v);
    }
  });
}

test('a 10 MB single-line record is linted (too long) without throwing', () => {
  const big = JSON.stringify({ text: 'word '.repeat(2_000_000) });
  assert.ok(big.length > 10_000_000);
  const r = lintText(big + '\n');
  assert.deepEqual(r.problems.map(brief), [`TUN403 0:0-0:${big.length}`]);
  assert.equal(r.records, 1);
});

test('a 10 MB single line cut off in the middle is one invalid-JSON error at its end', () => {
  const big = JSON.stringify({ text: 'word '.repeat(2_000_000) }).slice(0, 10_000_001);
  const r = lintText(big, { maxRecordChars: 20_000_000 });
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].code, 'TUN101');
  assert.equal(r.problems[0].range.endCol, big.length);
  assert.match(r.problems[0].message, /cut off/);
});

test('a 10 MB single line streamed from disk in 1 MB chunks matches the in-memory result', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tuner-big-'));
  try {
    const line = JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'ü'.repeat(5_000_000) }] });
    const p = path.join(dir, 'big.jsonl');
    writeFileSync(p, `${line}\n{"text": "after"}\n${line}\n`);
    const streamed = lintFile(p, {}, undefined, 1 << 20);
    const whole = lintBytes(readFileSync(p));
    assert.deepEqual(streamed.problems.map(brief), whole.problems.map(brief));
    assert.ok(streamed.problems.some((x) => x.code === 'TUN401' && x.range.line === 2), 'duplicate of the 10 MB line found');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
