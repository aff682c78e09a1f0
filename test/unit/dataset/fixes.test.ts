// Quick fixes: each offered edit, applied as the editor would, must remove the problem it is
// for without touching other records.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintBytes, lintText } from '../../../src/core/dataset/lint';
import { applyEdits, codes } from './helpers';

function fixOnce(text: string, code: string, options = {}): string {
  const p = lintText(text, options).problems.find((x) => x.code === code);
  assert.ok(p, `no ${code} in ${JSON.stringify(lintText(text, options).problems)}`);
  assert.ok(p.fixes?.length, `${code} has no fix`);
  return applyEdits(text, p.fixes[0].edits);
}

test('trailing comma fix removes only the comma', () => {
  const out = fixOnce('{"input": "a, b,", "output": "c",}\n', 'TUN103');
  assert.equal(out, '{"input": "a, b,", "output": "c"}\n');
  assert.deepEqual(lintText(out).problems, []);
});

test('trailing commas in nested arrays are all removed by one fix', () => {
  const out = fixOnce('{"messages": [{"role": "user", "content": "a",}, {"role": "assistant", "content": "b"},],}\n', 'TUN103');
  assert.deepEqual(lintText(out).problems, []);
});

test('smart quotes fix requotes keys and values but not quotes inside strings', () => {
  const text = '{\u201cquestion\u201d: \u201cWhat is \\"LoRA\\"?\u201d, \u201canswer\u201d: \u201cAn adapter\u201d}\n';
  const out = fixOnce(text, 'TUN104');
  assert.deepEqual(JSON.parse(out), { question: 'What is "LoRA"?', answer: 'An adapter' });
});

test('single quotes fix is offered when the result is valid JSON', () => {
  const out = fixOnce("{'text': 'hello'}\n", 'TUN101');
  assert.deepEqual(JSON.parse(out), { text: 'hello' });
});

test('no repair is offered where the intent is unclear', () => {
  const r = lintText('{"text": "a" "b"}\n');
  assert.equal(r.problems[0].code, 'TUN101');
  assert.equal(r.problems[0].fixes, undefined);
});

test('remove duplicate deletes the later line, also when it is the last line without a newline', () => {
  const a = '{"text": "same"}';
  assert.equal(fixOnce(`${a}\n{"text": "x"}\n${a}\n`, 'TUN401'), `${a}\n{"text": "x"}\n`);
  assert.equal(fixOnce(`${a}\n{"text": "x"}\n${a}`, 'TUN401'), `${a}\n{"text": "x"}`);
});

test('blank line and whitespace fixes', () => {
  assert.equal(fixOnce('{"text": "a"}\n\n{"text": "b"}\n', 'TUN108'), '{"text": "a"}\n{"text": "b"}\n');
  assert.equal(fixOnce('  {"text": "a"}  \n', 'TUN109'), '{"text": "a"}\n');
});

test('mixed-format fix converts the record to the dominant format', () => {
  const text = '{"question": "q1", "answer": "a1"}\n{"question": "q2", "answer": "a2"}\n{"messages": [{"role": "user", "content": "q3"}, {"role": "assistant", "content": "a3"}]}\n';
  const out = fixOnce(text, 'TUN202');
  assert.equal(out.split('\n')[2], '{"question":"q3","answer":"a3"}');
  assert.deepEqual(lintText(out).problems, []);
});

test('line ending fix normalises to the majority', () => {
  const bytes = Buffer.from('{"text": "a"}\r\n{"text": "b"}\n{"text": "c"}\r\n');
  const r = lintBytes(bytes);
  const p = r.problems.find((x) => x.code === 'TUN107');
  assert.ok(p?.fixes);
  assert.equal(applyEdits(bytes.toString(), p.fixes[0].edits), '{"text": "a"}\r\n{"text": "b"}\r\n{"text": "c"}\r\n');
});

test('BOM fix removes the mark', () => {
  const text = '\uFEFF{"text": "a"}\n';
  const out = fixOnce(text, 'TUN106');
  assert.equal(out, '{"text": "a"}\n');
});

test('a JSON array file converts to JSON lines', () => {
  const text = '[\n  {"text": "a"},\n  {"text": "b"}\n]\n';
  const out = fixOnce(text, 'TUN110');
  assert.equal(out, '{"text":"a"}\n{"text":"b"}\n');
  assert.deepEqual(codes(lintText(out).problems), []);
});

test('an array of records on one line splits into lines', () => {
  const out = fixOnce('[{"text": "a"}, {"text": "b"}]\n', 'TUN102');
  assert.equal(out, '{"text":"a"}\n{"text":"b"}\n');
});

test('no record is dropped or rewritten without a visible edit: lint never mutates its input', () => {
  const text = '{"text": "a"}\n{"text": "a"}\n{bad\n';
  const copy = text.slice();
  lintText(text, { nearDuplicates: true });
  assert.equal(text, copy);
});
