// tuner-train's GPU path (docs/cuda.md "tuner-train on the GPU") on its CPU stand-in: with
// TUNER_DEVICE_OPS=host the trainer takes the device path (DeviceModel, the device optimizer,
// device_memory in the events) on host_ops, the CPU engine's kernels behind the device ops, so
// what a GPU run does between the kernels is tested here without a GPU: a full fine-tune and a
// LoRA run track the CPU trainer's losses within bf16-mixed rounding; kill -9 and --resume give
// the uninterrupted device run's losses bit for bit (host_ops is deterministic); checkpoints move
// between the CPU and the device path both ways; out of device memory is a cuda_out_of_memory
// error event naming the step; and what the GPU path refuses (LOMO, DPO, xPos positions, also as
// the plan's rope_scaling override) falls back to the CPU (auto) or is an error naming why (cuda).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { RunPlan } from '../../src/core/engine/plan';
import type { StepEvent, TrainerEvent } from '../../src/core/engine/protocol';
import type { TrainerExit } from '../../src/core/engine/trainer-client';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;
const HOST_OPS = { ...process.env, TUNER_DEVICE_OPS: 'host' };
// bf16 matmul operands against the CPU's fp32: the losses of a few steps of these tiny models
// differ by about 2e-3 (measured at most 0.0017 full, 0.0017 LoRA); 0.02 is ten times that and far below what a
// wrong gradient or update moves them (the losses fall by 0.5 over these steps).
const BF16_LOSS_TOL = 0.02;

const FULL: Partial<RunPlan> = { method: 'full', optimizer: { lr: 1e-3, weight_decay: 0.01 } };
const LOMO: Partial<RunPlan> = { method: 'lomo', optimizer: { name: 'sgd', lr: 1e-2, weight_decay: 0.01 } };
const LORA: Partial<RunPlan> = {};

function stepLosses(exit: TrainerExit): Map<number, number> {
  return new Map(steps(exit.events).map((s) => [s.step, s.loss]));
}

function startOf(exit: TrainerExit): Extract<TrainerEvent, { type: 'start' }> {
  const start = exit.events[0];
  assert.ok(start?.type === 'start', exit.stderrTail);
  return start;
}

