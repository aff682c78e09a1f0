// LOMO updates each weight during backward, so an ARGS.json that asks it to accumulate
// gradients is an error on its line, with the fix, as the trainer would refuse it.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateArgsText } from '../../../src/core/args/validate';

test('lomo with gradient_accumulation above 1 is an error with a quick fix to 1', () => {
  const text = JSON.stringify({ model: './m', data: './d.jsonl', method: 'lomo', optimizer: 'sgd', gradient_accumulation: 4 }, null, 2);
  const problems = validateArgsText(text).problems.filter((p) => /accumulate/.test(p.message));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].severity, 'error');
  assert.match(problems[0].message, /method "lomo" updates every weight during backward/);
  assert.equal(problems[0].fixes?.[0].edits[0].newText, '1');
  assert.equal(text.split('\n')[problems[0].range.line].slice(problems[0].range.col, problems[0].range.endCol), '4');
  for (const ok of [{ method: 'lomo', gradient_accumulation: 1 }, { method: 'full', gradient_accumulation: 4 }]) {
    assert.deepEqual(validateArgsText(JSON.stringify({ model: './m', data: './d.jsonl', optimizer: 'sgd', ...ok })).problems.filter((p) => /accumulate/.test(p.message)), []);
  }
});
