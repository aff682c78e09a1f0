// Stage "dpo" in ARGS.json: a valid preference-tuning file passes and plans a DPO run; packing
// with DPO is an error on its line (the trainer scores each answer alone); pref_beta without
// stage dpo is a warning that it is ignored.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveArgs } from '../../../src/core/args/fields';
import { argsToRunPlan } from '../../../src/core/args/run-plan';
import { ARGS_CODES, validateArgsText } from '../../../src/core/args/validate';

const base = { model: './m', data: './prefs.jsonl' };
const paths = { modelDir: '/m', trainDataDir: '/d/train', outputDir: '/o' };

test('stage dpo with pref_beta is valid and becomes the plan\'s stage and beta (0.1 by default)', () => {
  const check = validateArgsText(JSON.stringify({ ...base, stage: 'dpo', pref_beta: 0.05, method: 'lora', learning_rate: 5e-6 }, null, 2));
  assert.deepEqual(check.problems, []);
  const plan = argsToRunPlan(resolveArgs(check.args!), paths);
  assert.equal(plan.stage, 'dpo');
  assert.equal(plan.pref_beta, 0.05);
  const dflt = argsToRunPlan(resolveArgs({ ...base, stage: 'dpo' }), paths);
  assert.equal(dflt.pref_beta, 0.1);
  const sft = argsToRunPlan(resolveArgs(base), paths);
  assert.equal(sft.stage, undefined, 'an SFT plan is written as before');
});

test('packing with stage dpo is an error on "packing"; pref_beta without dpo is ignored with a warning', () => {
  const text = JSON.stringify({ ...base, stage: 'dpo', packing: true }, null, 2);
  const packed = validateArgsText(text).problems.filter((p) => p.code === ARGS_CODES.conflict);
  assert.equal(packed.length, 1);
  assert.equal(packed[0].severity, 'error');
  assert.match(packed[0].message, /stage "dpo" scores each answer as a sequence of its own: set "packing" to false/);
  assert.match(text.split('\n')[packed[0].range.line], /"packing"/);
  const ignored = validateArgsText(JSON.stringify({ ...base, pref_beta: 0.2 })).problems;
  assert.deepEqual(ignored.map((p) => [p.severity, p.code]), [['warning', ARGS_CODES.ignored]]);
  assert.match(ignored[0].message, /"pref_beta" is ignored unless "stage" is "dpo"/);
  assert.deepEqual(validateArgsText(JSON.stringify({ ...base, stage: 'dpo', pref_beta: 0 })).problems.map((p) => p.code), [ARGS_CODES.outOfRange]);
});
