// One focused case per rule: the code, the exact range, and the option that controls it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintBytes, lintText } from '../../../src/core/dataset/lint';
import { brief, codes } from './helpers';

const msg = (turns: [string, string][]): string => JSON.stringify({ messages: turns.map(([role, content]) => ({ role, content })) });

test('TUN101 invalid-json points at the offending column', () => {
  const r = lintText('{"text": "a", "x": tru}\n');
  // Where JSON.parse stops: the '}' that cannot continue "tru".
  assert.deepEqual(r.problems.map(brief), ['TUN101 0:22-0:23']);
  assert.match(r.problems[0].message, /'tru' is not a JSON value/);
  assert.doesNotMatch(r.problems[0].message, /column/);
});

test('TUN102 not-object', () => {
  assert.deepEqual(codes(lintText('"text"\n').problems), ['TUN102']);
});

test('TUN105 invalid UTF-8 is reported at the right UTF-16 column after non-ASCII text', () => {
  const bytes = Buffer.concat([Buffer.from('{"text": "数据 '), Buffer.from([0xff]), Buffer.from('"}\n')]);
  const r = lintBytes(bytes);
  assert.deepEqual(r.problems.map(brief), ['TUN105 0:13-0:14']);
});

test('TUN201 unknown-format and TUN203 missing-field with a forced format', () => {
  assert.deepEqual(codes(lintText('{"prompt_text": "a"}\n').problems), ['TUN201']);
  const forced = lintText('{"prompt_text": "a"}\n', { format: 'question-answer' });
  assert.deepEqual(codes(forced.problems), ['TUN201', 'TUN203', 'TUN203', 'TUN204']);
});

test('TUN204 unexpected-field underlines the property name', () => {
  const line = '{"text": "a", "lang": "en"}';
  const r = lintText(line);
  assert.deepEqual(r.problems.map(brief), ['TUN204 0:14-0:20']);
  assert.equal(line.slice(14, 20), '"lang"');
});

test('TUN205 wrong-type underlines the value', () => {
  const r = lintText('{"question": "q", "answer": 42}');
  assert.deepEqual(r.problems.map(brief), ['TUN205 0:28-0:30']);
});

test('TUN206 empty-string, but input "" is allowed (pretraining)', () => {
  assert.deepEqual(codes(lintText('{"input": "", "output": "text"}').problems), []);
  assert.deepEqual(codes(lintText('{"input": "q", "output": " \\n "}').problems), ['TUN206']);
});

test('TUN301 unknown-role and TUN302 role order in OpenAI messages', () => {
  assert.deepEqual(codes(lintText(msg([['human', 'a'], ['assistant', 'b']])).problems), ['TUN301']);
  assert.deepEqual(codes(lintText(msg([['assistant', 'a'], ['user', 'b'], ['assistant', 'c']])).problems), ['TUN302']);
  assert.deepEqual(codes(lintText(msg([['user', 'a'], ['user', 'b'], ['assistant', 'c']])).problems), ['TUN302']);
  assert.deepEqual(codes(lintText(msg([['user', 'a'], ['tool', 'b'], ['assistant', 'c']])).problems), ['TUN302']);
  assert.deepEqual(codes(lintText(msg([['system', 's'], ['user', 'a'], ['assistant', 'c']])).problems), []);
});

