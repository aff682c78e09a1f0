import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { identify } from '../../../src/core/engine/process-identity';
import { newRunId, parseEventLog, RunRecord, RunStore, RunStoreError } from '../../../src/core/run/run-store';
import { start, stepEv } from './events';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-store-'));
const line = (o: unknown) => JSON.stringify(o) + '\n';

test('run ids sort by time and never collide', () => {
  const t = new Date(Date.UTC(2026, 10, 23, 15, 4, 5));
  assert.equal(newRunId(t, () => false), '20261123-150405');
  const taken = new Set(['20261123-150405', '20261123-150405-2']);
  assert.equal(newRunId(t, (id) => taken.has(id)), '20261123-150405-3');
});

test('the event log drops a last line cut by a kill, and names any other bad line', () => {
  const good = line(start()) + line(stepEv(1, 2));
  assert.equal(parseEventLog(good, 'e.jsonl').length, 2);
  assert.equal(parseEventLog(good + '{"version":1,"type":"st', 'e.jsonl').length, 2);
  assert.throws(() => parseEventLog(line(start()) + 'garbage\n' + line(stepEv(1, 2)), '/r/events.jsonl'), (e: Error) => e instanceof RunStoreError && /^\/r\/events\.jsonl:2: /.test(e.message));
  assert.throws(() => parseEventLog(good + '{"version":9,"type":"step"}\n', 'e.jsonl'), /e\.jsonl:3: .*version 9/);
});

test('create, append, reopen, list newest first; a run whose trainer is gone (or whose pid is reused) is interrupted', async () => {
  const store = new RunStore(path.join(tmp(), 'runs'));
  const a = store.create('/w/ARGS.json', new Date(Date.UTC(2026, 0, 1, 10)));
  const b = store.create('/w/ARGS.json', new Date(Date.UTC(2026, 0, 1, 11)));
  a.appendEvent(start());
  a.appendEvent(stepEv(1, 3));
  a.appendEvent({ version: 1, type: 'checkpoint', step: 1, path: path.join(a.dir, 'checkpoints', 'step-00000001') });
  a.appendEvent(stepEv(2, 2.5));
  a.setTrainer({ pid: 2 ** 22 + 12345, start: '1', host: os.hostname() }); // no such process
  const reopened = store.open(a.id);
  assert.equal(reopened.events().length, 4);
  assert.equal(reopened.snapshot().status, 'interrupted');
  assert.equal(reopened.lastCheckpoint(), undefined, 'a checkpoint folder that does not exist is not offered');
  fs.mkdirSync(path.join(a.dir, 'checkpoints', 'step-00000001'), { recursive: true });
  assert.equal(reopened.lastCheckpoint()?.step, 1);
  // Alive: a process whose command line names this run's plan, with the start time recorded.
  const trainer = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', a.planFile], { stdio: 'ignore' });
  try {
    await new Promise((r) => trainer.once('spawn', r));
    a.setTrainer(identify(trainer.pid!));
    assert.equal(store.open(a.id).snapshot().status, 'running');
    // The same pid with another start time is a process that got the number since.
    a.setTrainer({ ...identify(trainer.pid!)!, start: 'another start' });
    assert.equal(store.open(a.id).snapshot().status, 'interrupted');
    // A live process that is not this run's trainer (a reused pid) does not keep the run live.
    a.setTrainer(identify(process.pid));
    assert.equal(store.open(a.id).snapshot().status, 'interrupted');
    a.setTrainer(identify(trainer.pid!));
  } finally {
    trainer.kill('SIGKILL');
  }
  const { runs, problems } = store.list();
  assert.deepEqual(runs.map((r) => r.meta.id), [b.id, a.id]);
  assert.deepEqual(problems, []);
  assert.equal(runs[0].snapshot.status, 'failed', 'a run with no events and no trainer never started');
});

test('a damaged run folder is reported by name, not thrown from list()', () => {
  const store = new RunStore(path.join(tmp(), 'runs'));
  const a = store.create('/w/ARGS.json');
  fs.writeFileSync(path.join(a.dir, 'run.json'), '{"version": 7}');
  const { runs, problems } = store.list();
  assert.equal(runs.length, 0);
  assert.match(problems[0], /run\.json: not a version 1 run record/);
  assert.throws(() => RunRecord.open(path.join(store.root, 'nope')), /cannot read the run/);
});

test('two windows writing run.json at the same moment: neither write fails, and the file is always one whole version', async () => {
  const store = new RunStore(path.join(tmp(), 'runs'));
  const run = store.create('/w/ARGS.json', new Date(Date.UTC(2026, 0, 1, 10)));
  // The other window: a second process updating the same run's run.json as fast as it can.
  const storeModule = path.resolve(__dirname, '../../../src/core/run/run-store.js');
  const other = spawn(process.execPath, ['-e', `
    const { RunRecord } = require(${JSON.stringify(storeModule)});
    const r = RunRecord.open(${JSON.stringify(run.dir)});
    const until = Date.now() + 800;
    let n = 0;
    while (Date.now() < until) { r.setFailure('other window ' + n++); }
    process.stdout.write(String(n));`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  other.stdout.on('data', (d) => (out += d));
  other.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => other.on('exit', r));
  let writes = 0;
  const until = Date.now() + 800;
  while (Date.now() < until) {
    run.setFailure(`this window ${writes++}`);
    const meta = JSON.parse(fs.readFileSync(path.join(run.dir, 'run.json'), 'utf8')) as { failure?: { message: string } };
    assert.match(meta.failure?.message ?? '', /window \d+$/);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await exited, 0, err);
  assert.ok(Number(out) > 100 && writes > 100, `${out} and ${writes} writes`);
  assert.deepEqual(fs.readdirSync(run.dir).filter((f) => f.endsWith('.tmp') || f.includes('.partial-')), [], 'no temporary file left');
});
