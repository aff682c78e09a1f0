// Runs that ended while no window followed them (RunManager.unwatchedEnds): one a closing window
// let train on (detachedAt), one whose window died with it live (run.json's window names a
// process that is gone: an extension host killed without deactivating), but not one a live
// window still follows, nor a live run, nor a run nobody left. Each is told once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { identify } from '../../../src/core/engine/process-identity';
import { RunManager } from '../../../src/core/run/run-manager';
import { RunStore } from '../../../src/core/run/run-store';
import { start, stepEv } from './events';

test('a run left by a closed window and one left by a crashed window are reported once; others are not', async () => {
  const store = new RunStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-unwatched-')), 'runs'));
  const ended = (hour: number) => {
    const r = store.create('/w/ARGS.json', new Date(Date.UTC(2026, 0, 1, hour)));
    r.appendEvent(start());
    r.appendEvent(stepEv(1, 3));
    r.appendEvent({ version: 1, type: 'done', step: 1, reason: 'completed', outputs: {} });
    return r;
  };
  const closed = ended(1);
  closed.markDetached(new Date());
  const crashed = ended(2);
  crashed.setWindow({ pid: 2 ** 22 + 4321, start: '1', host: os.hostname() }); // no such process
  const reusedPid = ended(3);
  const watchedElsewhere = ended(4);
  const quiet = ended(5);
  assert.ok(quiet);
  // Another window, alive: it saw (or will see) the end itself.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => other.once('spawn', r));
    watchedElsewhere.setWindow(identify(other.pid!));
    // A live process with the recorded pid but another start time is not that window.
    reusedPid.setWindow({ ...identify(other.pid!)!, start: 'another start' });
    // A window's mark survives another window writing the trainer's registry meanwhile.
    store.open(crashed.id).setTrainer(undefined);

    const m = new RunManager(store, '');
    const ends = m.unwatchedEnds().map((e) => [e.run.meta.id, e.how]);
    assert.deepEqual(ends.sort(), [[closed.id, 'detached'], [crashed.id, 'window-died'], [reusedPid.id, 'window-died']].sort());
    for (const [id] of ends) m.markReported(id);
    assert.deepEqual(m.unwatchedEnds(), [], 'told once');
    assert.equal(store.open(crashed.id).meta.window, undefined);
  } finally {
    other.kill('SIGKILL');
  }
});
