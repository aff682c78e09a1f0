// A run outlives the window that started it: a real tuner-train started detached by a "window"
// process (detach-window.ts) keeps training after that process is killed; a new manager finds
// it (pid, start time and command line agree), reattaches from events.jsonl, and pauses,
// resumes and stops it through the control socket. Nothing is lost or seen twice, and the
// losses are those of a run nobody interrupted, also after Resume of the stopped run and of one
// whose trainer was killed while detached (bit for bit). Also: a second client is an observer, a
// stale socket is replaced, a trainer killed while detached is reported with its reason, another
// user's connection is refused, and a run folder too deep for a socket path still works.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { after, before, describe, it } from 'node:test';

import { ControlClient, controlAddress } from '../../src/core/engine/control-channel';
import { processArguments } from '../../src/core/engine/process-identity';
import { formatCommand, type StepEvent, type TrainerEvent } from '../../src/core/engine/protocol';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { RunManager } from '../../src/core/run/run-manager';
import type { RunSession } from '../../src/core/run/run-session';
import { RunStore } from '../../src/core/run/run-store';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';
import { sleep, until } from './wait';

const VOCAB = 96;
const WINDOW = path.join(__dirname, 'detach-window.js');

function waitFor(session: RunSession, pred: (e: TrainerEvent) => boolean, what: string, ms = 30000): Promise<TrainerEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const stop = session.listen({
      onEvent: (e) => {
        if (!pred(e)) return;
        clearTimeout(timer);
        stop();
        resolve(e);
      },
      onExit: () => {
        clearTimeout(timer);
        reject(new Error(`the run ended before ${what}`));
      },
    });
  });
}


/**
 * Starts a run from a window process (detach-window.ts), waits for its third step, and kills the
 * window with SIGKILL, or, with `stop`, lets the window stop its runs as it closes.
 */
async function startInWindowAndClose(runsDir: string, planFile: string, binary: string, close?: 'stop'): Promise<{ id: string; pid: number }> {
  const win = spawn(process.execPath, [WINDOW, runsDir, planFile, binary, ...(close ? [close] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => win.once('exit', r));
  const first = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: win.stdout }).once('line', resolve);
    win.once('exit', (code) => reject(new Error(`the window process exited (${code}) before the run stepped`)));
  });
  if (!close) win.kill('SIGKILL');
  await exited;
  return JSON.parse(first) as { id: string; pid: number };
}

function stepNumbers(events: TrainerEvent[]): number[] {
  return steps(events).map((e) => e.step);
}

/**
 * Resume is bit-exact: every step event in `events` (of one trainer or of several, a resumed
 * one's included) has the loss that the same plan, trained straight through by one tuner-train
 * to the last step, has at that step. The trainer prints the shortest text that round-trips each
 * float, so equal numbers are equal bits.
 */
async function assertUninterruptedLosses(events: TrainerEvent[], binary: string, root: string, name: string): Promise<void> {
  const trained = steps(events);
  const last = Math.max(...trained.map((e) => e.step));
  const straight = await runTrainer({ binary, planPath: writePlan(root, basePlan(root, { max_steps: last, threads: 1, output_dir: path.join(root, name) }), `${name}.json`) });
  const loss = new Map(steps(straight.events).map((e: StepEvent) => [e.step, e.loss]));
  assert.equal(loss.size, last);
  for (const e of trained) assert.equal(e.loss, loss.get(e.step), `loss at step ${e.step}`);
}

