import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ARGS_FIELD_NAMES, fieldDef, type Args } from '../../../src/core/args/fields';
import { argsJsonSchema, argsJsonSchemaText } from '../../../src/core/args/schema';

const ROOT = path.join(__dirname, '..', '..', '..', '..');

describe('ARGS.json schema', () => {
  it('schemas/args.schema.json is generated from the field table (run npm run gen:args-schema)', () => {
    assert.equal(fs.readFileSync(path.join(ROOT, 'schemas', 'args.schema.json'), 'utf8'), argsJsonSchemaText());
  });

  it('is contributed to VS Code for every ARGS.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const entry = (pkg.contributes.jsonValidation ?? []).find((j: { url: string }) => j.url === './schemas/args.schema.json');
    assert.ok(entry, 'package.json contributes.jsonValidation lacks ./schemas/args.schema.json');
    assert.ok(([] as string[]).concat(entry.fileMatch).includes('**/ARGS.json'));
  });

  it('has one property per field, with the field\'s default and enum', () => {
    const s = argsJsonSchema() as { properties: Record<string, { default?: unknown; enum?: unknown[] }>; required: string[]; additionalProperties: boolean };
    assert.deepEqual(Object.keys(s.properties), ARGS_FIELD_NAMES);
    assert.equal(s.additionalProperties, false);
    assert.deepEqual(s.required, ['model', 'data']);
    for (const name of ARGS_FIELD_NAMES) {
      const def = fieldDef(name);
      assert.deepEqual(s.properties[name].default, def.default, name);
      if (def.kind === 'enum') assert.deepEqual(s.properties[name].enum, def.values, name);
    }
  });

  it('docs/args.md documents every field', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'args.md'), 'utf8');
    for (const name of ARGS_FIELD_NAMES) assert.ok(doc.includes(`| \`${name}\` |`), `docs/args.md lacks a row for ${name}`);
  });

  it('the TypeScript type follows the table', () => {
    // Compile-time checks: these assignments fail to compile if the derived type drifts.
    const a: Args = { model: 'm', data: 'd', method: 'qlora', lora_rank: 8, resume_from: null, lora_target_modules: ['q_proj'] };
    // @ts-expect-error method must be one of the enum values
    const b: Args = { model: 'm', data: 'd', method: 'dora' };
    // @ts-expect-error data is required
    const c: Args = { model: 'm' };
    assert.ok(a && b && c);
  });
});

describe('the generated JSON Schema, checked by a JSON Schema validator (as VS Code does)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Ajv = require('ajv').default as new (o: object) => { compile(s: object): ((v: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params: Record<string, unknown> }[] } };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parse } = require('jsonc-parser') as { parse(t: string): unknown };
  const validate = new Ajv({ allErrors: true, strict: true }).compile(argsJsonSchema());
  const dir = path.join(ROOT, 'test', 'fixtures', 'args', 'valid');

  for (const file of fs.readdirSync(dir)) {
    it(`accepts ${file}`, () => {
      assert.ok(validate(parse(fs.readFileSync(path.join(dir, file), 'utf8'))), JSON.stringify(validate.errors));
    });
  }
  const BAD: [string, unknown, string][] = [
    ['unknown key', { model: 'm', data: 'd', colour: 1 }, 'must NOT have additional properties'],
    ['missing data', { model: 'm' }, "must have required property 'data'"],
    ['string number', { model: 'm', data: 'd', learning_rate: '1e-5' }, 'must be number'],
    ['bad enum', { model: 'm', data: 'd', method: 'LOMO' }, 'must be equal to one of the allowed values'],
    ['below minimum', { model: 'm', data: 'd', lora_rank: 0 }, 'must be >= 1'],
    ['LMTuner key', { model: 'm', data: 'd', 'learning rate': '1e-5' }, 'must NOT have additional properties'],
  ];
  for (const [name, value, message] of BAD) {
    it(`rejects ${name}: ${message}`, () => {
      assert.equal(validate(value), false);
      assert.ok(validate.errors!.some((e) => e.message === message), JSON.stringify(validate.errors));
    });
  }
});
