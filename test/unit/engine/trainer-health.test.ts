// How a window judges a detached trainer (trainer-health.ts): gone when the registry's process is
// no longer the trainer, not responding when it is there but silent for more than the missed
// heartbeats allow, alive otherwise (and always, for a trainer that announced no heartbeat); the
// heartbeat event's fields are checked like every event's. A heartbeat whose training loop has been
// silent (loop_idle_ms) for longer than a step may take counts as not responding; a paused loop that
// keeps polling stays alive.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseTrainerEvent, type TrainerEvent } from '../../../src/core/engine/protocol';
import {
  describeHealth,
  heartbeatInterval,
  judgeTrainer,
  LOOP_SILENCE_FLOOR_MS,
  LOOP_SILENT_STEPS,
  loopSigns,
  loopSilenceLimitMs,
  MISSED_HEARTBEATS,
  modifiedMs,
  silenceLimitMs,
} from '../../../src/core/engine/trainer-health';
import { RunStateTracker } from '../../../src/core/run/run-state';

const beat = (step: number, state = 'training', interval = 5000) => JSON.stringify({ version: 1, type: 'heartbeat', step, state, interval_ms: interval, unix_ms: 1_790_000_000_000 });

test('judges gone, not responding and alive from the process check and the last sign of life', () => {
  const now = 1_000_000;
  const limit = silenceLimitMs(5000);
  assert.equal(limit, MISSED_HEARTBEATS * 5000 + 2000);
  assert.deepEqual(judgeTrainer({ processIsTrainer: false, lastSignMs: now, heartbeatMs: 5000, nowMs: now }), { state: 'gone' });
  assert.deepEqual(judgeTrainer({ processIsTrainer: true, lastSignMs: now - limit, heartbeatMs: 5000, nowMs: now }), { state: 'alive' });
  assert.deepEqual(judgeTrainer({ processIsTrainer: true, lastSignMs: now - limit - 1, heartbeatMs: 5000, nowMs: now }), { state: 'unresponsive', silentMs: limit + 1, silent: 'trainer' });
  // A trainer that sends no heartbeats (an older tuner-train, --heartbeat-ms 0) is judged by its process only.
  assert.deepEqual(judgeTrainer({ processIsTrainer: true, lastSignMs: now - 3_600_000, heartbeatMs: undefined, nowMs: now }), { state: 'alive' });
  assert.deepEqual(judgeTrainer({ processIsTrainer: true, lastSignMs: undefined, heartbeatMs: 5000, nowMs: now }), { state: 'alive' });
  // A clock that went back is no silence.
  assert.deepEqual(judgeTrainer({ processIsTrainer: true, lastSignMs: now + 60_000, heartbeatMs: 5000, nowMs: now }), { state: 'alive' });
});

test('says how long it has been silent in the one formatter\'s units', () => {
  assert.equal(describeHealth({ state: 'unresponsive', silentMs: 42_400 }), 'not responding (no heartbeat for 42 s)');
  assert.equal(describeHealth({ state: 'unresponsive', silentMs: 754_000 }), 'not responding (no heartbeat for 12 min 34 s)');
  assert.equal(describeHealth({ state: 'alive' }), undefined);
  assert.equal(describeHealth({ state: 'gone' }), undefined);
});

test('the interval comes from the current segment\'s last heartbeat', () => {
  const start = { version: 1, type: 'start' } as unknown as TrainerEvent;
  const events = [start, parseTrainerEvent(beat(1, 'training', 200)), parseTrainerEvent(beat(2, 'paused', 300))];
  assert.equal(heartbeatInterval(events), 300);
  assert.equal(heartbeatInterval([...events, start]), undefined, 'a resumed segment that has not beaten yet');
  assert.equal(heartbeatInterval([]), undefined);
});

test('heartbeat events parse with their fields checked, and change no run state', () => {
  const e = parseTrainerEvent(beat(12, 'paused'));
  assert.deepEqual(e, { version: 1, type: 'heartbeat', step: 12, state: 'paused', interval_ms: 5000, unix_ms: 1_790_000_000_000 });
  assert.throws(() => parseTrainerEvent(beat(1, 'sleeping')), /heartbeat event: unknown state "sleeping"/);
  assert.throws(() => parseTrainerEvent(beat(1, 'training', 0)), /interval_ms should be above 0/);
  assert.throws(() => parseTrainerEvent(JSON.stringify({ version: 1, type: 'heartbeat', step: 1, state: 'training', interval_ms: 5 })), /field "unix_ms" should be number/);
  const t = new RunStateTracker();
  t.apply(parseTrainerEvent(JSON.stringify({ version: 1, type: 'paused', step: 3 })));
  const before = { ...t.snapshot };
  t.apply(e);
  assert.deepEqual(t.snapshot, before);
});

