// Dataset statistics: counts per format, length buckets, duplicates and roles, and the
// Markdown view.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computeStats, statsToMarkdown } from '../../../src/core/dataset/stats';

const text = [
  JSON.stringify({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }),
  JSON.stringify({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }, { role: 'assistant', content: 'a' }] }),
  JSON.stringify({ instruction: 'i', output: 'o'.repeat(600) }),
  JSON.stringify({ text: 'x'.repeat(3000) }),
  '{broken',
].join('\n') + '\n';

test('computeStats counts formats, lengths, duplicates, roles and problems', () => {
  const s = computeStats(text);
  assert.equal(s.records, 4);
  assert.deepEqual(s.formatCounts, { alpaca: 1, messages: 2, text: 1 });
  assert.equal(s.duplicates, 1);
  assert.deepEqual(s.roleCounts, { system: 2, user: 3, assistant: 4 });
  const hist = Object.fromEntries(s.lengthHistogram.map((b) => [b.bucket, b.count]));
  assert.equal(s.lengthHistogram.reduce((a, b) => a + b.count, 0), 5, 'every non-blank line has a length');
  assert.equal(hist['< 128'], 3);
  assert.equal(hist['512–2k'], 1);
  assert.equal(hist['2k–8k'], 1);
  assert.equal(s.problemCounts.TUN101, 1);
  assert.equal(s.problemCounts.TUN401, 1);
  assert.equal(s.maxChars, JSON.stringify({ text: 'x'.repeat(3000) }).length);
});

test('near-duplicates are counted when enabled', () => {
  const s = computeStats('{"text": "A  b"}\n{"text": "a b"}\n', { nearDuplicates: true });
  assert.equal(s.nearDuplicates, 1);
  assert.equal(s.duplicates, 0);
});

test('statsToMarkdown renders every section with the numbers', () => {
  const md = statsToMarkdown(computeStats(text), 'data|set.jsonl');
  assert.match(md, /^# Dataset statistics: data\\\|set\.jsonl/);
  for (const h of ['## Formats', '## Record length', '## Duplicates', '## Turns per role', '## Problems']) assert.ok(md.includes(h), h);
  assert.match(md, /\| Chat messages \(OpenAI\) \| 2 \|/);
  assert.match(md, /Exact duplicates: 1/);
  assert.match(md, /\| TUN101 \| Invalid JSON \| 1 \|/);
  assert.match(md, /\| assistant \| 4 \|/);
});

test('statistics of an empty file', () => {
  const s = computeStats('');
  assert.equal(s.records, 0);
  assert.ok(statsToMarkdown(s, 'empty.jsonl').includes('(none recognised)'));
});

test('a record without its answer counts no assistant turn', () => {
  const s = computeStats([
    JSON.stringify({ input: 'q1', output: 'a1' }),
    JSON.stringify({ input: 'q2' }),
    JSON.stringify({ input: 'q3', output: '' }),
    JSON.stringify({ question: 'q4' }),
    JSON.stringify({ prompt: 'p', chosen: 'c', rejected: 'r' }),
  ].join('\n') + '\n');
  assert.deepEqual(s.roleCounts, { user: 5, assistant: 2 });
});
