// ARGS.json's rope_scaling: every value becomes the config.json object the trainer reads in the
// run plan (ntk_by_parts as YaRN without its attention factor, xpos with torchscale's scale base),
// "none" leaves the model's own; LMTuner's spellings convert; xpos needs no factor.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveArgs } from '../../../src/core/args/fields';
import { lmtunerKey } from '../../../src/core/args/lmtuner';
import { argsToRunPlan, ropeScalingPlan } from '../../../src/core/args/run-plan';
import { validateArgsText } from '../../../src/core/args/validate';

test('each rope_scaling value is the config.json object the trainer reads', () => {
  const plan = (rope_scaling: string, rope_scaling_factor = 4) => ropeScalingPlan({ rope_scaling, rope_scaling_factor } as never);
  assert.equal(plan('none'), undefined);
  assert.deepEqual(plan('linear'), { rope_type: 'linear', factor: 4 });
  assert.deepEqual(plan('dynamic'), { rope_type: 'dynamic', factor: 4 });
  assert.deepEqual(plan('yarn'), { rope_type: 'yarn', factor: 4 });
  assert.deepEqual(plan('ntk_by_parts'), { rope_type: 'yarn', factor: 4, attention_factor: 1 });
  assert.deepEqual(plan('llama3', 8), { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 });
  assert.deepEqual(plan('xpos'), { rope_type: 'xpos', scale_base: 512 });
  const paths = { modelDir: 'm', trainDataDir: 'd', outputDir: 'o' };
  assert.deepEqual(argsToRunPlan(resolveArgs({ model: 'm', data: 'd.jsonl', rope_scaling: 'xpos' }), paths).rope_scaling, { rope_type: 'xpos', scale_base: 512 });
  assert.equal(argsToRunPlan(resolveArgs({ model: 'm', data: 'd.jsonl' }), paths).rope_scaling, undefined);
});

test('LMTuner\'s rope scaling names convert, and xpos asks for no factor', () => {
  const convert = lmtunerKey('rope scaling')!.convert!;
  assert.equal(convert('xPos'), 'xpos');
  assert.equal(convert('NTK-by-parts'), 'ntk_by_parts');
  assert.equal(convert('NTK'), 'dynamic');
  assert.equal(convert('False'), 'none');
  const warns = (rope: string) => validateArgsText(JSON.stringify({ model: './m', data: './d.jsonl', rope_scaling: rope })).problems.filter((p) => /rope_scaling_factor/.test(p.message));
  assert.equal(warns('xpos').length, 0);
  assert.equal(warns('ntk_by_parts').length, 1);
});
