import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainerEvent } from '../../../src/core/engine/protocol';
import { BreakpointChecker } from '../../../src/core/run/breakpoints';
import { EtaEstimator } from '../../../src/core/run/eta';
import { formatDuration } from '../../../src/core/units';
import { RunSeries } from '../../../src/core/run/series';
import { RunStateTracker } from '../../../src/core/run/run-state';
import { start, stepEv } from './events';

test('the tracker folds a run: running, paused, eval, checkpoint, done', () => {
  const t = new RunStateTracker();
  const events: TrainerEvent[] = [start(), stepEv(1, 3), stepEv(2, 2.5), { version: 1, type: 'paused', step: 2 }];
  let s = t.snapshot;
  events.forEach((e, i) => (s = t.apply(e, 100 * i)));
  assert.equal(s.status, 'paused');
  assert.equal(s.step, 2);
  assert.equal(s.loss, 2.5);
  assert.equal(s.tokens, 128);
  assert.equal(s.etaMs, 8 * 100);
  s = t.applyAll([{ version: 1, type: 'resumed', step: 2 }, { version: 1, type: 'eval', step: 2, loss: 2.7, tokens: 30 }, { version: 1, type: 'checkpoint', step: 2, path: '/c' }]);
  assert.equal(s.status, 'running');
  assert.equal(s.evalLoss, 2.7);
  assert.equal(s.lastCheckpoint?.step, 2);
  s = t.apply({ version: 1, type: 'done', step: 10, reason: 'completed', outputs: { adapter: '/a', checkpoint: '/c10' } });
  assert.equal(s.status, 'done');
  assert.equal(s.output, '/a');
  assert.equal(s.lastCheckpoint?.path, '/c10');
  assert.equal(s.etaMs, undefined);
});

test('an error event fails the run; a stop is "stopped"', () => {
  const t = new RunStateTracker();
  t.applyAll([start(), { version: 1, type: 'error', code: 'non_finite_loss', message: 'the loss is nan', hint: 'lower lr', step: 1 }]);
  assert.equal(t.snapshot.status, 'failed');
  assert.equal(t.snapshot.error?.code, 'non_finite_loss');
  const u = new RunStateTracker();
  u.applyAll([start(), { version: 1, type: 'done', step: 0, reason: 'stopped', outputs: {} }]);
  assert.equal(u.snapshot.status, 'stopped');
});

test('series keep the latest value of a step replayed after a resume, x in steps or tokens', () => {
  const s = new RunSeries().addAll([start(), stepEv(1, 3), stepEv(2, 2), stepEv(3, 9), start(2), stepEv(3, 1.5), stepEv(4, 1.2), { version: 1, type: 'eval', step: 4, loss: 1.4, tokens: 9 }]);
  assert.deepEqual(s.points('loss'), [{ x: 1, y: 3 }, { x: 2, y: 2 }, { x: 3, y: 1.5 }, { x: 4, y: 1.2 }]);
  assert.deepEqual(s.points('loss', 'tokens').map((p) => p.x), [64, 128, 192, 256]);
  assert.deepEqual(s.points('eval_loss'), [{ x: 4, y: 1.4 }]);
  assert.equal(s.points('memory')[0].y, 1);
});

test('ETA comes from wall time between steps, not the trainer\'s compute ms: a 20,000-step run at 1 ms of compute but 3 ms a step', () => {
  let now = 0;
  const t = new RunStateTracker();
  t.apply({ ...start(), max_steps: 20_000 }, now);
  for (let step = 1; step <= 1000; step++) {
    now += 3;
    t.apply({ ...stepEv(step, 2), ms: 1 }, now);
  }
  // 19,000 steps left at 3 ms each, whatever each step event says about its compute.
  assert.equal(Math.round(t.snapshot.etaMs!), 57_000);
  // A pause does not count as time per step; the estimate stays while paused.
  t.apply({ version: 1, type: 'paused', step: 1000 }, now);
  now += 60_000;
  assert.equal(Math.round(t.snapshot.etaMs!), 57_000);
  t.apply({ version: 1, type: 'resumed', step: 1000 }, now);
  now += 3;
  t.apply({ ...stepEv(1001, 2), ms: 1 }, now);
  assert.equal(Math.round(t.snapshot.etaMs!), 18_999 * 3);
  assert.equal(formatDuration(t.snapshot.etaMs! / 1000), '57 s');
});

