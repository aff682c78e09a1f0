// Builds the JSON Schema of ARGS.json from the field table. schemas/args.schema.json is this
// function's output (scripts/gen-args-schema.mjs writes it; a unit test checks the file is
// current), so VS Code's completion and validation and our own validator never disagree.
import { ARGS_FIELD_NAMES, fieldDef, type FieldDef } from './fields';
import * as l10n from '@vscode/l10n';

export const ARGS_SCHEMA_ID = 'https://tuner.invalid/schemas/args.schema.json';

function fieldSchema(def: FieldDef): Record<string, unknown> {
  const s: Record<string, unknown> = {};
  switch (def.kind) {
    case 'string':
    case 'boolean':
    case 'number':
    case 'integer':
      s.type = def.nullable ? [def.kind, 'null'] : def.kind;
      break;
    case 'enum':
      s.type = def.nullable ? ['string', 'null'] : 'string';
      s.enum = def.nullable ? [...def.values, null] : [...def.values];
      break;
    case 'enum-array':
      s.type = 'array';
      s.items = { type: 'string', enum: [...def.values] };
      s.uniqueItems = true;
      s.minItems = 1;
      break;
    case 'string-array':
      s.type = 'array';
      s.items = { type: 'string', minLength: 1 };
      if (def.minItems !== undefined) s.minItems = def.minItems;
      if (def.maxItems !== undefined) s.maxItems = def.maxItems;
      break;
  }
  if (def.kind === 'number' || def.kind === 'integer') {
    if (def.minimum !== undefined) s.minimum = def.minimum;
    if (def.maximum !== undefined) s.maximum = def.maximum;
    if (def.kind === 'number' && def.exclusiveMinimum !== undefined) s.exclusiveMinimum = def.exclusiveMinimum;
  }
  s.description = def.description;
  if (def.default !== undefined) s.default = def.default;
  return s;
}

export function argsJsonSchema(): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const name of ARGS_FIELD_NAMES) {
    const def = fieldDef(name);
    properties[name] = fieldSchema(def);
    if (def.required) required.push(name);
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: ARGS_SCHEMA_ID,
    title: l10n.t('Tuner ARGS.json'),
    description: l10n.t('One fine-tuning run: model, data, method and hyper-parameters. See docs/args.md.'),
    type: 'object',
    properties,
    required,
    additionalProperties: false,
  };
}

/** The schema file's exact text (stable key order, two-space indent, final newline). */
export function argsJsonSchemaText(): string {
  return JSON.stringify(argsJsonSchema(), null, 2) + '\n';
}
