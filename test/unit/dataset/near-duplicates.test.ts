// Near-duplicates: whitespace and case are normalised inside every field (escapes decoded),
// anything else that differs keeps records apart, and a hash match is confirmed by the text.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lintText } from '../../../src/core/dataset/lint';
import { NearDuplicateIndex, nearDuplicateSketch, nearDuplicateText } from '../../../src/core/dataset/near-duplicates';

const near = (a: object | string, b: object | string): boolean => {
  const lines = [a, b].map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  return lintText(lines.join('\n') + '\n').problems.some((p) => p.code === 'TUN402');
};

test('whitespace runs and case inside a field, and around it, are normalised', () => {
  assert.ok(near({ text: 'Hello  World, said the model' }, { text: ' hello\tworld,   SAID the\nmodel ' }));
  assert.ok(near({ question: 'What is   LoRA?', answer: 'A low-rank\u00a0adapter.' }, { question: 'what is lora?', answer: 'a low-rank adapter.' }));
  assert.ok(near('{"text": "caf\\u00e9 au lait"}', '{"text":"CAFÉ  au\\nlait"}'), 'escapes are decoded before comparing');
  assert.ok(near({ text: 'Ünïcode ΣΊΣΥΦΟΣ' }, { text: 'ünïcode σίσυφοσ' }));
});

test('different words, punctuation, numbers or field names are not near-duplicates', () => {
  assert.ok(!near({ text: 'Hello world' }, { text: 'Hello world!' }));
  assert.ok(!near({ text: 'a b' }, { text: 'ab' }));
  assert.ok(!near({ question: 'a', answer: 'b' }, { question: 'a b', answer: '' }));
  assert.ok(!near({ question: 'x', answer: 'y', n: 1 }, { question: 'x', answer: 'y', n: 2 }));
  assert.ok(!near({ instruction: 'x', output: 'y' }, { input: 'x', output: 'y' }));
});

test('equal normalised text gives equal sketches (so no near-duplicate is missed)', () => {
  const pairs = [['{"t": "  Hello\\n\\tWORLD  "}', '{"t":"hello world"}'], ['{"t": "x\\u0041\\"y\\\\"}', '{"t": "xa\\"Y\\\\"}']];
  for (const [a, b] of pairs) {
    assert.equal(nearDuplicateText(a), nearDuplicateText(b), `${a} ~ ${b}`);
    assert.equal(nearDuplicateSketch(a), nearDuplicateSketch(b), `${a} ~ ${b}`);
  }
});

test('a full-hash collision is not a near-duplicate: the normalised texts are compared', () => {
  const index = new NearDuplicateIndex(undefined, () => 1);
  const lines = ['{"text": "Hello  world"}', '{"text": "Hello  world"} ', '{"text": "hello world"}', '{"text": "other"}'];
  // The second line has the same sketch as the first and the same (forced) hash: a real near-duplicate.
  assert.deepEqual(lines.map((l, i) => index.check(l, i, -1, l.length)), [undefined, 0, 0, undefined]);
  const colliding = new NearDuplicateIndex(undefined, () => 1);
  // Same sketch (same first and last letters) and a forced full-hash collision, different middle.
  const a = '{"text": "abcdefgh one ijklmnop"}', b = '{"text": "abcdefgh two ijklmnop"}';
  assert.equal(nearDuplicateSketch(a), nearDuplicateSketch(b));
  assert.deepEqual([colliding.check(a, 0, -1, a.length), colliding.check(b, 1, -1, b.length)], [undefined, undefined]);
});
