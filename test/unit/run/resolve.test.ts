// ARGS.json -> prepared run folder -> plan, as "Fine-tune: Start" and the debugger do it: the
// data is prepared in the worker thread (the caller's event loop keeps turning, progress arrives,
// abort leaves nothing half-written) and the plan is argsToRunPlan's, placed in the run folder.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readArgsFile, prepareRun, ArgsError } from '../../../src/core/run/resolve';
import { argsToRunPlan } from '../../../src/core/args/run-plan';
import { RunManager } from '../../../src/core/run/run-manager';
import { RunStore } from '../../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER } from './tiny-run';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-resolve-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

describe('prepareRun', () => {
  // Enough records for many progress reports (one per 256 records).
  const argsFile = makeTinyProject(path.join(root, 'big'), { records: 20_000, args: { eval_split: 0.1, eval_interval: 5 } });

  it('prepares in the worker: progress arrives while the event loop keeps turning, and the plan is argsToRunPlan\'s', async () => {
    const runDir = path.join(root, 'big', 'runs', 'r1');
    fs.mkdirSync(runDir, { recursive: true });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const fractions: number[] = [];
    const stages: string[] = [];
    let ticksAtFirstProgress = -1;
    const prepared = await prepareRun(argsFile, runDir, {
      workerPath: PREPARE_WORKER,
      onStage: (s) => stages.push(s),
      onProgress: (p) => {
        if (fractions.length === 0) ticksAtFirstProgress = ticks;
        fractions.push(p.fraction);
      },
    }).finally(() => clearInterval(timer));
    assert.deepEqual(stages, ['Loading the tokenizer', 'Tokenizing']);
    assert.ok(fractions.length >= 10, `${fractions.length} progress reports`);
    assert.equal(fractions.at(-1), 1);
    // Synchronous preparation would hold the loop, so no timer could fire between reports.
    assert.ok(ticks > ticksAtFirstProgress, `timer ticks: ${ticksAtFirstProgress} at first progress, ${ticks} at the end`);
    assert.equal(prepared.report.trainDocuments + prepared.report.evalDocuments, 20_000);
    assert.ok(prepared.report.evalDocuments > 0);
    assert.ok(fs.readdirSync(path.join(runDir, 'data', 'train')).length > 0);
    const expected = argsToRunPlan(readArgsFile(argsFile), {
      modelDir: path.join(root, 'big', 'model'),
      trainDataDir: path.join(runDir, 'data', 'train'),
      evalDataDir: path.join(runDir, 'data', 'eval'),
      outputDir: runDir,
    });
    assert.deepEqual(prepared.plan, expected);
    assert.equal(prepared.plan.eval_interval, 5);
    assert.ok(prepared.notes[0].startsWith('chat template: '));
  });

  it('abort stops the worker and leaves no shards, staged or final', async () => {
    const runDir = path.join(root, 'big', 'runs', 'r2');
    fs.mkdirSync(runDir, { recursive: true });
    const ac = new AbortController();
    let reports = 0;
    const p = prepareRun(argsFile, runDir, { workerPath: PREPARE_WORKER, signal: ac.signal, onProgress: () => {
      reports++;
      ac.abort();
    } });
    await assert.rejects(p, (e: Error) => e.name === 'AbortError');
    assert.ok(reports >= 1);
    assert.deepEqual(fs.readdirSync(runDir), []);
  });

  /** prepareRun on a project with `args` is refused at the line of `field`, the message matching `reason`, and prepares nothing. */
  async function refusedAt(name: string, args: Record<string, unknown>, field: string, reason: string): Promise<void> {
    const dir = path.join(root, name);
    const file = makeTinyProject(dir, { args });
    const runDir = path.join(dir, 'runs', 'r1');
    fs.mkdirSync(runDir, { recursive: true });
    const line = fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(`"${field}"`));
    await assert.rejects(prepareRun(file, runDir, { workerPath: PREPARE_WORKER }), (e: Error) => {
      assert.ok(e instanceof ArgsError);
      assert.equal(e.line, line);
      assert.match(e.message, new RegExp(`ARGS\\.json:${line + 1}:\\d+: "${field}": ${reason}`));
      return true;
    });
    assert.deepEqual(fs.readdirSync(runDir), []);
  }

  it('refuses a setting the trainer cannot run at its line, before preparing anything', async () => {
    await refusedAt('lomo-lion', { method: 'lomo', optimizer: 'lion' }, 'optimizer', 'method "lomo" fuses a plain SGD step into backward');
  });

  it('refuses device "cuda" at its line for a run the GPU path does not train (LOMO), before preparing', async () => {
    await refusedAt('cuda-lomo', { device: 'cuda', method: 'lomo', optimizer: 'sgd' }, 'device', 'the GPU path cannot train this run: method lomo trains on the CPU only.*"auto" \\(the CPU trains it\\) or "cpu"');
  });

  it('a preparation error from the worker names the data file and line, and leaves no shards', async () => {
    const dir = path.join(root, 'short');
    const file = makeTinyProject(dir, { args: { max_length: 8, truncation: 'drop' } });
    const runDir = path.join(dir, 'runs', 'r1');
    fs.mkdirSync(runDir, { recursive: true });
    const dataFile = path.join(dir, 'data.jsonl').replace(/[.]/g, '\\.');
    await assert.rejects(prepareRun(file, runDir, { workerPath: PREPARE_WORKER }), new RegExp(`${dataFile}: .*line 1: \\d+ tokens, over max_length 8`));
    assert.deepEqual(fs.readdirSync(runDir), []);
  });
});

describe('RunManager.start', () => {
  it('cancelled during preparation: rejects with AbortError and keeps no run folder', async () => {
    const argsFile = makeTinyProject(path.join(root, 'big'), { records: 20_000 });
    const manager = new RunManager(new RunStore(path.join(root, 'big', 'runs-manager')), PREPARE_WORKER);
    const ac = new AbortController();
    await assert.rejects(manager.start(argsFile, { mode: 'free', signal: ac.signal, onProgress: () => ac.abort() }), (e: Error) => e.name === 'AbortError');
    const runsRoot = path.join(root, 'big', 'runs-manager');
    assert.deepEqual(fs.existsSync(runsRoot) ? fs.readdirSync(runsRoot) : [], []);
    assert.deepEqual(manager.sessions(), []);
  });
});