describe('tuner-train GPU path on host_ops (TUNER_DEVICE_OPS=host)', () => {
  let root: string;
  let n = 0;
  before(() => {
    root = tempDir('device-path');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 20, VOCAB), VOCAB);
  });

  function plan(overrides: Partial<RunPlan>, device: 'auto' | 'cpu' | 'cuda' = 'auto'): string {
    const p = { ...basePlan(root, { max_steps: 6, output_dir: path.join(root, `out-${++n}`), ...overrides }), device } as unknown as RunPlan;
    return writePlan(root, p, `plan-${n}.json`);
  }
  const outputOf = (planPath: string): string => (JSON.parse(fs.readFileSync(planPath, 'utf8')) as RunPlan).output_dir;

  for (const [name, method] of [['full fine-tune', FULL], ['LoRA', LORA]] as const) {
    it(`${name}: the device path's losses track the CPU's within bf16 rounding, with device memory in every step`, async () => {
      // Evaluation and samples go through the same Model interface on the device.
      const withEval: Partial<RunPlan> = { ...method, eval_data_dir: path.join(root, 'data'), eval_interval: 3,
        samples: { interval: 3, max_new_tokens: 4, prompts: [[1, 2, 3]], stop_ids: [0], texts: ['p'] } };
      const cpu = await runTrainer({ planPath: plan(withEval, 'cpu'), closeInput: true });
      assert.equal(cpu.code, 0, cpu.stderrTail);
      const dev = await runTrainer({ planPath: plan(withEval), closeInput: true, env: HOST_OPS, layerNorms: true });
      assert.equal(dev.code, 0, dev.stderrTail);

      const start = startOf(dev);
      assert.deepEqual(start.device, { kind: 'host_ops', name: 'CPU (host_ops)', reason: 'TUNER_DEVICE_OPS=host: the GPU path on the CPU stand-in of the device ops (a test hook)' });
      assert.ok(start.device_memory && start.device_memory.in_use_bytes > 0 && start.device_memory.total_bytes === 0);
      assert.match(dev.stderrTail, /CPU stand-in .*\n.*host_ops runs the CPU engine's kernels behind the device ops, for tests/);
      assert.match(dev.stderrTail, /trains bf16-mixed .*: the plan's precision fp32 applies on the CPU only/);

      const cpuLoss = stepLosses(cpu);
      const devSteps = steps(dev.events);
      assert.equal(devSteps.length, 6);
      let differs = false;
      for (const s of devSteps) {
        const ref = cpuLoss.get(s.step)!;
        assert.ok(Math.abs(s.loss - ref) <= BF16_LOSS_TOL, `step ${s.step}: device ${s.loss}, CPU ${ref}`);
        differs ||= s.loss !== ref;
        const m = s.device_memory;
        assert.ok(m && m.in_use_bytes >= start.device_memory.in_use_bytes && m.peak_bytes >= m.in_use_bytes, JSON.stringify(m));
        // Per-layer norms from the device's sums of squares: finite, the gradients' below the total.
        assert.ok(s.layers && s.layers.length > 0);
        const total = Math.sqrt(s.layers.reduce((a, l) => a + l.grad_norm ** 2, 0));
        assert.ok(Math.abs(total - s.grad_norm) <= 1e-9 * s.grad_norm, `layer norms ${total} vs grad_norm ${s.grad_norm}`);
        assert.ok(s.layers.every((l) => Number.isFinite(l.weight_norm) && l.weight_norm > 0));
      }
      const evals = (x: TrainerExit) => x.events.filter((e) => e.type === 'eval').map((e) => e.loss);
      assert.equal(evals(dev).length, 2);
      evals(dev).forEach((l, i) => assert.ok(Math.abs(l - evals(cpu)[i]) <= BF16_LOSS_TOL, `eval ${i}: ${l} vs ${evals(cpu)[i]}`));
      assert.equal(dev.events.filter((e) => e.type === 'sample').length, 2);
      // The device path ran (bf16 products), not the CPU trainer under another name.
      assert.ok(differs, 'the device losses equal the CPU losses bit for bit: the device path did not run');
      assert.ok(devSteps[5].loss < devSteps[0].loss - 0.1, 'the device run learns');
    });
  }

  it('kill -9 mid-run and --resume give the uninterrupted device run\'s losses bit for bit (full fine-tune, Lion)', async () => {
    const STEPS = 40;
    const common = { ...FULL, optimizer: { name: 'lion' as const, lr: 1e-4, weight_decay: 0.1 }, max_steps: STEPS, save_interval: 5, schedule: 'cosine' as const, warmup_steps: 3 };
    const ref = await runTrainer({ planPath: plan(common), closeInput: true, env: HOST_OPS });
    assert.equal(ref.code, 0, ref.stderrTail);
    const refLoss = stepLosses(ref);
    assert.equal(refLoss.size, STEPS);

    const planPath = plan(common);
    const p = startTrainer({ planPath, env: HOST_OPS });
    // Paused once the step-10 checkpoint is out, so the kill lands mid-run whatever the speed (a
    // step here takes a few milliseconds: the pause may arrive a checkpoint or two later).
    p.onEvent((e) => {
      if (e.type === 'checkpoint' && e.step === 10) p.send('pause');
    });
    await p.waitFor((e) => e.type === 'paused');
    p.kill('SIGKILL');
    const killed = await p.exited;
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(!killed.events.some((e) => e.type === 'done'));
    for (const s of steps(killed.events)) assert.equal(s.loss, refLoss.get(s.step));

    const ckptRoot = path.join(outputOf(planPath), 'checkpoints');
    const last = fs.readdirSync(ckptRoot).filter((d) => d.startsWith('step-')).sort().pop()!;
    const from = Number(last.slice('step-'.length));
    assert.ok(from >= 10 && from < STEPS, `last checkpoint ${last}`);
    const resumed = await runTrainer({ planPath, resumeDir: path.join(ckptRoot, last), closeInput: true, env: HOST_OPS });
    assert.equal(resumed.code, 0, resumed.stderrTail);
    assert.equal(startOf(resumed).device?.kind, 'host_ops');
    const st = steps(resumed.events);
    assert.deepEqual(st.map((s) => s.step), Array.from({ length: STEPS - from }, (_, i) => from + 1 + i));
    for (const s of st) assert.equal(s.loss, refLoss.get(s.step), `loss at step ${s.step} after resume`);
  });

  it('a CPU checkpoint continues on the device path, and a device checkpoint on the CPU (LoRA, AdamW)', async () => {
    const common = { ...LORA, max_steps: 6, save_interval: 3 };
    const cpuPlan = plan(common, 'cpu');
    const cpu = await runTrainer({ planPath: cpuPlan, closeInput: true });
    assert.equal(cpu.code, 0, cpu.stderrTail);
    const devPlan = plan(common);
    const dev = await runTrainer({ planPath: devPlan, closeInput: true, env: HOST_OPS });
    assert.equal(dev.code, 0, dev.stderrTail);

    const ckpt = (p: string) => path.join(outputOf(p), 'checkpoints', 'step-00000003');
    const cpuToDev = await runTrainer({ planPath: plan(common), resumeDir: ckpt(cpuPlan), closeInput: true, env: HOST_OPS });
    assert.equal(cpuToDev.code, 0, cpuToDev.stderrTail);
    assert.equal(startOf(cpuToDev).device?.kind, 'host_ops');
    const devToCpu = await runTrainer({ planPath: plan(common, 'cpu'), resumeDir: ckpt(devPlan), closeInput: true });
    assert.equal(devToCpu.code, 0, devToCpu.stderrTail);
    assert.equal(startOf(devToCpu).device?.kind, 'cpu');

    // Each continues where its checkpoint left off: the losses of steps 4-6 of either
    // uninterrupted run within bf16 rounding (the optimizer states came along: a restart from
    // zero states would move LoRA's first steps by the full lr).
    const cpuLoss = stepLosses(cpu);
    for (const run of [cpuToDev, devToCpu]) {
      const st: StepEvent[] = steps(run.events);
      assert.deepEqual(st.map((s) => s.step), [4, 5, 6]);
      for (const s of st) assert.ok(Math.abs(s.loss - cpuLoss.get(s.step)!) <= BF16_LOSS_TOL, `step ${s.step}: ${s.loss} vs ${cpuLoss.get(s.step)}`);
    }
  });

  it('out of device memory is a cuda_out_of_memory error event naming the step and the ways to use less, not a crash', async () => {
    const probe = await runTrainer({ planPath: plan({ ...LORA, max_steps: 1 }), closeInput: true, env: HOST_OPS });
    assert.equal(probe.code, 0, probe.stderrTail);
    const loaded = startOf(probe).device_memory!.in_use_bytes;
    // Room for the weights and optimizer states, none for step 1's activations.
    const limit = String(loaded + 1);
    const exit = await runTrainer({ planPath: plan(LORA), closeInput: true, env: { ...HOST_OPS, TUNER_HOST_OPS_MEMORY_LIMIT: limit } });
    assert.equal(exit.code, 1);
    assert.equal(exit.signal, null);
    assert.deepEqual(exit.events.map((e) => e.type), ['start', 'error']);
    assert.equal(exit.error?.code, 'cuda_out_of_memory');
    assert.equal(exit.error?.step, 1);
    assert.match(exit.error!.message, /^CPU \(host_ops\) ran out of memory at step 1 \(peak [\d.]+ KiB\): host_ops alloc of \d+ bytes/);
    assert.match(exit.error!.hint, /a smaller batch_size \(now 4\) with more gradient_accumulation .*, a shorter max_length \(now 32\), gradient_checkpointing true, or method "qlora"/);

    // Too small even for the weights: the same error before the first step, without a step.
    const early = await runTrainer({ planPath: plan(LORA), closeInput: true, env: { ...HOST_OPS, TUNER_HOST_OPS_MEMORY_LIMIT: '1000' } });
    assert.equal(early.code, 1);
    assert.equal(early.error?.code, 'cuda_out_of_memory');
    assert.equal(early.error?.step, undefined);
    assert.match(early.error!.message, /ran out of memory while loading the model/);
  });

  it('what the GPU path cannot train falls back to the CPU under auto, saying why, and is refused under cuda', async () => {
    // LOMO under auto: trained on the CPU, the reason in start.device.
    const lomo = await runTrainer({ planPath: plan({ ...LOMO, max_steps: 2 }), closeInput: true, env: HOST_OPS });
    assert.equal(lomo.code, 0, lomo.stderrTail);
    const start = startOf(lomo);
    assert.equal(start.device?.kind, 'cpu');
    assert.match(start.device!.reason, /^CPU \(host_ops\) found, but method lomo \(each tensor updated inside backward\) trains on the CPU only/);
    assert.equal(steps(lomo.events).length, 2);
    assert.equal(steps(lomo.events)[0].device_memory, undefined);

    // The plan's rope_scaling override counts as the model's: xPos (which the device model lacks)
    // in the plan, not in config.json, trains on the CPU under auto.
    const XPOS: Partial<RunPlan> = { method: 'full', rope_scaling: { rope_type: 'xpos', scale_base: 512 } };
    const xpos = await runTrainer({ planPath: plan({ ...XPOS, max_steps: 1 }), closeInput: true, env: HOST_OPS });
    assert.equal(xpos.code, 0, xpos.stderrTail);
    assert.equal(startOf(xpos).device?.kind, 'cpu');
    assert.match(startOf(xpos).device!.reason, /^CPU \(host_ops\) found, but xPos positions \(rope_scaling xpos\) do not train on a GPU/);

    // Under cuda each refusal is an error before anything loads, naming the reason.
    const cases: Array<[Partial<RunPlan>, RegExp]> = [
      [LOMO, /method lomo .* trains on the CPU only/],
      [{ stage: 'dpo' } as Partial<RunPlan>, /stage dpo trains on the CPU only so far/],
      [XPOS, /xPos positions \(rope_scaling xpos\) do not train on a GPU/],
    ];
    for (const [overrides, why] of cases) {
      const exit = await runTrainer({ planPath: plan(overrides, 'cuda'), closeInput: true, env: HOST_OPS });
      assert.equal(exit.code, 1, exit.stderrTail);
      assert.equal(exit.events.length, 1, 'the error comes before start');
      assert.equal(exit.error?.code, 'cuda_training_unavailable');
      assert.match(exit.error!.message, /^the plan's device is "cuda" and CPU \(host_ops\) is present, but /);
      assert.match(exit.error!.message, why);
      assert.match(exit.error!.hint, /Set device to "auto" or "cpu"/);
    }
  });
});
