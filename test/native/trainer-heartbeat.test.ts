// The trainer's heartbeat and what the window makes of it, with a real tuner-train: heartbeats
// arrive at the interval asked for, while training and while paused (the loop waits, the
// heartbeat does not), report the step and state, and never follow the run's last event. A
// trainer stopped with SIGSTOP (the process is there, nothing is written) is told apart from a
// live one, on the session that follows it and on a window that reattaches to it meanwhile;
// SIGCONT makes it alive again; a killed one is gone.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { HeartbeatEvent, TrainerEvent } from '../../src/core/engine/protocol';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { silenceLimitMs } from '../../src/core/engine/trainer-health';
import { RunManager } from '../../src/core/run/run-manager';
import type { RunSession } from '../../src/core/run/run-session';
import { RunStore } from '../../src/core/run/run-store';
import { until } from './wait';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;
const BEAT_MS = 100;

function heartbeats(events: TrainerEvent[]): HeartbeatEvent[] {
  return events.filter((e): e is HeartbeatEvent => e.type === 'heartbeat');
}

describe('trainer heartbeat', () => {
  let root: string;
  let binary: string;
  let planFile: string;
  const sessions: RunSession[] = [];
  before(() => {
    binary = findTrainerBinary();
    root = tempDir('heartbeat');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(16, 33, VOCAB), VOCAB);
    planFile = writePlan(root, basePlan(root, { max_steps: 100000, threads: 1 }));
  });
  after(() => {
    for (const s of sessions) {
      try {
        if (s.pid) process.kill(s.pid, 'SIGCONT');
        s.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('beats while training and while paused, with the step and state, and not after the run ends', async () => {
    const manager = new RunManager(new RunStore(path.join(root, 'runs-a')), '');
    const session = manager.startPlan(planFile, { mode: 'free', binary, heartbeatMs: BEAT_MS });
    sessions.push(session);
    const events: TrainerEvent[] = [];
    session.listen({ onEvent: (e) => events.push(e) });
    await until('training heartbeats', () => heartbeats(events).filter((h) => h.state === 'training').length >= 2);
    for (const h of heartbeats(events)) assert.equal(h.interval_ms, BEAT_MS);
    assert.ok(heartbeats(events).some((h) => h.loop_idle_ms !== undefined), 'the training loop\'s liveness rides on the heartbeat');
    await until('the control channel', () => session.role === 'controller');
    session.pause();
    const paused = await until('paused', () => events.find((e) => e.type === 'paused'));
    const from = events.length;
    await until('heartbeats while paused', () => heartbeats(events.slice(from)).length >= 4);
    const whilePaused = heartbeats(events.slice(from));
    assert.ok(whilePaused.every((h) => h.state === 'paused' && h.step === paused.step), JSON.stringify(whilePaused));
    assert.ok(!events.slice(from).some((e) => e.type === 'step'), 'no step while paused');
    // The paused loop polls for commands every 200 ms: its heartbeats say it has just run.
    assert.ok(whilePaused.every((h) => h.loop_idle_ms !== undefined && h.loop_idle_ms < 5000), JSON.stringify(whilePaused));
    // Roughly at the interval: the first and last of these are about (n-1) intervals apart.
    const span = whilePaused[whilePaused.length - 1].unix_ms - whilePaused[0].unix_ms;
    assert.ok(span >= (whilePaused.length - 1) * BEAT_MS * 0.8, `${whilePaused.length} heartbeats over ${span} ms`);
    assert.equal(session.health.state, 'alive');
    session.stop();
    await session.exited;
    const all = manager.store.open(session.record.id).events();
    assert.equal(all[0].type, 'start');
    assert.equal(all[all.length - 1].type, 'done', 'no heartbeat after the last event');
  });

  it('tells a stopped (hung) trainer from a live one, also to a window that reattaches meanwhile', async () => {
    const store = new RunStore(path.join(root, 'runs-b'));
    const manager = new RunManager(store, '');
    const session = manager.startPlan(planFile, { mode: 'free', binary, heartbeatMs: BEAT_MS });
    sessions.push(session);
    const told: string[] = [];
    session.listen({ onHealth: (h) => told.push(h.state) });
    await until('a heartbeat', () => session.events().some((e) => e.type === 'heartbeat'));
    const pid = session.pid!;

    process.kill(pid, 'SIGSTOP');
    await until('not responding', () => session.health.state === 'unresponsive', silenceLimitMs(BEAT_MS) + 5000);
    const h = session.health;
    assert.ok(h.state === 'unresponsive' && h.silentMs > silenceLimitMs(BEAT_MS));
    assert.ok(store.open(session.record.id).trainerAlive(), 'the process is still the run\'s trainer');

    // Another window (a new manager) opening now follows it and says so at once, from the
    // events file's age: it has not heard from it itself.
    await manager.detachAll();
    const other = new RunManager(store, '');
    const [again] = other.reattach({ binary });
    assert.ok(again, 'a live (if stopped) trainer is reattached');
    sessions.push(again);
    assert.equal(again.health.state, 'unresponsive');

    process.kill(pid, 'SIGCONT');
    await until('alive again', () => again.health.state === 'alive', 10_000);
    await until('the control channel', () => again.role === 'controller');
    again.stop();
    await again.exited;
    assert.equal(again.snapshot.status, 'stopped');
    assert.deepEqual(told.slice(0, 1), ['unresponsive']);
  });

  it('a killed trainer is gone: its session ends without waiting for heartbeats', async () => {
    const store = new RunStore(path.join(root, 'runs-c'));
    const manager = new RunManager(store, '');
    const first = manager.startPlan(planFile, { mode: 'free', binary, heartbeatMs: BEAT_MS });
    sessions.push(first);
    await until('a heartbeat', () => first.events().some((e) => e.type === 'heartbeat'));
    await manager.detachAll();
    const [again] = new RunManager(store, '').reattach({ binary });
    sessions.push(again);
    process.kill(first.pid!, 'SIGKILL');
    const t0 = Date.now();
    await again.exited;
    assert.ok(Date.now() - t0 < 5000, 'noticed by the process check, well before the heartbeat limit would matter');
    assert.equal(again.snapshot.status, 'interrupted');
  });
});