test('tool results after an assistant tool call are in order, also several in a row', () => {
  const rec = { messages: [
    { role: 'user', content: 'Weather in Rome and Oslo?' },
    { role: 'assistant', content: null, tool_calls: [{ id: '1', type: 'function', function: { name: 'w', arguments: '{}' } }, { id: '2', type: 'function', function: { name: 'w', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: '1', content: 'sunny' },
    { role: 'tool', tool_call_id: '2', content: 'snow' },
    { role: 'assistant', content: 'Rome is sunny, Oslo snowy.' },
  ] };
  assert.deepEqual(lintText(JSON.stringify(rec)).problems, []);
});

test('TUN303 no-assistant-turn and TUN304 empty-conversation', () => {
  assert.deepEqual(codes(lintText(msg([['user', 'a']])).problems), ['TUN303']);
  assert.deepEqual(codes(lintText('{"messages": []}').problems), ['TUN304']);
});

test('ShareGPT function_call / observation order', () => {
  const ok = { conversations: [{ from: 'human', value: 'q' }, { from: 'function_call', value: '{}' }, { from: 'observation', value: 'r' }, { from: 'gpt', value: 'a' }] };
  assert.deepEqual(lintText(JSON.stringify(ok)).problems, []);
});

test('TUN401 duplicates are exact; TUN402 near-duplicates by default, off with the setting', () => {
  const text = '{"text": "Hello  World"}\n{"text": "hello world"}\n{"text": "Hello  World"}\n';
  assert.deepEqual(codes(lintText(text).problems), ['TUN402', 'TUN401']);
  assert.deepEqual(lintText(text, { nearDuplicates: false }).problems.map(brief), ['TUN401 2:0-2:24']);
});

test('duplicates are confirmed exactly: same fingerprint, different text is not a duplicate', () => {
  // Long lines equal at both ends and at the sampled positions but different elsewhere.
  const base = 'a'.repeat(5000);
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const chars = base.split('');
    chars[2501 + i * 3] = 'b';
    lines.push(JSON.stringify({ text: chars.join('') }));
  }
  lines.push(lines[7], lines[33]);
  const r = lintText(lines.join('\n') + '\n');
  assert.deepEqual(r.problems.map((p) => p.message), ['Duplicate record: the same as line 8.', 'Duplicate record: the same as line 34.']);
});

test('TUN403 record-too-long uses maxRecordChars', () => {
  const line = JSON.stringify({ text: 'x'.repeat(50) });
  assert.deepEqual(codes(lintText(line, { maxRecordChars: 40 }).problems), ['TUN403']);
  assert.deepEqual(codes(lintText(line).problems), []);
});

test('TUN501 [MODEL NAME] is found by default; listed placeholders too', () => {
  const line = JSON.stringify({ question: 'Who are you?', answer: 'I am [MODEL NAME], ask me FOO.' });
  const at = line.indexOf('[MODEL NAME]');
  assert.deepEqual(lintText(line).problems.map(brief), [`TUN501 0:${at}-0:${at + 12}`]);
  const foo = line.indexOf('FOO');
  assert.deepEqual(lintText(line, { placeholders: ['[MODEL NAME]', 'FOO'] }).problems.map(brief), [`TUN501 0:${at}-0:${at + 12}`, `TUN501 0:${foo}-0:${foo + 3}`]);
  assert.deepEqual(lintText(line, { severities: { placeholder: 'off' } }).problems, []);
});

test('TUN502 html and TUN503 privacy can be switched off', () => {
  const line = JSON.stringify({ text: '<div>mail a@b.org</div>' });
  assert.deepEqual(codes(lintText(line).problems), ['TUN502', 'TUN503', 'TUN502']);
  assert.deepEqual(codes(lintText(line, { html: false, privacy: false }).problems), []);
  assert.deepEqual(codes(lintText(JSON.stringify({ text: 'Year 2023, id 12345678, 3 < 4' })).problems), [], 'numbers and comparisons are not flagged');
});

test('TUN504 caps the problem list and says how many were left out', () => {
  const text = Array.from({ length: 50 }, () => '{bad').join('\n');
  const r = lintText(text, { maxProblems: 10 });
  assert.equal(r.problems.length, 11);
  assert.ok(r.problems.some((p) => p.code === 'TUN504' && /40 more/.test(p.message)));
  assert.equal(r.stats?.problemCounts.TUN101, 50);
});

test('TUN111 empty file, and a file of blank lines', () => {
  assert.deepEqual(codes(lintText('').problems), ['TUN111']);
  assert.deepEqual(codes(lintText('\n').problems), ['TUN108', 'TUN111']);
});

test('columns are UTF-16 units (surrogate pairs count two)', () => {
  const line = '{"text": "🙂🙂", "extra": 1}';
  const r = lintText(line);
  assert.deepEqual(r.problems.map(brief), [`TUN204 0:${line.indexOf('"extra"')}-0:${line.indexOf('"extra"') + 7}`]);
});

test('CRLF text: the CR is not part of the record and not an error', () => {
  assert.deepEqual(lintText('{"text": "a"}\r\n{"text": "b"}\r\n').problems, []);
});

test('TUN105 from the editor text alone: each U+FFFD where the bytes were bad, at the same column', () => {
  const bytes = Buffer.concat([Buffer.from('{"text": "caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"text": "ok 数 '), Buffer.from([0xf0, 0x9f]), Buffer.from('"}\n')]);
  const fromBytes = lintBytes(bytes).problems.map(brief);
  assert.deepEqual(fromBytes, ['TUN105 0:13-0:14', 'TUN105 1:15-1:16']);
  assert.deepEqual(lintText(new TextDecoder().decode(bytes)).problems.map(brief), fromBytes);
  // A U+FFFD stored in the file is what an earlier faulty decoding left: reported from bytes too.
  assert.deepEqual(lintBytes(Buffer.from('{"text": "caf\uFFFD"}\n')).problems.map(brief), ['TUN105 0:13-0:14']);
});
