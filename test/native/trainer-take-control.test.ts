// Taking control of a run from another window, with a real tuner-train: a window that only
// watches a run (an observer on its control channel) asks for control; the trainer makes it the
// controller and tells the window that had control it now only watches; commands from the new
// controller are taken, the old one's refused. A malformed take_control line is refused like any
// bad command.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ControlClient, controlAddress, TAKE_CONTROL_LINE, type ControlMessage } from '../../src/core/engine/control-channel';
import { formatCommand, type TrainerEvent } from '../../src/core/engine/protocol';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { RunManager } from '../../src/core/run/run-manager';
import type { RunSession } from '../../src/core/run/run-session';
import { RunStore } from '../../src/core/run/run-store';
import { until } from './wait';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

describe('take control of a run', () => {
  let session: RunSession | undefined;
  let root: string;
  before(() => {
    root = tempDir('take-control');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(16, 33, VOCAB), VOCAB);
  });
  after(() => session?.kill('SIGKILL'));

  it('moves control to the window that asks, and tells the one that had it', async () => {
    const manager = new RunManager(new RunStore(path.join(root, 'runs')), '');
    session = manager.startPlan(writePlan(root, basePlan(root, { max_steps: 100000, threads: 1 })), { mode: 'free', binary: findTrainerBinary() });
    const s = session;
    const events: TrainerEvent[] = [];
    const roles: string[] = [];
    s.listen({ onEvent: (e) => events.push(e), onRole: (role) => roles.push(role) });
    await until('this window controls it', () => s.role === 'controller');
    const other = await ControlClient.connect(controlAddress(s.record.dir));
    assert.equal(other.role, 'observer');
    const seen: ControlMessage[] = [];
    other.onMessage((m) => seen.push(m));

    other.write('{"version":1,"type":"take_control","extra":');
    await until('the bad line refused', () => seen.find((m) => m.type === 'refused'));
    assert.equal(other.role, 'observer');

    other.write(TAKE_CONTROL_LINE);
    await until('the other window controls it', () => other.role === 'controller');
    await until('this window is told it only watches', () => s.role === 'observer');
    assert.deepEqual(roles.slice(-1), ['observer']);
    assert.throws(() => s.pause(), /another window controls this run/);

    other.write(formatCommand('pause'));
    const paused = await until('paused by the new controller', () => events.find((e) => e.type === 'paused'));
    assert.ok(paused);

    // And back: this window takes control again and stops the run.
    assert.equal(s.takeControl(), true);
    await until('control back here', () => s.role === 'controller');
    await until('the other told', () => other.role === 'observer');
    s.stop();
    await s.exited;
    assert.equal(s.snapshot.status, 'stopped');
    await other.closed;
  });
});
