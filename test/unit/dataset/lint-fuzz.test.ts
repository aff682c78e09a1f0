// Property-based fuzzing of the linter (fast-check): on generated documents, made of records of
// every format, broken lines, random text and random bytes, with random options, the linter
// never throws, every range lies inside its line, and lint of the bytes, of the editor's text
// (decoded as VS Code does) and of the file streamed in small chunks agree. The case counts
// are stated in the test titles; TUNER_FUZZ_RUNS_SCALE multiplies them for a longer session.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { FORMAT_IDS } from '../../../src/core/dataset/formats';
import { lintBytes, lintText, type LintOptions, type LintResult } from '../../../src/core/dataset/lint';
import type { Problem } from '../../../src/core/dataset/problem';
import { RULES } from '../../../src/core/dataset/rules';
import { lintFile } from '../../../src/core/dataset/stream-lint';
import { brokenLine, fuzzParams, line, text } from './arbitraries';
import { brief } from './helpers';

export const FUZZ_RUNS = { text: 1500, bytes: 1500, stream: 150 };

const anyLine = fc.oneof(
  { weight: 5, arbitrary: line },
  { weight: 3, arbitrary: brokenLine },
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '\t', '[]', '[{"text": "a"}]', 'null', '"s"', '{"text": "x"} {"text": "y"}') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, '')) },
  { weight: 1, arbitrary: fc.nat({ max: 120 }).map((d) => `{"text": "deep", "meta": ${'['.repeat(d)}${']'.repeat(d)}}`) },
  { weight: 1, arbitrary: text.map((t) => JSON.stringify({ prompt: t, chosen: t, rejected: t, text: t, answer: t, answer2: t }).replace('"answer2"', '"answer"')) },
);

/** A document: lines joined by LF or CRLF, maybe a final line break, maybe a BOM. */
const documentText = fc.tuple(fc.array(fc.tuple(anyLine, fc.boolean()), { maxLength: 12 }), fc.boolean(), fc.boolean()).map(([lines, finalBreak, bom]) => {
  let s = lines.map(([l, crlf], i) => l + (i < lines.length - 1 || finalBreak ? (crlf ? '\r\n' : '\n') : '')).join('');
  if (bom) s = '\uFEFF' + s;
  return s;
});

const options: fc.Arbitrary<LintOptions> = fc.record({
  format: fc.constantFrom<LintOptions['format']>('auto', ...FORMAT_IDS),
  nearDuplicates: fc.boolean(),
  placeholders: fc.constantFrom([], ['[MODEL NAME]'], ['x', ''], ['{{name}}', 'FOO']),
  modelName: fc.constantFrom(undefined, 'Pip', 'a "quoted"\\ name'),
  maxRecordChars: fc.constantFrom(undefined, 5, 40, 32768),
  maxProblems: fc.constantFrom(undefined, 1, 3, 10000),
  privacy: fc.boolean(),
  html: fc.boolean(),
  severities: fc.constantFrom(undefined, { 'invalid-json': 'off' as const }, Object.fromEntries(RULES.map((r) => [r.code, 'hint' as const]))),
}, { requiredKeys: [] });

/** The lines as the linter and the editor see them: split at LF, a CR before it belongs to the break. */
function lineLengths(s: string): number[] {
  return s.split('\n').map((l) => (l.endsWith('\r') ? l.length - 1 : l.length));
}

