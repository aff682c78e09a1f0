// The `tuner` debug adapter spoken to over the Debug Adapter Protocol (Content-Length framed
// JSON, as VS Code speaks it), driving a real tuner-train on a tiny model in lockstep.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { RunManager } from '../../../src/core/run/run-manager';
import { RunStore } from '../../../src/core/run/run-store';
import { parseStepBreakpoint, TunerDebugSession, type RunLauncher } from '../../../src/vscode/debug-adapter';
import { makeTinyProject, PREPARE_WORKER } from './tiny-run';

interface Msg {
  seq: number;
  type: 'response' | 'event';
  command?: string;
  event?: string;
  request_seq?: number;
  success?: boolean;
  message?: string;
  body?: Record<string, unknown>;
}

class DapClient {
  readonly toAdapter = new PassThrough();
  readonly fromAdapter = new PassThrough();
  readonly received: Msg[] = [];
  private seq = 1;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor() {
    this.fromAdapter.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const head = this.buf.indexOf('\r\n\r\n');
        if (head < 0) break;
        const len = Number(/Content-Length: (\d+)/.exec(this.buf.subarray(0, head).toString())![1]);
        if (this.buf.length < head + 4 + len) break;
        this.received.push(JSON.parse(this.buf.subarray(head + 4, head + 4 + len).toString()) as Msg);
        this.buf = this.buf.subarray(head + 4 + len);
        for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  async request(command: string, args: unknown = {}): Promise<Msg> {
    const seq = this.seq++;
    const json = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.toAdapter.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    return this.waitFor((m) => m.type === 'response' && m.request_seq === seq);
  }

  async waitFor(pred: (m: Msg) => boolean, from = 0, timeoutMs = 60_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(this.received.map((m) => m.command ?? m.event))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  stopped(from: number): Promise<Msg> {
    return this.waitFor((m) => m.event === 'stopped', from);
  }
}

let dir: string;
let manager: RunManager;
let argsFile: string;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-dap-'));
  argsFile = makeTinyProject(dir, { args: { max_steps: 50, save_interval: 0 } });
  manager = new RunManager(new RunStore(path.join(dir, 'runs')), PREPARE_WORKER);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function connect(): DapClient {
  const launcher: RunLauncher = { launch: async (config, options) => (await manager.start(config.args!, options)).session };
  const client = new DapClient();
  new TunerDebugSession(launcher).start(client.toAdapter, client.fromAdapter);
  return client;
}

test('step breakpoint names', () => {
  assert.equal(parseStepBreakpoint('step 100'), 100);
  assert.equal(parseStepBreakpoint(' at step 7 '), 7);
  assert.equal(parseStepBreakpoint('12'), 12);
  assert.equal(parseStepBreakpoint('loss > 3'), undefined);
});

test('over DAP: stop on entry, step = one optimizer step, "step N" breakpoint, variables, save, stop checkpoints', async () => {
  const c = connect();
  const init = await c.request('initialize', { adapterID: 'tuner', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  const filters = (init.body!.exceptionBreakpointFilters as { filter: string }[]).map((f) => f.filter);
  assert.deepEqual(filters, ['nonFinite', 'lossSpike']);
  await c.waitFor((m) => m.event === 'initialized');
  const badSpike = await c.request('setExceptionBreakpoints', { filters: [], filterOptions: [{ filterId: 'lossSpike', condition: '0.5' }] });
  assert.equal(badSpike.success, false);
  assert.match(badSpike.message!, /must be a number above 1/);
  assert.equal((await c.request('setExceptionBreakpoints', { filters: ['nonFinite'] })).success, true);
  const fbp = await c.request('setFunctionBreakpoints', { breakpoints: [{ name: 'step 3' }, { name: 'warmup' }] });
  assert.deepEqual((fbp.body!.breakpoints as { verified: boolean }[]).map((b) => b.verified), [true, false]);
  const launched = c.request('launch', { args: argsFile, stopOnEntry: true });
  await c.request('configurationDone');
  assert.equal((await launched).success, true);
  assert.equal((await c.stopped(0)).body!.reason, 'entry');

  let mark = c.received.length;
  await c.request('next', { threadId: 1 });
  assert.equal((await c.stopped(mark)).body!.reason, 'step');
  const frames = await c.request('stackTrace', { threadId: 1 });
  assert.match((frames.body!.stackFrames as { name: string }[])[0].name, /^step 1 \/ 50 · loss \d/);

  mark = c.received.length;
  await c.request('continue', { threadId: 1 });
  const bp = await c.stopped(mark);
  assert.equal(bp.body!.reason, 'breakpoint');
  const vars = await c.request('variables', { variablesReference: 1 });
  const scopes = (await c.request('scopes', { frameId: 1 })).body!.scopes as { name: string }[];
  assert.deepEqual(scopes.map((x) => x.name), ['Run', 'Layers (gradient / weight norm)', 'Model']);
  const v = Object.fromEntries((vars.body!.variables as { name: string; value: string }[]).map((x) => [x.name, x.value]));
  assert.equal(v.step, '3');
  assert.equal(v.status, 'paused');
  // Per-layer norms: their squares add up to the step's global gradient norm.
  const layers = (await c.request('variables', { variablesReference: 3 })).body!.variables as { name: string; value: string }[];
  assert.deepEqual(layers.map((l) => l.name), ['layers.0', 'layers.1']);
  const perLayer = manager.current()!.snapshot.layers!;
  const sumSq = perLayer.reduce((acc, l) => acc + l.grad_norm ** 2, 0);
  assert.ok(Math.abs(Math.sqrt(sumSq) - manager.current()!.snapshot.gradNorm!) < 1e-6 * manager.current()!.snapshot.gradNorm!);
  assert.ok(perLayer.every((l) => l.weight_norm > 0));
  const model = await c.request('variables', { variablesReference: 2 });
  assert.ok((model.body!.variables as { name: string }[]).some((x) => x.name === 'trainable_params'));

  const run = manager.current()!;
  const saved = await c.request('evaluate', { expression: 'save', context: 'repl' });
  assert.equal(saved.success, true);
  const deadline = Date.now() + 30_000;
  while (!run.snapshot.lastCheckpoint && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(run.snapshot.lastCheckpoint?.step, 3, 'save while paused checkpoints the paused step');
  assert.equal(run.snapshot.lr, 0.01);
  assert.equal((await c.request('evaluate', { expression: 'set lr -1', context: 'repl' })).success, false);
  assert.equal((await c.request('evaluate', { expression: 'set momentum 0.9', context: 'repl' })).success, false);
  const setLr = await c.request('evaluate', { expression: 'set lr 1e-3', context: 'repl' });
  assert.equal(setLr.success, true);
  assert.match(String(setLr.body!.result), /peak learning rate 0\.001 from the next step/);
  assert.equal((await c.request('evaluate', { expression: 'nonsense', context: 'repl' })).success, false);
  mark = c.received.length;
  await c.request('next', { threadId: 1 });
  await c.stopped(mark);
  assert.equal(run.snapshot.step, 4);
  assert.ok(Math.abs(run.snapshot.lr! - 1e-3) < 1e-15, `lr after set: ${run.snapshot.lr}`);

  await c.request('disconnect', {});
  assert.equal(run.snapshot.status, 'stopped');
  assert.equal(run.snapshot.step, 4, 'no step ran between the last stop and disconnect');
  assert.ok(fs.existsSync(path.join(run.record.dir, 'checkpoints', 'step-00000003')));
});

test('without debugging (noDebug) the run goes free to the end and the session terminates', async () => {
  const c = connect();
  await c.request('initialize', { adapterID: 'tuner', pathFormat: 'path' });
  const launched = c.request('launch', { args: argsFile, noDebug: true });
  await c.request('configurationDone');
  assert.equal((await launched).success, true);
  await c.waitFor((m) => m.event === 'terminated', 0, 120_000);
  const run = manager.store.list().runs[0];
  assert.equal(run.snapshot.status, 'done');
  assert.equal(run.snapshot.step, 50);
  assert.ok(!c.received.some((m) => m.event === 'stopped'));
});

test('a bad ARGS.json fails the launch with the file and line', async () => {
  const bad = path.join(dir, 'bad', 'ARGS.json');
  fs.mkdirSync(path.dirname(bad));
  fs.writeFileSync(bad, '{\n  "model": "./model",\n  "data": "./data.jsonl",\n  "learning_rate": "fast"\n}\n');
  const c = connect();
  await c.request('initialize', { adapterID: 'tuner', pathFormat: 'path' });
  const launched = c.request('launch', { args: bad });
  await c.request('configurationDone');
  const r = await launched;
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.body), /bad\/ARGS\.json:4:\d+: ARG104/);
  await c.waitFor((m) => m.event === 'terminated');
});

/** Waits until `pred` holds (fails after 30 s). */
async function until(pred: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('attach: a run already training goes on step by step under the debugger, stops on "step N", and trains on after Disconnect', async () => {
  const longArgs = makeTinyProject(path.join(dir, 'long'), { args: { max_steps: 100_000, save_interval: 0 } });
  const { session: run } = await manager.start(longArgs, { mode: 'free' });
  await until(() => run.snapshot.step >= 2, 'the free run to step');
  const c = new DapClient();
  new TunerDebugSession({ launch: () => Promise.reject(new Error('not here')), attach: async (id) => manager.session(id!)! }).start(c.toAdapter, c.fromAdapter);
  await c.request('initialize', { adapterID: 'tuner', pathFormat: 'path' });
  const attached = c.request('attach', { run: run.record.id });
  await c.request('configurationDone');
  assert.equal((await attached).success, true);
  assert.equal(run.mode, 'lockstep');

  await c.request('pause', { threadId: 1 });
  assert.equal((await c.stopped(0)).body!.reason, 'pause');
  const at = run.snapshot.step;
  await c.request('setFunctionBreakpoints', { breakpoints: [{ name: `step ${at + 3}` }] });
  let mark = c.received.length;
  await c.request('continue', { threadId: 1 });
  assert.equal((await c.stopped(mark)).body!.reason, 'breakpoint');
  assert.equal(run.snapshot.step, at + 3, 'stopped right after the breakpoint step');
  mark = c.received.length;
  await c.request('next', { threadId: 1 });
  assert.equal((await c.stopped(mark)).body!.reason, 'step');
  assert.equal(run.snapshot.step, at + 4);

  await c.request('continue', { threadId: 1 });
  await c.request('disconnect', { terminateDebuggee: false });
  assert.equal(run.mode, 'free');
  const after = run.snapshot.step;
  await until(() => run.snapshot.step >= after + 10, 'steps after Disconnect');
  assert.equal(run.snapshot.status, 'running', 'disconnecting the debugger does not stop the run');
  run.stop();
  await run.exited;
  assert.equal(run.snapshot.status, 'stopped');
});
