// ARGS.json precision -> the run plan: bf16 reaches tuner-train, fp32 is its default (left out),
// fp16 is refused naming the field, since the CPU engine does not compute in it.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { argsToRunPlan, UnsupportedArgsError } from '../../../src/core/args/run-plan';

const paths = { modelDir: '/m', trainDataDir: '/d', outputDir: '/o' };
const base: Args = { model: 'm', data: 'd' };

describe('run plan: precision', () => {
  it('bf16 is passed on, fp32 is the trainer default and left out', () => {
    assert.equal(argsToRunPlan(resolveArgs({ ...base, precision: 'bf16' }), paths).precision, 'bf16');
    assert.equal(argsToRunPlan(resolveArgs({ ...base, precision: 'fp32' }), paths).precision, undefined);
    assert.equal(argsToRunPlan(resolveArgs({ ...base, method: 'full', precision: 'bf16' }), paths).precision, 'bf16');
  });

  it('fp16 is refused at the precision field, with bf16 as the alternative', () => {
    assert.throws(() => argsToRunPlan(resolveArgs({ ...base, precision: 'fp16' }), paths), (e: unknown) => {
      assert.ok(e instanceof UnsupportedArgsError);
      assert.equal(e.field, 'precision');
      assert.match(e.message, /"bf16"/);
      return true;
    });
  });
});