function checkRanges(doc: string, r: LintResult): void {
  const lens = lineLengths(doc);
  const inside = (line: number, col: number, what: string): void => {
    assert.ok(line >= 0 && line < lens.length, `${what}: line ${line} of ${lens.length}`);
    assert.ok(col >= 0 && col <= lens[line], `${what}: column ${col} outside line ${line} of length ${lens[line]}`);
  };
  for (const p of r.problems) {
    const what = `${p.code} ${p.message}`;
    inside(p.range.line, p.range.col, what);
    inside(p.range.endLine, p.range.endCol, what);
    assert.ok(p.range.endLine > p.range.line || p.range.endCol >= p.range.col, `${what}: range ends before it starts`);
    // Quoted user content (a key named "(") is not the message's own wording.
    assert.ok(p.message.length > 10 && !/\([^()]*\(/.test(p.message.replace(/"(?:[^"\\]|\\.)*"/g, '""')), `${what}: empty message or nested parentheses`);
    assert.doesNotMatch(p.message, /\bcolumn \d/, `${what}: the range gives the column`);
    for (const f of p.fixes ?? []) {
      for (const e of f.edits) {
        inside(e.range.line, e.range.col, `${what}: fix ${f.title}`);
        // A deletion of the last line may end at the start of the line after it.
        if (!(e.range.endLine === lens.length && e.range.endCol === 0)) inside(e.range.endLine, e.range.endCol, `${what}: fix ${f.title}`);
      }
    }
  }
}

test(`fuzz: lintText never throws and every range lies inside its line (${FUZZ_RUNS.text} documents)`, () => {
  fc.assert(fc.property(documentText, options, (doc, opts) => {
    checkRanges(doc, lintText(doc, opts));
  }), fuzzParams(FUZZ_RUNS.text));
});

/** Bytes of a document with invalid UTF-8 put in at random places. */
const documentBytes = fc.tuple(documentText, fc.array(fc.tuple(fc.nat(), fc.constantFrom([0xe9], [0xff], [0xc3], [0xf0, 0x9f], [0xed, 0xa0, 0x80], [0x80, 0x80], [0xef, 0xbf, 0xbd])), { maxLength: 3 })).map(([doc, bad]) => {
  let bytes = Buffer.from(doc, 'utf8');
  for (const [at, seq] of bad) {
    const i = bytes.length ? at % bytes.length : 0;
    bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(seq), bytes.subarray(i)]);
  }
  return bytes;
});

/** What the editor holds for a file: the decoded text, its BOM kept as U+FEFF. */
function editorText(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  return bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? '\uFEFF' + text : text;
}

const sameMessages = (a: Problem[], b: Problem[]): void => {
  // Byte-only wording (the hex of bad bytes, "EF BB BF") differs; everything else is the same.
  const strip = (ps: Problem[]) => ps.filter((p) => p.code !== 'TUN105' && p.code !== 'TUN106').map((p) => `${brief(p)} ${p.message}`);
  assert.deepEqual(strip(a), strip(b));
};

test(`fuzz: lint of the bytes and of the editor's text agree, invalid UTF-8 included (${FUZZ_RUNS.bytes} documents)`, () => {
  fc.assert(fc.property(documentBytes, options, (bytes, opts) => {
    const fromBytes = lintBytes(bytes, opts);
    const text = editorText(bytes);
    const fromText = lintText(text, opts);
    checkRanges(text, fromBytes);
    assert.deepEqual(fromText.problems.map(brief), fromBytes.problems.map(brief));
    sameMessages(fromText.problems, fromBytes.problems);
    assert.deepEqual([fromText.format, fromText.records, fromText.lines], [fromBytes.format, fromBytes.records, fromBytes.lines]);
  }), fuzzParams(FUZZ_RUNS.bytes));
});

test(`fuzz: a file streamed in 7-byte chunks lints as its bytes do (${FUZZ_RUNS.stream} files)`, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'tuner-lint-fuzz-'));
  try {
    const file = path.join(dir, 'data.jsonl');
    fc.assert(fc.property(documentBytes, options, (bytes, opts) => {
      writeFileSync(file, bytes);
      const whole = lintBytes(bytes, opts);
      // A whole-file JSON document is recognised only when the file is read at once.
      if (whole.problems.some((p) => p.code === 'TUN110')) return;
      const streamed = lintFile(file, opts, undefined, 7);
      assert.deepEqual(streamed.problems.map((p) => `${brief(p)} ${p.message}`), whole.problems.map((p) => `${brief(p)} ${p.message}`));
    }), fuzzParams(FUZZ_RUNS.stream));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('named: nesting a million levels deep is linted without a stack overflow', () => {
  const deep = `{"text": "a", "meta": ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`;
  const r = lintText(`${deep}\n${deep}\n${deep.slice(0, -1)}\n`, { maxRecordChars: 10_000_000 });
  assert.deepEqual(r.problems.map((p) => p.code), ['TUN208', 'TUN208', 'TUN401', 'TUN101']);
});
