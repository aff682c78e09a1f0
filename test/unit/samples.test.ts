// samples/: the example datasets lint clean in their formats, broken/ makes every lint rule
// fire (with the lint settings of samples/.vscode/settings.json, as the editor reads them when
// the folder is opened), and ARGS.json is valid for the schema and for Tuner's own checks.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'jsonc-parser';

import { validateArgsText } from '../../src/core/args/validate';
import { argsJsonSchema } from '../../src/core/args/schema';
import { lintBytes, type LintOptions } from '../../src/core/dataset/lint';
import { RULES } from '../../src/core/dataset/rules';

const ROOT = path.join(__dirname, '..', '..', '..');
const SAMPLES = path.join(ROOT, 'samples');

/** The lint options the editor derives from samples/.vscode/settings.json and samples/ARGS.json. */
function sampleLintOptions(): LintOptions {
  const s = parse(fs.readFileSync(path.join(SAMPLES, '.vscode', 'settings.json'), 'utf8')) as Record<string, unknown>;
  const args = parse(fs.readFileSync(path.join(SAMPLES, 'ARGS.json'), 'utf8')) as Record<string, unknown>;
  return {
    placeholders: s['tuner.lint.placeholders'] as string[],
    nearDuplicates: s['tuner.lint.nearDuplicates'] as boolean | undefined,
    maxRecordChars: s['tuner.lint.maxRecordChars'] as number,
    modelName: args.model_name as string,
  };
}

describe('samples/', () => {
  const GOOD: [string, string][] = [
    ['identity.jsonl', 'input-output'],
    ['questions.jsonl', 'question-answer'],
    ['messages.jsonl', 'messages'],
    ['preference.jsonl', 'preference'],
  ];
  for (const [file, format] of GOOD) {
    it(`${file} is ${format} with no problem above a hint`, () => {
      const r = lintBytes(fs.readFileSync(path.join(SAMPLES, file)), sampleLintOptions());
      assert.equal(r.format, format);
      assert.ok(r.records >= 10, `${r.records} records`);
      assert.deepEqual(r.problems.filter((p) => p.severity !== 'hint').map((p) => `${p.range.line + 1}: ${p.code} ${p.message}`), []);
    });
  }

  it('identity.jsonl names the model only through the [MODEL NAME] placeholder', () => {
    const lines = fs.readFileSync(path.join(SAMPLES, 'identity.jsonl'), 'utf8').trim().split('\n');
    const withName = lines.filter((l) => l.includes('[MODEL NAME]'));
    assert.ok(withName.length >= lines.length * 0.8, `${withName.length} of ${lines.length}`);
  });

  it('broken/ makes every lint rule fire, each file for the reason its name says', () => {
    const opts = sampleLintOptions();
    const fired = new Map<string, string[]>();
    for (const file of fs.readdirSync(path.join(SAMPLES, 'broken'))) {
      const r = lintBytes(fs.readFileSync(path.join(SAMPLES, 'broken', file)), opts);
      fired.set(file, [...new Set(r.problems.map((p) => p.code))]);
    }
    const all = new Set([...fired.values()].flat());
    assert.deepEqual(RULES.map((r) => r.code).filter((c) => !all.has(c)), [], 'rules that no sample shows');
    // broken.jsonl alone shows every rule a single file with records can show.
    const wholeFile = ['TUN110', 'TUN111', 'TUN504'];
    assert.deepEqual(RULES.map((r) => r.code).filter((c) => !wholeFile.includes(c) && !fired.get('broken.jsonl')!.includes(c)), []);
    assert.ok(fired.get('json-array.jsonl')!.includes('TUN110'));
    assert.ok(fired.get('empty.jsonl')!.includes('TUN111'));
    assert.ok(fired.get('too-many-problems.jsonl')!.includes('TUN504'));
  });

  it('ARGS.json passes the JSON schema and Tuner\'s checks', () => {
    const text = fs.readFileSync(path.join(SAMPLES, 'ARGS.json'), 'utf8');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require('ajv').default as new (o: object) => { compile(s: object): ((v: unknown) => boolean) & { errors?: unknown } };
    const validate = new Ajv({ allErrors: true, strict: true }).compile(argsJsonSchema());
    assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
    const check = validateArgsText(text);
    assert.deepEqual(check.problems.filter((p) => p.severity === 'error' || p.severity === 'warning').map((p) => `${p.code} ${p.message}`), []);
    const args = check.args!;
    assert.ok(fs.existsSync(path.join(SAMPLES, args.model, 'config.json')), `${args.model} is the starter model folder`);
    assert.ok(fs.existsSync(path.join(SAMPLES, args.data!)));
    assert.equal(args.method, 'lora');
  });
});