test('ETA: steps arriving in bursts (a pipe read) average out; a stored run replayed has none', () => {
  const e = new EtaEstimator();
  assert.equal(e.remainingMs(10), undefined);
  e.restart(0, 0);
  // 100 steps arrive at once every 100 ms: 1 ms a step.
  for (let burst = 1; burst <= 20; burst++) for (let i = 1; i <= 100; i++) e.addStep((burst - 1) * 100 + i, burst * 100);
  assert.equal(e.remainingMs(1000), 1000);
  const stored = new RunStateTracker().applyAll([start(), stepEv(1, 3), stepEv(2, 2)]);
  assert.equal(stored.etaMs, undefined);
});

test('durations and sizes: one formatter, binary units', () => {
  assert.equal(formatDuration(3.14), '3.1 s');
  assert.equal(formatDuration(45), '45 s');
  assert.equal(formatDuration(200), '3 min 20 s');
  assert.equal(formatDuration(7_500), '2 h 05 min');
  assert.equal(formatDuration(3 * 86400), '3 days');
});

test('breakpoints: at step N, loss spike against the recent average, NaN only when enabled', () => {
  const b = new BreakpointChecker({ nonFinite: true, atSteps: [3], lossSpikeFactor: 2 });
  const hits = [2, 2, 2, 2, 2, 2, 5, 2].map((loss, i) => b.onStep(stepEv(i + 1, loss)));
  assert.deepEqual(hits.map((h) => h?.kind), [undefined, undefined, 'atStep', undefined, undefined, undefined, 'lossSpike', undefined]);
  assert.match(hits[6]!.description, /loss 5\.0000 at step 7 is over 2× its recent average 2\.0000/);
  const err = { version: 1, type: 'error' as const, code: 'non_finite_gradient', message: 'the gradient is nan at step 9', hint: 'lower lr', step: 9 };
  assert.equal(b.onError(err)?.step, 9);
  assert.equal(new BreakpointChecker({ nonFinite: false, atSteps: [] }).onError(err), undefined);
  assert.equal(b.onError({ ...err, code: 'bad_plan' }), undefined);
  const early = new BreakpointChecker({ nonFinite: false, atSteps: [], lossSpikeFactor: 1.5 });
  assert.equal(early.onStep(stepEv(1, 1)), undefined);
  assert.equal(early.onStep(stepEv(2, 10)), undefined, 'no spike judged before the average settles');
});

test('a run on a device tracks the device\'s peak memory beside the host\'s; a CPU run has none', () => {
  const MiB = 1 << 20;
  const onDevice = (step: number, peak: number) => ({ ...stepEv(step, 2), device_memory: { in_use_bytes: MiB, peak_bytes: peak, total_bytes: 80 * 1024 * MiB } });
  const events: TrainerEvent[] = [start(), onDevice(1, 3 * MiB), onDevice(2, 5 * MiB), onDevice(3, 4 * MiB)];
  const t = new RunStateTracker();
  t.applyAll(events);
  assert.equal(t.snapshot.gpuPeakMemoryBytes, 5 * MiB);
  assert.deepEqual(new RunSeries().addAll(events).points('gpu_memory').map((p) => p.y), [3, 5, 4]);
  const cpu = new RunStateTracker();
  cpu.applyAll([start(), stepEv(1, 3)]);
  assert.equal(cpu.snapshot.gpuPeakMemoryBytes, undefined);
  assert.deepEqual(new RunSeries().addAll([start(), stepEv(1, 3)]).points('gpu_memory'), []);
});
