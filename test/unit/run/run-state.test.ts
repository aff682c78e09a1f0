import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TrainerEvent } from '../../../src/core/engine/protocol';
import { BreakpointChecker } from '../../../src/core/run/breakpoints';
import { EtaEstimator, formatDuration } from '../../../src/core/run/eta';
import { RunSeries } from '../../../src/core/run/series';
import { RunStateTracker } from '../../../src/core/run/run-state';
import { start, stepEv } from './events';

test('the tracker folds a run: running, paused, eval, checkpoint, done', () => {
  const t = new RunStateTracker();
  const events: TrainerEvent[] = [start(), stepEv(1, 3), stepEv(2, 2.5), { version: 1, type: 'paused', step: 2 }];
  let s = t.applyAll(events);
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

test('ETA uses the median of recent steps; durations format short', () => {
  const e = new EtaEstimator();
  assert.equal(e.remainingMs(10), undefined);
  for (const ms of [100, 100, 5000, 100]) e.addStep(ms);
  assert.equal(e.remainingMs(10), 1000, 'one slow step (a checkpoint) does not move the estimate');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(200_000), '3m 20s');
  assert.equal(formatDuration(7_500_000), '2h 05m');
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
