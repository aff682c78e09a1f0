// The hand-off YAML is read by PyYAML (YAML 1.1): strings that 1.1 reads as booleans, numbers or
// null stay strings, and the values come back unchanged through another reader.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import * as jsYaml from 'js-yaml';
import { toYaml } from '../../../src/core/handoff/yaml';

test('strings YAML 1.1 would read as another type are quoted, and everything reads back the same', () => {
  const doc = { no: 'no', on: 'on', y: 'y', off: 'Off', sci: '1e3', tilde: '~', colon: 'a: #b', lr: 0.0002, flag: true, none: null, list: ['q_proj', 'yes'], nested: { empty: [] } };
  const text = toYaml(doc, ['Axolotl 0.18']);
  for (const word of ['no', 'on', 'y', 'Off', 'yes', '1e3', '~']) assert.match(text, new RegExp(`"${word}"`), `${word} is quoted:\n${text}`);
  assert.ok(text.startsWith('# Axolotl 0.18\n'));
  assert.deepEqual(jsYaml.load(text), doc);
});

test('a number that is not finite is refused, naming the key', () => {
  assert.throws(() => toYaml({ learning_rate: Number.NaN }), /learning_rate is NaN/);
});
