// Which thread lints a dataset: a file with a long line goes to the lint worker even when the
// file is small (the extension host's adapter asks hasLongLine before linting inline).
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasLongLine, LONG_LINE_CHARS } from '../../../src/core/dataset/lint-client';

const short = JSON.stringify({ text: 'x'.repeat(100) });
const long = JSON.stringify({ text: '@' + 'a'.repeat(LONG_LINE_CHARS) });

test('a small file with one long line needs the worker, as text and as bytes', () => {
  for (const text of [`${short}\n${long}\n${short}\n`, `${long}`, `${short}\r\n${long}`]) {
    assert.equal(hasLongLine(text), true);
    assert.equal(hasLongLine(Buffer.from(text)), true);
    assert.equal(hasLongLine(new Uint8Array(Buffer.from(`xx${text}`)).subarray(2)), true);
  }
});

test('short lines stay inline however many there are', () => {
  const text = `${short}\n`.repeat(2000);
  assert.ok(text.length > LONG_LINE_CHARS);
  assert.equal(hasLongLine(text), false);
  assert.equal(hasLongLine(Buffer.from(text)), false);
  assert.equal(hasLongLine('x'.repeat(LONG_LINE_CHARS)), false);
  assert.equal(hasLongLine('x'.repeat(LONG_LINE_CHARS + 1)), true);
});
