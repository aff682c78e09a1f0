// Stop strings over streamed pieces: a stop string split across pieces is found, its beginning
// is held back (never shown) until it either completes or cannot, and the shown text plus the
// final flush is always the text cut before the first stop string.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { StopStringMatcher } from '../../../src/core/infer/stop-strings';

/** Feeds the pieces; returns what each push showed, the stop, and the shown text + flush. */
function run(stops: string[], pieces: string[]): { shown: string[]; stop: string | null; text: string; stoppedAt: number } {
  const m = new StopStringMatcher(stops);
  const shown: string[] = [];
  let stop: string | null = null;
  let stoppedAt = -1;
  for (const [i, p] of pieces.entries()) {
    const r = m.push(p);
    shown.push(r.text);
    if (r.stop !== null) {
      stop = r.stop;
      stoppedAt = i;
      break;
    }
  }
  return { shown, stop, text: shown.join('') + m.flush(), stoppedAt };
}

/** What the output must be: the whole text cut before the earliest stop string. */
function expected(stops: string[], text: string): string {
  let cut = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  return text.slice(0, cut);
}

describe('stop strings', () => {
  it('a stop string inside one piece cuts it there', () => {
    const r = run(['###'], ['Hello', ' world###more', 'ignored']);
    assert.deepEqual(r.shown, ['Hello', ' world']);
    assert.equal(r.stop, '###');
    assert.equal(r.text, 'Hello world');
  });

  it('a stop string across pieces is held back, never shown', () => {
    const r = run(['\nUser:'], ['Sure.', '\n', 'Us', 'er', ': next']);
    assert.deepEqual(r.shown, ['Sure.', '', '', '', '']);
    assert.equal(r.stop, '\nUser:');
    assert.equal(r.text, 'Sure.');
  });

  it('held text is released once it cannot become a stop string', () => {
    const r = run(['\nUser:'], ['a', '\nUs', 'ing it', '\n']);
    assert.deepEqual(r.shown, ['a', '', '\nUsing it', '']);
    assert.equal(r.stop, null);
    assert.equal(r.text, 'a\nUsing it\n', 'a held "\\n" at the end comes back at flush');
  });

  it('several stop strings: the earliest in the text wins, whichever completes', () => {
    assert.equal(run(['END', 'STOP'], ['xx ST', 'OP END']).stop, 'STOP');
    assert.equal(run(['END', 'STOP'], ['xx EN', 'D STOP']).stop, 'END');
    // "bc" completes inside "abc" while "abcd" is still pending: it ends generation.
    const r = run(['abcd', 'bc'], ['a', 'b', 'c', 'd']);
    assert.equal(r.stop, 'bc');
    assert.equal(r.text, 'a');
  });

  it('overlapping stop strings: a failed long match still finds a shorter one inside it', () => {
    // "aab" fails at the second "a" of "aaab" only if the matcher forgets to re-scan held text.
    const r = run(['aab'], ['a', 'a', 'a', 'b', 'z']);
    assert.equal(r.stop, 'aab');
    assert.equal(r.text, 'a');
    // The held prefix of one stop string can be the prefix of another.
    const r2 = run(['<end>', '<eot>'], ['x<e', 'o', 't>']);
    assert.equal(r2.stop, '<eot>');
    assert.equal(r2.text, 'x');
  });

  it('a stop string made of a multi-byte character', () => {
    const r = run(['👋'], ['hi ', '👋', 'there']);
    assert.equal(r.text, 'hi ');
    assert.equal(r.stop, '👋');
  });

  it('no stop strings: everything passes at once', () => {
    const m = new StopStringMatcher([]);
    assert.deepEqual(m.push('abc'), { text: 'abc', stop: null });
    assert.equal(m.flush(), '');
  });

  it('rejects an empty stop string (it would match everywhere)', () => {
    assert.throws(() => new StopStringMatcher(['ok', '']), RangeError);
  });

  it('property: for random texts split at random, the output is the text cut before the first stop', () => {
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ['a', 'b', '\n', 'U', ':', '😀', ' '];
    const stopSets = [['ab'], ['\nU:', 'ba'], ['aaa', 'aab', 'b😀'], ['😀😀', ' :']];
    for (let trial = 0; trial < 500; trial++) {
      const stops = stopSets[trial % stopSets.length];
      let text = '';
      for (let i = rand(30); i > 0; i--) text += alphabet[rand(alphabet.length)];
      const pieces: string[] = [];
      for (let at = 0; at < text.length; ) {
        // Split between code points only: pieces come from a detokenizer, which never splits a character.
        let n = 1 + rand(4);
        while (at + n < text.length && /[\uDC00-\uDFFF]/.test(text[at + n])) n++;
        pieces.push(text.slice(at, at + n));
        at += n;
      }
      const r = run(stops, pieces);
      assert.equal(r.text, expected(stops, text), `stops ${JSON.stringify(stops)} pieces ${JSON.stringify(pieces)}`);
      assert.equal(r.stop !== null, r.text.length < text.length || stops.some((s) => text.includes(s)));
      // Nothing shown ever contains a stop string.
      for (const s of stops) assert.ok(!r.shown.join('').includes(s));
    }
  });
});
