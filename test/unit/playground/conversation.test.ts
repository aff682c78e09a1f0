// The conversation each side is prompted with, and editing a turn.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chatMessages, editTurn, promptFor, type Exchange } from '../../../src/core/playground/conversation';
import { addToHistory, HISTORY_LIMIT, readHistory } from '../../../src/core/playground/history';
import { diffWords, MAX_CELLS, splitWords } from '../../../src/core/playground/word-diff';

const ex: Exchange[] = [
  { user: 'capital of france?', replies: ['paris', 'lyon'] },
  { user: 'and spain?', replies: [null, 'madrid'] },
  { user: 'and italy?', replies: [null, null] },
];

test('each side continues its own conversation; a turn it never answered keeps an empty reply slot', () => {
  assert.deepEqual(chatMessages('be brief', ex, 2, 0), [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'capital of france?' },
    { role: 'assistant', content: 'paris' },
    { role: 'user', content: 'and spain?' },
    { role: 'assistant', content: '' },
    { role: 'user', content: 'and italy?' },
  ]);
  assert.deepEqual(chatMessages('  ', ex, 1, 1).map((m) => m.content), ['capital of france?', 'lyon', 'and spain?']);
  assert.deepEqual(promptFor('text', 'ignored', ex, 0, 0, 'Once upon'), { type: 'text', text: 'Once upon' });
});

test('editing a turn drops the turns after it and clears its replies', () => {
  assert.deepEqual(editTurn(ex, 1, 'and portugal?'), [ex[0], { user: 'and portugal?', replies: [null, null] }]);
});

test('history: newest first, each prompt once, bounded, malformed entries dropped', () => {
  let h = readHistory([{ mode: 'chat', text: 'a', at: 1 }, { mode: 'bogus', text: 'x', at: 2 }, 'junk', { mode: 'text', text: 'b', at: 3 }]);
  assert.deepEqual(h.map((e) => e.text), ['a', 'b']);
  h = addToHistory(h, { mode: 'text', text: 'b', at: 4 });
  assert.deepEqual(h.map((e) => [e.text, e.at]), [['b', 4], ['a', 1]]);
  assert.equal(addToHistory(h, { mode: 'chat', text: '   ', at: 5 }).length, 2, 'blank prompts are not kept');
  for (let i = 0; i < 80; i++) h = addToHistory(h, { mode: 'chat', text: `p${i}`, at: i });
  assert.equal(h.length, HISTORY_LIMIT);
  assert.equal(h[0].text, 'p79');
  assert.deepEqual(readHistory('not a list'), []);
});

test('word diff marks what only one side said, whitespace never', () => {
  assert.deepEqual(splitWords('a  b\nc'), ['a  ', 'b\n', 'c']);
  const d = diffWords('the capital is paris .', 'the capital is rome .');
  assert.deepEqual(d.a, [{ text: 'the capital is ', changed: false }, { text: 'paris ', changed: true }, { text: '.', changed: false }]);
  assert.deepEqual(d.b, [{ text: 'the capital is ', changed: false }, { text: 'rome ', changed: true }, { text: '.', changed: false }]);
  const same = diffWords('same  words', 'same words');
  assert.ok(same.a.every((s) => !s.changed) && same.b.every((s) => !s.changed));
  const big = 'w '.repeat(Math.ceil(Math.sqrt(MAX_CELLS)) + 10);
  assert.ok(diffWords(big, `${big}x`).b.every((s) => !s.changed), 'too large: nothing marked, nothing stalls');
});
