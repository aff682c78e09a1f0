// The plan's device in tuner-train on this machine's CUDA devices (docs/cuda.md): cpu trains on
// the CPU; auto trains on the CPU and says why in the start event and the log; cuda without a
// usable device is one no_cuda_device error naming the fix, before anything is loaded. (What the
// GPU path trains or refuses with a device present: test_train_device and, on the CPU stand-in of
// the device ops, trainer-device-path.test.ts.)
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { loadAddon } from '../../src/core/engine/addon';
import type { RunPlan } from '../../src/core/engine/plan';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

describe('tuner-train device', () => {
  let root: string;
  let n = 0;
  const cuda = loadAddon().hardware().cuda;
  const noGpu = !cuda || cuda.devices.length === 0;
  before(() => {
    root = tempDir('device');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 20, VOCAB), VOCAB);
  });

  // auto written out: the ARGS side leaves it out, but the trainer reads it too.
  function run(device: 'auto' | 'cpu' | 'cuda') {
    const plan = { ...basePlan(root, { max_steps: 2, output_dir: path.join(root, `out-${++n}`) }), device } as unknown as RunPlan;
    return runTrainer({ planPath: writePlan(root, plan, `plan-${n}.json`), closeInput: true });
  }

  it('cpu trains on the CPU, saying the plan asked for it', async () => {
    const exit = await run('cpu');
    assert.equal(exit.code, 0, exit.stderrTail);
    const start = exit.events[0];
    assert.ok(start.type === 'start');
    assert.deepEqual(start.device, { kind: 'cpu', name: loadAddon().hardware().cpuModel, reason: 'device is "cpu" in the plan' });
    assert.equal(steps(exit.events).length, 2);
  });

  it('auto trains on the CPU and says why, in the start event and the log', { skip: !noGpu && 'this machine has a CUDA device' }, async () => {
    const exit = await run('auto');
    assert.equal(exit.code, 0, exit.stderrTail);
    const start = exit.events[0];
    assert.ok(start.type === 'start' && start.device);
    assert.equal(start.device.kind, 'cpu');
    assert.match(start.device.reason, /^no CUDA device \((built without CUDA|no NVIDIA driver found|.+)\)$/);
    assert.match(exit.stderrTail, /tuner-train: training on the CPU \(.+\): no CUDA device/);
  });

  it('cuda without a device is refused with no_cuda_device, naming the fix', { skip: !noGpu && 'this machine has a CUDA device' }, async () => {
    const exit = await run('cuda');
    assert.notEqual(exit.code, 0);
    assert.equal(exit.signal, null);
    assert.equal(exit.events.length, 1, 'the error comes before start');
    assert.equal(exit.error?.code, 'no_cuda_device');
    assert.match(exit.error!.message, /device is "cuda", but this machine has no CUDA device \(.+\)/);
    assert.match(exit.error!.hint, /Set device to "auto" or "cpu"/);
  });

  it('an unknown device is a bad plan naming the field and the choices', async () => {
    const plan = { ...basePlan(root, { output_dir: path.join(root, 'out-bad') }), device: 'gpu' } as unknown as RunPlan;
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'plan-bad.json'), closeInput: true });
    assert.equal(exit.error?.code, 'bad_plan');
    assert.match(exit.error!.message, /device/);
    assert.match(exit.error!.message + exit.error!.hint, /auto/);
  });
});
