// Format knowledge: detection per format, mapping to the neutral conversation, and lossless
// conversion (offered only when nothing the model trains on would change).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FORMATS, FORMAT_IDS, detectRecordFormat, fromConversation, toConversation, type FormatId } from '../../../src/core/dataset/formats';
import { convertDocumentEdits, convertRecord, lintText } from '../../../src/core/dataset/lint';
import { applyEdits } from './helpers';

const SAMPLES: Record<FormatId, Record<string, unknown>> = {
  'input-output': { input: 'What is LoRA?', output: 'Low-rank adapters.' },
  'question-answer': { question: 'What is LoRA?', answer: 'Low-rank adapters.' },
  alpaca: { instruction: 'What is LoRA?', input: '', output: 'Low-rank adapters.' },
  messages: { messages: [{ role: 'user', content: 'What is LoRA?' }, { role: 'assistant', content: 'Low-rank adapters.' }] },
  sharegpt: { conversations: [{ from: 'human', value: 'What is LoRA?' }, { from: 'gpt', value: 'Low-rank adapters.' }] },
  text: { text: 'LoRA trains low-rank adapters.' },
  preference: { prompt: 'What is LoRA?', chosen: 'Low-rank adapters.', rejected: 'A kind of radio.' },
};

test('every format has an example that lints clean and is detected as itself', () => {
  assert.deepEqual([...FORMAT_IDS].sort(), Object.keys(SAMPLES).sort());
  for (const f of FORMATS) {
    const rec = JSON.parse(f.example) as Record<string, unknown>;
    assert.equal(detectRecordFormat(rec), f.id, f.id);
    const r = lintText(f.example + '\n');
    assert.deepEqual(r.problems, [], `${f.id}: ${JSON.stringify(r.problems)}`);
    assert.equal(r.format, f.id);
  }
});

test('detection follows the most specific key', () => {
  assert.equal(detectRecordFormat({ instruction: 'x', input: 'y', output: 'z' }), 'alpaca');
  assert.equal(detectRecordFormat({ input: '', output: 'z' }), 'input-output');
  assert.equal(detectRecordFormat({ prompt: 'p', chosen: 'c', rejected: 'r' }), 'preference');
  assert.equal(detectRecordFormat({ answer: 'only an answer' }), 'question-answer');
  assert.equal(detectRecordFormat({ conversations: [] }), 'sharegpt');
  assert.equal(detectRecordFormat({ completion: 'x' }), undefined);
});

test('every sample maps to one user turn and one assistant turn', () => {
  for (const id of FORMAT_IDS) {
    const conv = toConversation(SAMPLES[id], id);
    assert.ok(conv, id);
    if (id === 'text') {
      assert.deepEqual(conv, { turns: [{ role: 'assistant', content: 'LoRA trains low-rank adapters.' }], pretraining: true });
      continue;
    }
    assert.deepEqual(conv.turns.map((t) => t.role), ['user', 'assistant'], id);
    assert.equal(conv.turns[0].content, 'What is LoRA?');
  }
});

test('input "" in input/output means pretraining text, convertible to text and back', () => {
  const rec = { input: '', output: 'Raw corpus text.' };
  assert.equal(toConversation(rec, 'input-output')?.pretraining, true);
  assert.deepEqual(convertRecord(rec, 'input-output', 'text'), { text: 'Raw corpus text.' });
  assert.deepEqual(convertRecord({ text: 'Raw corpus text.' }, 'text', 'input-output'), rec);
  assert.equal(convertRecord(rec, 'input-output', 'messages'), undefined, 'pretraining text is not a chat');
});

test('single-exchange formats convert among each other losslessly', () => {
  const chatty: FormatId[] = ['input-output', 'question-answer', 'alpaca', 'messages', 'sharegpt'];
  for (const from of chatty) {
    for (const to of chatty) {
      const out = convertRecord(SAMPLES[from], from, to);
      assert.ok(out !== undefined, `${from} -> ${to}`);
      assert.equal(detectRecordFormat(out as Record<string, unknown>), to);
      assert.deepEqual(toConversation(out, to)?.turns, toConversation(SAMPLES[from], from)?.turns, `${from} -> ${to}`);
    }
  }
});

test('conversions that would lose something are refused', () => {
  const multi = { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }] };
  assert.equal(convertRecord(multi, 'messages', 'question-answer'), undefined, 'multi-turn into one pair');
  assert.ok(convertRecord(multi, 'messages', 'sharegpt'));
  const withTools = { messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b', tool_calls: [] }] };
  assert.equal(convertRecord(withTools, 'messages', 'sharegpt'), undefined, 'tool calls would be dropped');
  assert.equal(convertRecord({ ...SAMPLES['input-output'], score: 1 }, 'input-output', 'question-answer'), undefined, 'unknown field');
  assert.equal(convertRecord(SAMPLES.preference, 'preference', 'messages'), undefined, 'the rejected answer would be dropped');
  assert.equal(convertRecord({ instruction: 'Sum up', input: 'long text', output: 'short' }, 'alpaca', 'input-output')
    ? 'converted' : 'refused', 'converted', 'instruction + input join into one prompt');
});

test('bookkeeping fields (id, metadata) are carried over', () => {
  const out = convertRecord({ ...SAMPLES['question-answer'], id: 'r1', metadata: { src: 'x' } }, 'question-answer', 'messages') as Record<string, unknown>;
  assert.equal(out.id, 'r1');
  assert.deepEqual(out.metadata, { src: 'x' });
});

test('system prompts survive alpaca, sharegpt and messages round trips', () => {
  const sys = { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] };
  const alpaca = convertRecord(sys, 'messages', 'alpaca');
  assert.deepEqual(alpaca, { instruction: 'Hi', input: '', output: 'Hello', system: 'Be brief.' });
  const share = convertRecord(sys, 'messages', 'sharegpt');
  assert.deepEqual(share, { system: 'Be brief.', conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello' }] });
  assert.deepEqual(convertRecord(share, 'sharegpt', 'messages'), sys);
  assert.equal(convertRecord(sys, 'messages', 'question-answer'), undefined, 'question/answer has no system prompt');
});

test('preference pairs with a message-list prompt convert back to the same pair', () => {
  const conv = toConversation({ prompt: [{ role: 'user', content: 'p' }], chosen: 'c', rejected: 'r' }, 'preference');
  assert.ok(conv);
  assert.deepEqual(fromConversation(conv, 'preference'), { prompt: 'p', chosen: 'c', rejected: 'r' });
});

test('convertDocumentEdits converts only the lines that can be, and the result lints as one format', () => {
  const text = [
    JSON.stringify(SAMPLES['question-answer']),
    JSON.stringify(SAMPLES.alpaca),
    '{"broken": ',
    JSON.stringify(SAMPLES.messages),
    JSON.stringify(SAMPLES.preference),
  ].join('\n') + '\n';
  const edits = convertDocumentEdits(text, 'messages');
  assert.equal(edits.length, 2);
  const out = applyEdits(text, edits);
  const r = lintText(out);
  assert.equal(r.formatCounts.messages, 3);
  assert.equal(r.formatCounts.preference, 1);
  assert.ok(out.includes('{"broken": '), 'invalid lines are left alone');
});
