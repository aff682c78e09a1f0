// Each cleaning step's text operation on small real text: what it changes and what it must leave alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectLanguage, dropLines, htmlToText, normalizeText, redactPii, repeatedNgramRatio, replaceIdentity, symbolRatio } from '../../../src/core/workbench/clean/text-steps';
import { mapRecordText, recordSource, recordTexts } from '../../../src/core/workbench/clean/record-text';

test('normalisation: NFC, invisible characters, odd spaces, runs of spaces, blank lines; indentation kept', () => {
  assert.equal(normalizeText('Cafe\u0301  au\u00a0lait\u200b '), 'Café au lait');
  assert.equal(normalizeText('a\r\nb\n\n\n\nc'), 'a\nb\n\nc');
  assert.equal(normalizeText('def f():\n    return  1   \n'), 'def f():\n    return 1');
  assert.equal(normalizeText('\ufeffhello\u0007'), 'hello');
});

test('HTML to text: tags, entities, lists and links; plain text untouched', () => {
  assert.equal(htmlToText('<p>Hello <b>world</b> &amp; friends</p><ul><li>one</li><li>two</li></ul>'), 'Hello world & friends\n\n * one\n * two');
  assert.equal(htmlToText('See <a href="https://example.com">the docs</a>.<script>alert(1)</script>'), 'See the docs.');
  const plain = 'if a < b and c > d then swap';
  assert.equal(htmlToText(plain), plain, 'comparison signs are not markup');
});

test('boilerplate: only chosen lines of multi-line texts go; a text of nothing but repeated lines stays', () => {
  const footer = 'Copyright 2024 Example Corp. All rights reserved.';
  const isFooter = (k: string) => k === footer.toLowerCase();
  assert.deepEqual(dropLines(`Answer text here.\n\n${footer}`, isFooter), { text: 'Answer text here.', removed: 1 });
  assert.deepEqual(dropLines(footer, isFooter), { text: footer, removed: 0 }, 'a single-line text is never boilerplate');
  assert.deepEqual(dropLines(`${footer}\n${footer}`, isFooter), { text: `${footer}\n${footer}`, removed: 0 });
});

test('identity: LMTuner [MODEL NAME] and its spellings become the name', () => {
  assert.deepEqual(replaceIdentity('I am [MODEL NAME]. Call me [MODEL_NAME] or <MODEL_NAME>.', 'Tuner'), { text: 'I am Tuner. Call me Tuner or Tuner.', replaced: 3 });
  assert.deepEqual(replaceIdentity('No placeholder', 'Tuner'), { text: 'No placeholder', replaced: 0 });
});

test('personal data: e-mails, phone numbers and URLs become placeholders; numbers that are not phones stay', () => {
  const all = { email: true, phone: true, url: true };
  const r = redactPii('Write to jane.doe+ml@mail.example.co.uk, call +1 (415) 555-0100 or 030 1234 5678, see https://example.com/a?b=1. Also www.example.org!', all);
  assert.equal(r.text, 'Write to <EMAIL>, call <PHONE> or <PHONE>, see <URL>. Also <URL>!');
  assert.deepEqual(r.counts, { email: 1, phone: 2, url: 2 });
  const keep = 'In 2024 it cost $1,250.50 for 3 GPUs; version 1.2.3; id 123456789012; 12:30-14:00.';
  assert.equal(redactPii(keep, all).text, keep);
  assert.equal(redactPii('mail a@b.io at https://x.io', { email: true, phone: false, url: false }).text, 'mail <EMAIL> at https://x.io');
});

test('repetition and symbol ratios', () => {
  assert.equal(repeatedNgramRatio('the cat sat on the mat', 3), 0);
  assert.ok(repeatedNgramRatio('buy now buy now buy now buy now buy now', 2) > 0.7);
  assert.equal(repeatedNgramRatio('too short', 3), 0);
  assert.equal(symbolRatio('Hello, world! (A test.)'), 0);
  assert.ok(symbolRatio('#### |||| ==== {{{{') > 0.9);
  assert.ok(symbolRatio('x = {"a": 1}') > 0.3);
});

test('language: franc-min on real sentences; too short to tell is "und"', () => {
  assert.equal(detectLanguage('The quick brown fox jumps over the lazy dog while the farmer watches from the porch.'), 'eng');
  assert.equal(detectLanguage('Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer von der Veranda zusieht.'), 'deu');
  assert.equal(detectLanguage('Hi'), 'und');
});

test('record text: only trained strings are rewritten, per format', () => {
  const up = (s: string) => s.toUpperCase();
  assert.deepEqual(mapRecordText({ id: 'x', instruction: 'a', input: 'b', output: 'c', metadata: { k: 'v' } }, 'alpaca', up), { id: 'x', instruction: 'A', input: 'B', output: 'C', metadata: { k: 'v' } });
  assert.deepEqual(mapRecordText({ messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'f' }] }, 'messages', up), { messages: [{ role: 'user', content: 'HI' }], tools: [{ name: 'f' }] });
  assert.deepEqual(mapRecordText({ conversations: [{ from: 'human', value: 'hi' }] }, 'sharegpt', up), { conversations: [{ from: 'human', value: 'HI' }] });
  assert.deepEqual(recordTexts({ prompt: [{ role: 'user', content: 'p' }], chosen: 'c', rejected: 'r' }, 'preference'), ['p', 'c', 'r']);
  assert.equal(recordSource({ source: 'wiki' }), 'wiki');
  assert.equal(recordSource({ metadata: { source: 'forum' } }), 'forum');
  assert.equal(recordSource({ text: 'x' }), '');
});
