import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'jsonc-parser';

import { validateArgsText } from '../../../src/core/args/validate';
import { applyArgsOverrides, hasOverrides, writeArgsWithOverrides } from '../../../src/core/pipeline/args-overrides';

describe('ARGS.json overrides from the command line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-overrides-'));
  fs.mkdirSync(path.join(dir, 'model'));
  const argsFile = path.join(dir, 'ARGS.json');
  const text = `{
  // the user's comment stays
  "model": "./model",
  "data": "train.jsonl",
  "chat_template": "{{ messages }}",
  "epochs": 2,
  "output_dir": "./out"
}
`;

  it('makes the file\'s own paths absolute and keeps comments and inline templates', () => {
    const out = applyArgsOverrides(argsFile, text, {}, '/elsewhere');
    assert.match(out, /\/\/ the user's comment stays/);
    const args = parse(out) as Record<string, unknown>;
    assert.equal(args.model, path.join(dir, 'model'));
    assert.equal(args.data, path.join(dir, 'train.jsonl'));
    assert.equal(args.output_dir, path.join(dir, 'out'));
    assert.equal(args.chat_template, '{{ messages }}');
    assert.equal(args.epochs, 2);
  });

  it('resolves command-line paths against the working folder and steps replace epochs', () => {
    const out = applyArgsOverrides(argsFile, text, { data: 'mine.jsonl', method: 'full', steps: 30, modelName: 'Ada', threads: 1 }, '/work/here');
    const args = parse(out) as Record<string, unknown>;
    assert.equal(args.data, '/work/here/mine.jsonl');
    assert.equal(args.method, 'full');
    assert.equal(args.max_steps, 30);
    assert.equal('epochs' in args, false);
    assert.equal(args.model_name, 'Ada');
    assert.equal(args.threads, 1);
    assert.deepEqual(validateArgsText(out).problems.filter((p) => p.severity === 'error'), []);
  });

  it('keeps a model that is not a folder as given (a Hugging Face id in the cache)', () => {
    const args = parse(applyArgsOverrides(argsFile, text, { model: 'Qwen/Qwen2.5-0.5B' }, dir)) as Record<string, unknown>;
    assert.equal(args.model, 'Qwen/Qwen2.5-0.5B');
  });

  it('writes the copy into the run area and leaves the user\'s file alone', () => {
    fs.writeFileSync(argsFile, text);
    const copy = writeArgsWithOverrides(argsFile, { steps: 5 }, path.join(dir, 'runs', '.args'), dir);
    assert.equal(fs.readFileSync(argsFile, 'utf8'), text);
    assert.equal(path.dirname(copy), path.join(dir, 'runs', '.args'));
    assert.equal((parse(fs.readFileSync(copy, 'utf8')) as Record<string, unknown>).max_steps, 5);
  });

  it('refuses a file that is not a JSON object, naming it', () => {
    assert.throws(() => applyArgsOverrides(argsFile, '[1, 2', { steps: 1 }, dir), new RegExp(`${argsFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a valid JSON object`));
  });

  it('knows when there is nothing to override', () => {
    assert.equal(hasOverrides({}), false);
    assert.equal(hasOverrides({ threads: 0 }), true);
  });
});
