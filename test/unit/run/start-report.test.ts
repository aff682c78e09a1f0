// What Start says about the data: the lint summary by rule with line numbers (errors decide the
// question before training) and the preparation report, each dropped or cut record by line.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintText } from '../../../src/core/dataset/lint';
import type { PrepareReport } from '../../../src/core/dataset/prepare';
import { describePreparation, summarizeLint } from '../../../src/core/run/start-report';

const good = (i: number) => JSON.stringify({ input: `question ${i}`, output: `answer ${i}` });

test('the lint summary counts errors and warnings by rule, with their lines', () => {
  const text = [good(1), '{"input": "q", "output": "a",}', good(1), good(2), '{"input": "only a question"}', good(3)].join('\n') + '\n';
  const s = summarizeLint(lintText(text));
  assert.equal(s.errors, 2);
  assert.equal(s.warnings, 1);
  assert.equal(s.text, '2 errors (Trailing comma: line 2; Missing field: line 5), 1 warning (Duplicate record: line 3)');
  const clean = summarizeLint(lintText([good(1), good(2)].join('\n') + '\n'));
  assert.deepEqual(clean, { errors: 0, warnings: 0, text: 'no errors or warnings in 2 records' });
});

test('many lines of one rule: the first five, then how many more', () => {
  const lines = Array.from({ length: 9 }, () => 'not json');
  const s = summarizeLint(lintText([good(0), ...lines].join('\n') + '\n'));
  assert.equal(s.errors, 9);
  assert.match(s.text, /^9 errors \(Invalid JSON: lines 2, 3, 4, 5, 6 and 4 more\)$/);
});

test('the preparation report names each dropped and cut record by line', () => {
  const report = {
    records: 6, blankLines: 1, trainDocuments: 3, evalDocuments: 1, tokens: 123456,
    dropped: [{ line: 2, reason: 'record has a trailing comma' }, { line: 5, reason: 'no token to train on (empty answer?)' }],
    truncated: [{ line: 4, reason: '80 tokens, cut to 64' }],
  } as unknown as PrepareReport;
  assert.equal(describePreparation(report, 64),
    'Prepared 4 of 6 records (3 train, 1 eval, 123,456 tokens). Dropped 2 records: line 2 (record has a trailing comma); line 5 (no token to train on (empty answer?)). Cut 1 record to max_length 64: line 4. Skipped 1 blank line.');
});
