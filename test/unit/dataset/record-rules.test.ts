// Rules for what JSON.parse accepts silently or a trainer cannot use: duplicate keys, deep
// nesting, role order by what trains, identical preference pairs, escaped control characters,
// built-in placeholders with ARGS.json's model_name, privacy at information severity, and the
// dominant format of a mixed file.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintText } from '../../../src/core/dataset/lint';
import { applyEdits, brief } from './helpers';

const only = (text: string, code: string, options = {}) => lintText(text + '\n', options).problems.filter((p) => p.code === code);

test('TUN207: the second occurrence of a key, also in a nested object, with the path in the message', () => {
  const line = '{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "c"}]}';
  const [p] = only(line, 'TUN207');
  const second = line.lastIndexOf('"content": "b"');
  assert.deepEqual([p.range.col, p.range.endCol], [second, second + 9]);
  assert.match(p.message, /"messages" → \[0\]/);
  assert.equal(p.severity, 'warning');
  assert.equal(only('{"text": "a", "te\\u0078t": "b"}', 'TUN207').length, 1, 'an escaped spelling is the same key');
  assert.equal(only('{"a": {"x": 1}, "b": {"x": 1}}', 'TUN207').length, 0, 'equal keys in different objects are fine');
});

test('TUN208: nesting beyond 64 levels in any field, reported at the field', () => {
  const deep = (n: number) => `{"text": "a", "meta": ${'['.repeat(n)}${']'.repeat(n)}}`;
  assert.equal(only(deep(63), 'TUN208').length, 0);
  const [p] = only(deep(64), 'TUN208');
  assert.equal(deep(64).slice(p.range.col, p.range.endCol), '"meta"');
});

test('TUN302 two user turns is a warning, TUN303 no assistant turn at all an error, TUN305 a last user turn a warning', () => {
  const msgs = (...roles: string[]) => JSON.stringify({ messages: roles.map((role, i) => ({ role, content: `t${i}` })) });
  assert.deepEqual(lintText(msgs('user', 'user', 'assistant')).problems.map((p) => `${p.code} ${p.severity}`), ['TUN302 warning']);
  assert.deepEqual(lintText(msgs('system', 'user')).problems.map((p) => `${p.code} ${p.severity}`), ['TUN303 error']);
  assert.deepEqual(lintText(msgs('user', 'assistant', 'user')).problems.map((p) => `${p.code} ${p.severity}`), ['TUN305 warning']);
});

test('TUN404: chosen equal to rejected, as text or as turns', () => {
  assert.equal(only('{"prompt": "p", "chosen": "same", "rejected": "same"}', 'TUN404').length, 1);
  const turns = [{ role: 'assistant', content: 'x' }];
  assert.equal(only(JSON.stringify({ prompt: 'p', chosen: turns, rejected: turns }), 'TUN404').length, 1);
  assert.equal(only('{"prompt": "p", "chosen": "good", "rejected": "bad"}', 'TUN404').length, 0);
});

test('TUN505: escaped control characters, a colour code removed whole by its fix; \\n and \\\\u001b are not', () => {
  const line = '{"text": "\\u001b[31mred\\u001b[0m and \\u0000 and \\f"}';
  const ps = only(line, 'TUN505');
  assert.deepEqual(ps.map((p) => line.slice(p.range.col, p.range.endCol)), ['\\u001b[31m', '\\u001b[0m', '\\u0000', '\\f']);
  let fixed = line;
  for (const p of [...ps].reverse()) fixed = applyEdits(fixed, p.fixes![0].edits);
  assert.equal(JSON.parse(fixed).text, 'red and  and ');
  assert.equal(only('{"text": "a\\nb\\tc \\\\u001b"}', 'TUN505').length, 0);
});

test('TUN501/TUN506: [MODEL NAME] and {{…}} by default; with model_name a hint whose fix writes the name, JSON-escaped', () => {
  const line = '{"question": "Who are you?", "answer": "I am [MODEL NAME]. Ask {{user}}."}';
  assert.deepEqual(lintText(line).problems.map((p) => `${p.code} ${p.severity}`), ['TUN501 warning', 'TUN501 warning']);
  const named = lintText(line, { modelName: 'Pip "2"' }).problems;
  assert.deepEqual(named.map((p) => `${p.code} ${p.severity}`), ['TUN506 hint', 'TUN501 warning']);
  assert.equal(JSON.parse(applyEdits(line, named[0].fixes![0].edits)).answer, 'I am Pip "2". Ask {{user}}.');
});

test('TUN503 privacy findings are information (shown in the Problems panel), not hints', () => {
  assert.deepEqual(only('{"text": "write to ann@example.org"}', 'TUN503').map((p) => p.severity), ['info']);
});

test('a mixed file has the dominant format; the minority records are reported', () => {
  const r = lintText(['{"text": "a"}', '{"text": "b"}', '{"question": "q", "answer": "a"}'].join('\n'));
  assert.equal(r.format, 'text');
  assert.deepEqual(r.problems.map(brief), ['TUN202 2:0-2:32']);
});

test('messages never nest parentheses', () => {
  const r = lintText('{"instruction": "x"}\n{"instruction": "x", "output": 5}\n', { format: 'alpaca' });
  for (const p of r.problems) assert.doesNotMatch(p.message, /\([^()]*\(/, p.message);
  assert.ok(r.problems.some((p) => /a JSON string/.test(p.message)));
});