describe('a detached trainer outlives its window', () => {
  let root: string;
  let binary: string;
  let planFile: string;
  const pids: number[] = [];
  before(() => {
    binary = findTrainerBinary();
    root = tempDir('detach');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(16, 33, VOCAB), VOCAB);
    planFile = writePlan(root, basePlan(root, { max_steps: 100000, threads: 1 }));
  });
  after(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('keeps training with no window, is reattached, and takes pause, resume and stop from the new one', async () => {
    const store = new RunStore(path.join(root, 'runs'));
    const { id, pid } = await startInWindowAndClose(store.root, planFile, binary);
    pids.push(pid);
    const record = store.open(id);
    assert.equal(record.meta.pid, pid);
    assert.ok(record.trainerAlive(), 'the trainer is alive after its window was killed');
    const address = controlAddress(record.dir);
    assert.equal(address, path.join(record.dir, 'control.sock'));
    assert.equal(fs.statSync(address).mode & 0o777, 0o600, 'the socket is its user\'s only');
    // Remote-safe: the trainer is handed only absolute paths of the machine the window's
    // extension host runs on (no URIs, nothing relative to a working folder).
    const args = processArguments(pid)!; // one argument each on Linux (/proc/<pid>/cmdline)
    for (const flag of process.platform === 'linux' ? ['--plan', '--control'] : []) {
      const value = args[args.indexOf(flag) + 1];
      assert.ok(path.isAbsolute(value) && fs.existsSync(value), `${flag} ${value}`);
    }
    const handed = record.plan();
    for (const dir of [handed.model_dir, handed.data_dir, handed.output_dir]) assert.ok(path.isAbsolute(dir) && fs.existsSync(dir), dir);
    const before = record.eventsAndOffset().events;
    await sleep(500);
    const later = record.eventsAndOffset().events;
    assert.ok(steps(later).length > steps(before).length, 'it keeps stepping while no window is open');

    const manager = new RunManager(store, '');
    const [session, ...more] = manager.reattach({ binary });
    assert.equal(more.length, 0);
    assert.equal(session.record.id, id);
    assert.equal(session.pid, pid);
    assert.ok(session.snapshot.step >= 3, 'the snapshot is rebuilt from the events so far');
    const history = session.snapshot.step;
    const seen: TrainerEvent[] = [];
    session.listen({ onEvent: (e) => seen.push(e) });

    // A second window connecting now only watches.
    await until('the control channel', () => session.role !== undefined, 10_000);
    const observer = await ControlClient.connect(address);
    await waitFor(session, (e) => e.type === 'step', 'a step after reattaching');
    assert.equal(session.role, 'controller');
    assert.equal(observer.role, 'observer');
    const refused = new Promise<string>((r) => observer.onMessage((m) => m.type === 'refused' && r(m.message)));
    observer.write(formatCommand('stop'));
    assert.match(await refused, /another window controls this run/);

    session.pause();
    const paused = await waitFor(session, (e) => e.type === 'paused', 'paused');
    await sleep(400);
    assert.equal(session.snapshot.status, 'paused');
    assert.equal(session.snapshot.step, paused.type === 'paused' ? paused.step : -1, 'no step while paused');
    session.resume();
    await waitFor(session, (e) => e.type === 'resumed', 'resumed');
    await waitFor(session, (e) => e.type === 'step', 'a step after resuming');
    session.stop();
    const exit = await session.exited;
    assert.equal(exit.code, null, 'a reattached trainer is not this process\'s child: no exit code');
    assert.equal(session.snapshot.status, 'stopped');
    assert.ok(!fs.existsSync(address), 'the trainer removes its socket when it ends');
    assert.ok(!store.open(id).trainerAlive());
    await observer.closed;

    // Nothing lost, nothing twice: the file holds every step once, in order; what the new window
    // saw is exactly the file after what it had read on reattaching.
    const all = store.open(id).events();
    const numbers = stepNumbers(all);
    assert.deepEqual(numbers, numbers.map((_, i) => i + 1));
    assert.deepEqual(seen, all.slice(all.length - seen.length));
    assert.equal(stepNumbers(seen)[0], history + 1);
    const stopped = all[all.length - 1];
    assert.ok(stopped.type === 'done' && stopped.reason === 'stopped' && stopped.outputs.checkpoint, 'stopped with a checkpoint');

    // Resumed from the checkpoint the stop wrote (as the run's Resume does): it goes on at the
    // next step, so the file holds every step once, in order, across both trainers.
    const resumed = manager.resume(id, { mode: 'free', binary });
    await until('three steps after resuming', () => resumed.snapshot.step >= stopped.step + 3);
    resumed.stop();
    await resumed.exited;
    const both = store.open(id).events();
    const starts = both.filter((e) => e.type === 'start');
    assert.equal(starts.length, 2);
    assert.equal(starts[1].type === 'start' && starts[1].step, stopped.step, 'resumed where it stopped');
    const numbersBoth = stepNumbers(both);
    assert.deepEqual(numbersBoth, numbersBoth.map((_, i) => i + 1), 'every step once, in order, across the stop and the resume');

    // The numbers are an uninterrupted run's: same losses step for step, bit for bit.
    await assertUninterruptedLosses(both, binary, root, 'straight-stopped');
  });

  it('reports a trainer killed while detached, replaces its stale socket on resume, and serves a run folder too deep for a socket path', async () => {
    // A run folder so deep that its socket path would not fit sockaddr_un: the socket goes to
    // the private folder under a hash of the run folder.
    const deep = path.join(root, 'a-folder-name-long-enough-to-matter'.repeat(3));
    fs.mkdirSync(deep, { recursive: true });
    const saving = writePlan(deep, basePlan(root, { max_steps: 100000, threads: 1, save_interval: 3 }), 'saving.json');
    const store = new RunStore(path.join(deep, 'runs'));
    const { id, pid } = await startInWindowAndClose(store.root, saving, binary);
    pids.push(pid);
    const record = store.open(id);
    const address = controlAddress(record.dir);
    assert.ok(!address.startsWith(record.dir), `socket outside the deep folder: ${address}`);
    assert.ok(Buffer.byteLength(address) <= 103);
    assert.ok(fs.statSync(address).isSocket());
    await sleep(300);

    process.kill(pid, 'SIGKILL'); // dies while no window is open: its socket stays behind
    await sleep(200);
    assert.ok(fs.statSync(address).isSocket(), 'a killed trainer leaves its socket');
    const manager = new RunManager(store, '');
    assert.deepEqual(manager.reattach({ binary }), [], 'a dead trainer is not reattached');
    const killed = store.open(id);
    assert.equal(killed.snapshot().status, 'interrupted');
    const ckpt = killed.lastCheckpoint();
    assert.ok(ckpt, 'it checkpointed every 3 steps');

    // A line cut short by the kill is dropped before the next trainer appends.
    fs.appendFileSync(record.eventsFile, '{"version":1,"type":"st');
    const killedAt = killed.snapshot().step;
    const resumed = manager.resume(id, { mode: 'free', binary });
    await waitFor(resumed, (e) => e.type === 'step', 'a step of the resumed run');
    // The channel answers (the first steps may come before the connection does).
    await until('the resumed run\'s control channel', () => resumed.role !== undefined, 10_000);
    assert.equal(resumed.role, 'controller', 'the stale socket was replaced by the new trainer\'s');
    // Past the step where it was killed: the steps after the checkpoint are trained again.
    await until('steps past the kill', () => resumed.snapshot.step >= killedAt + 2);
    resumed.stop();
    await resumed.exited;
    assert.equal(resumed.snapshot.status, 'stopped');
    const all = store.open(id).events(); // parses: no broken line in the middle
    const starts = all.filter((e) => e.type === 'start');
    assert.equal(starts.length, 2);
    assert.equal(starts[1].type === 'start' && starts[1].step, ckpt.step);
    assert.match(fs.readFileSync(record.logFile, 'utf8'), /dropped an unfinished last line of events\.jsonl/);
    assert.ok(!fs.existsSync(address), 'removed when the resumed trainer ended');
    // Every step of the killed trainer and of the resumed one, the steps trained twice
    // included, has the loss of a run nobody interrupted.
    await assertUninterruptedLosses(all, binary, root, 'straight-killed');
  });

  it('stops the run with a checkpoint when its window closes with tuner.runs.stopWhenWindowCloses, and leaves nothing to report', async () => {
    const store = new RunStore(path.join(root, 'runs-stop'));
    const { id, pid } = await startInWindowAndClose(store.root, planFile, binary, 'stop');
    pids.push(pid);
    // The window exited at once; the trainer got the stop command and ends by itself.
    await until('the trainer ends', () => !store.open(id).trainerAlive());
    const record = store.open(id);
    const events = record.events();
    const done = events[events.length - 1];
    assert.ok(done.type === 'done' && done.reason === 'stopped', `stopped by the closing window: ${JSON.stringify(done)}`);
    assert.equal(record.lastCheckpoint()?.step, done.step, 'with a checkpoint for Resume');
    const next = new RunManager(store, '');
    assert.deepEqual(next.reattach({ binary }), []);
    assert.deepEqual(next.unwatchedEnds(), [], 'the next window has nothing to report: the closing window stopped it on purpose');
  });

  it('refuses another user\'s connection even when the socket file lets it in', { skip: process.getuid?.() !== 0 && 'needs root to act as another user' }, async () => {
    const store = new RunStore(path.join(root, 'runs-users'));
    const manager = new RunManager(store, '');
    const session = manager.startPlan(planFile, { mode: 'free', binary });
    await waitFor(session, (e) => e.type === 'step', 'a step');
    const address = controlAddress(session.record.dir);
    // Open the folders on the way and the socket itself: only the trainer's own check is left.
    fs.chmodSync(root, 0o755);
    fs.chmodSync(address, 0o777);
    const client = `const s=require('net').connect(${JSON.stringify(address)});s.setEncoding('utf8');let t='';s.on('data',d=>t+=d);s.on('close',()=>{console.log(t.trim());});s.on('error',e=>console.log('error '+e.code));`;
    const r = spawnSync(process.execPath, ['-e', client], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10000 });
    assert.match(r.stdout, /"type":"refused".*another user/);
    session.stop();
    await session.exited;
    assert.equal(session.snapshot.status, 'stopped', 'the refused client changed nothing');
  });
});