test('modifiedMs is the file\'s mtime, undefined without a file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-health-'));
  const f = path.join(dir, 'events.jsonl');
  assert.equal(modifiedMs(f), undefined);
  fs.writeFileSync(f, beat(1) + '\n');
  const when = new Date(Date.now() - 90_000);
  fs.utimesSync(f, when, when);
  assert.ok(Math.abs(modifiedMs(f)! - when.getTime()) < 1000);
});

const loopBeat = (step: number, state: string, loopIdleMs: number) =>
  parseTrainerEvent(JSON.stringify({ version: 1, type: 'heartbeat', step, state, interval_ms: 5000, unix_ms: 1_790_000_000_000, loop_idle_ms: loopIdleMs }));
const stepEvent = (step: number, ms: number) =>
  ({ version: 1, type: 'step', step, loss: 2, lr: 1e-4, grad_norm: 1, tokens: 64, tokens_per_s: 100, ms, peak_memory_bytes: 0 }) as TrainerEvent;

test('a training loop silent for longer than a step may take is not responding while its heartbeat goes on', () => {
  const now = 1_000_000;
  // Steps of ~8 s: the bound is 10 median steps (80 s), above the 60 s floor.
  const steps = [stepEvent(1, 9000), stepEvent(2, 8000), stepEvent(3, 8000), stepEvent(4, 7000)];
  assert.equal(loopSilenceLimitMs({ paused: false, stepMs: [9000, 8000, 8000, 7000] }), LOOP_SILENT_STEPS * 8000);
  assert.equal(loopSilenceLimitMs({ paused: false, stepMs: [100, 200, 300] }), LOOP_SILENCE_FLOOR_MS, 'fast steps: the floor');
  assert.equal(loopSilenceLimitMs({ paused: false, stepMs: [] }), undefined, 'no step time yet: not judged');
  assert.equal(loopSilenceLimitMs({ paused: true, stepMs: [9000] }), LOOP_SILENCE_FLOOR_MS, 'paused: the loop polls every 200 ms');

  const judge = (events: TrainerEvent[], sinceLastLineMs = 1000) =>
    judgeTrainer({ processIsTrainer: true, lastSignMs: now - sinceLastLineMs, heartbeatMs: 5000, nowMs: now, loop: loopSigns(events) });
  assert.deepEqual(judge([...steps, loopBeat(4, 'training', 78_000)]), { state: 'alive' }, 'a slow step within the bound');
  assert.deepEqual(judge([...steps, loopBeat(4, 'training', 80_000)]), { state: 'unresponsive', silentMs: 81_000, silent: 'loop' });
  // A line written by the loop after that heartbeat (a step, an eval) says it ran just then.
  assert.deepEqual(judge([...steps, loopBeat(4, 'training', 80_000), stepEvent(5, 8000)]), { state: 'alive' });
  // Paused: alive while the paused loop keeps polling, however long the pause ...
  assert.deepEqual(judge([...steps, loopBeat(4, 'paused', 150)]), { state: 'alive' });
  // ... not responding once the paused loop has stopped polling for the floor.
  assert.deepEqual(judge([...steps, loopBeat(4, 'paused', 61_000)]), { state: 'unresponsive', silentMs: 62_000, silent: 'loop' });
  // Before any step time is known a training loop is not judged (a first step may take minutes) ...
  assert.deepEqual(judge([loopBeat(0, 'training', 600_000)]), { state: 'alive' });
  // ... and a trainer older than loop_idle_ms is judged by its heartbeat alone.
  assert.deepEqual(judge([...steps, parseTrainerEvent(beat(4))]), { state: 'alive' });
  assert.equal(loopSigns([...steps, parseTrainerEvent(beat(4))]), undefined);
  // No heartbeat at all wins over the loop: the trainer itself is silent.
  assert.equal((judge([...steps, loopBeat(4, 'training', 1000)], 60_000) as { silent?: string }).silent, 'trainer');

  assert.equal(describeHealth({ state: 'unresponsive', silentMs: 125_000, silent: 'loop' }), 'not responding (training loop silent for 2 min 05 s)');
  assert.throws(() => parseTrainerEvent(JSON.stringify({ version: 1, type: 'heartbeat', step: 1, state: 'training', interval_ms: 5, unix_ms: 1, loop_idle_ms: 'x' })), /field "loop_idle_ms" should be number/);
});
