// ARGS.json device -> the run plan: auto is tuner-train's default (left out), cpu and cuda are
// passed on for the trainer to decide (it refuses cuda it cannot use, test/native/trainer-device),
// and the local trainer's answer for each device.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { localTrainerRefuses } from '../../../src/core/args/engine-support';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { argsToRunPlan } from '../../../src/core/args/run-plan';

const paths = { modelDir: '/m', trainDataDir: '/d', outputDir: '/o' };
const base: Args = { model: 'm', data: 'd' };

describe('run plan: device', () => {
  it('auto is the trainer default and left out; cpu and cuda reach tuner-train', () => {
    assert.equal(argsToRunPlan(resolveArgs({ ...base }), paths).device, undefined);
    assert.equal(argsToRunPlan(resolveArgs({ ...base, device: 'auto' }), paths).device, undefined);
    assert.equal(argsToRunPlan(resolveArgs({ ...base, device: 'cpu' }), paths).device, 'cpu');
    assert.equal(argsToRunPlan(resolveArgs({ ...base, device: 'cuda', precision: 'bf16' }), paths).device, 'cuda');
  });

  it('the local trainer trains on the CPU only so far, and says how to get there from cuda', () => {
    assert.equal(localTrainerRefuses('cpu'), undefined);
    assert.match(localTrainerRefuses('cuda') ?? '', /CPU only so far.*"device" to "auto" or "cpu"/);
  });
});
