// A runs/ folder shipped with a workspace: crafted run ids, run folders and files that are
// symbolic links, a plan.json whose output_dir holds links named like the trainer's temporary
// folders, and events naming checkpoints elsewhere. Resuming runs the real tuner-train
// (build/native, or $TUNER_NATIVE_BUILD_DIR) on a real tiny run; nothing outside the run's
// folder may be read as a run, written or deleted.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunManager } from '../../../src/core/run/run-manager';
import { RunStore, RunStoreError } from '../../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER } from '../../unit/run/tiny-run';
import { makeArena, type Arena } from '../workspaces';

const ID = '20260101-120000';

function shipRun(store: RunStore, id: string, meta: Record<string, unknown> = {}): string {
  const dir = path.join(store.root, id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ version: 1, id, argsFile: '/w/ARGS.json', created: '2026-01-01T12:00:00Z', ...meta }));
  return dir;
}

describe('crafted run ids and run folders', () => {
  let arena: Arena;
  let store: RunStore;
  before(() => {
    arena = makeArena();
    store = RunStore.forWorkspace(arena.ws);
    fs.mkdirSync(store.root);
    // A folder outside the workspace that looks like a run: ids must never reach it.
    fs.writeFileSync(path.join(arena.outside, 'run.json'), JSON.stringify({ version: 1, id: 'outside', argsFile: '/x', created: '' }));
  });
  after(() => arena.dispose());

  for (const id of ['../../outside', '../outside', '..', '.', '', '/etc', `${ID}/../../../outside`, `${ID}/..`, 'runs', `${ID}\u0000`, `${ID} `, '20260101-120000-1234567']) {
    test(`store.open(${JSON.stringify(id)}) is refused as not a run id`, () => {
      assert.throws(() => store.open(id), (e: Error) => e instanceof RunStoreError && /is not a run id/.test(e.message));
    });
  }

  test('a run folder that is a symbolic link to a folder elsewhere is neither opened nor listed', () => {
    fs.symlinkSync(arena.outside, path.join(store.root, ID));
    try {
      assert.throws(() => store.open(ID), /symbolic link/);
      const { runs, problems } = store.list();
      assert.deepEqual(runs, []);
      assert.equal(problems.length, 1);
      assert.match(problems[0], /symbolic link/);
    } finally {
      fs.unlinkSync(path.join(store.root, ID));
    }
  });

  test('a run.json whose id is not its folder\'s name is refused (the id names paths elsewhere)', () => {
    const dir = shipRun(store, '20260101-130000', { id: '../../outside' });
    assert.throws(() => store.open('20260101-130000'), /"id" is "..\/..\/outside" but the run's folder is 20260101-130000/);
    fs.rmSync(dir, { recursive: true });
  });

  test('a folder under runs/ not named like a run id is reported, not listed', () => {
    const dir = shipRun(store, 'x', { id: 'x' });
    const { runs, problems } = store.list();
    assert.deepEqual(runs, []);
    assert.match(problems.join('\n'), /"x" is not a run id/);
    fs.rmSync(dir, { recursive: true });
  });

  test('a runs/ folder that is a link lists nothing and creates nothing there', () => {
    const linked = new RunStore(path.join(arena.ws, 'runs-link'));
    fs.symlinkSync(arena.outside, linked.root);
    assert.match(linked.list().problems[0], /symbolic link/);
    assert.throws(() => linked.create(path.join(arena.ws, 'ARGS.json')), /symbolic link/);
    assert.throws(() => linked.open(ID), /symbolic link/);
    assert.deepEqual(fs.readdirSync(arena.outside).sort(), ['data', 'keep.txt', 'nested', 'run.json', 'secret.jinja', 'secret.jsonl']);
  });

  test('events.jsonl and plan.json that are links to files elsewhere are not read', () => {
    const dir = shipRun(store, ID);
    fs.symlinkSync(path.join(arena.outside, 'secret.jsonl'), path.join(dir, 'events.jsonl'));
    fs.symlinkSync(path.join(arena.outside, 'secret.jsonl'), path.join(dir, 'plan.json'));
    const rec = store.open(ID);
    assert.throws(() => rec.events(), (e: Error) => /symbolic link/.test(e.message) && !e.message.includes(arena.secret));
    assert.throws(() => rec.plan(), (e: Error) => /symbolic link/.test(e.message) && !e.message.includes(arena.secret));
    fs.rmSync(dir, { recursive: true });
  });

  test('checkpoints named by events.jsonl count only as folders of the run itself', () => {
    const dir = shipRun(store, ID);
    const elsewhere = path.join(arena.outside, 'step-00000004');
    fs.mkdirSync(elsewhere);
    const ev = (step: number, p: string) => JSON.stringify({ version: 1, type: 'checkpoint', step, path: p }) + '\n';
    fs.writeFileSync(path.join(dir, 'events.jsonl'), ev(4, elsewhere) + ev(8, path.join(arena.outside, 'nested')));
    const rec = store.open(ID);
    assert.equal(rec.lastCheckpoint(), undefined, 'no folder of the run has those names');
    fs.mkdirSync(path.join(dir, 'checkpoints', 'step-00000004'), { recursive: true });
    assert.deepEqual(rec.lastCheckpoint(), { step: 4, path: path.join(dir, 'checkpoints', 'step-00000004') });
    fs.rmSync(path.join(dir, 'checkpoints', 'step-00000004'), { recursive: true });
    fs.symlinkSync(elsewhere, path.join(dir, 'checkpoints', 'step-00000004'));
    assert.equal(rec.lastCheckpoint(), undefined, 'a link named like a checkpoint is not one');
    fs.rmSync(dir, { recursive: true });
    fs.rmSync(elsewhere, { recursive: true });
  });

  test('resume refuses crafted ids before touching anything', () => {
    const manager = new RunManager(store, PREPARE_WORKER);
    for (const id of ['../../outside', `${ID}/../../../outside`]) {
      assert.throws(() => manager.resume(id, { mode: 'free' }), /is not a run id/);
    }
    assert.ok(arena.outsideIntact());
  });
});

describe('resuming a shipped run with a crafted plan.json (real tuner-train)', () => {
  let arena: Arena;
  let manager: RunManager;
  let id: string;
  let runDir: string;
  before(async () => {
    arena = makeArena();
    const argsFile = makeTinyProject(arena.ws, { args: { max_steps: 8, save_interval: 4 } });
    manager = new RunManager(RunStore.forWorkspace(arena.ws), PREPARE_WORKER);
    const { session } = await manager.start(argsFile, { mode: 'free' });
    const exit = await session.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    id = session.record.id;
    runDir = session.record.dir;
  });
  after(() => arena.dispose());

  test('output_dir pointing at a folder of links: the trainer writes only into the run folder, and nothing the links point to is deleted', async () => {
    // What a repository can ship: a folder whose entries are named like the trainer's leftovers
    // but link to the user's folders, and a plan.json sending output_dir there.
    const trap = path.join(arena.ws, 'trap');
    fs.mkdirSync(path.join(trap, 'checkpoints'), { recursive: true });
    fs.symlinkSync(arena.outside, path.join(trap, '.tmp-final-1'));
    fs.symlinkSync(path.join(arena.outside, 'data'), path.join(trap, 'checkpoints', '.tmp-step-00000004-1'));
    fs.symlinkSync(path.join(arena.outside, 'nested'), path.join(trap, 'adapter'));
    const planFile = path.join(runDir, 'plan.json');
    const plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(planFile, JSON.stringify({ ...plan, output_dir: trap }));

    const session = manager.resume(id, { mode: 'free' }, path.join(runDir, 'checkpoints', 'step-00000004'));
    const exit = await session.exited;
    assert.ok(arena.outsideIntact(), 'every file outside the workspace is still there');
    assert.equal(exit.code, 0, exit.stderrTail);
    const rebuilt = JSON.parse(fs.readFileSync(planFile, 'utf8')) as Record<string, unknown>;
    assert.equal(rebuilt.output_dir, runDir);
    assert.equal(rebuilt.data_dir, path.join(runDir, 'data', 'train'));
    assert.equal(session.record.events().filter((e) => e.type === 'start').length, 2, 'the run was resumed');
    assert.ok(fs.existsSync(path.join(runDir, 'adapter', 'adapter_model.safetensors')), 'the resumed run saved its adapter into its own folder');
    assert.deepEqual(fs.readdirSync(trap).sort(), ['.tmp-final-1', 'adapter', 'checkpoints'], 'the trap folder was not written to');
  });

  test('a run folder holding a link where its checkpoints belong is refused before the trainer starts', () => {
    const ckpts = path.join(runDir, 'checkpoints');
    fs.renameSync(ckpts, path.join(runDir, 'checkpoints-real'));
    fs.symlinkSync(arena.outside, ckpts);
    try {
      assert.throws(() => manager.resume(id, { mode: 'free' }), (e: Error) => e instanceof RunStoreError && /checkpoints is a symbolic link/.test(e.message));
      assert.ok(arena.outsideIntact());
    } finally {
      fs.unlinkSync(ckpts);
      fs.renameSync(path.join(runDir, 'checkpoints-real'), ckpts);
    }
  });

  test('an events.jsonl linked to a file elsewhere is refused, not appended to', () => {
    const events = path.join(runDir, 'events.jsonl');
    fs.renameSync(events, `${events}.real`);
    fs.symlinkSync(path.join(arena.outside, 'keep.txt'), events);
    try {
      assert.throws(() => manager.resume(id, { mode: 'free' }), /events\.jsonl is a symbolic link/);
      assert.ok(arena.outsideIntact());
    } finally {
      fs.unlinkSync(events);
      fs.renameSync(`${events}.real`, events);
    }
  });

  test('a checkpoint argument outside the run is refused', () => {
    fs.mkdirSync(path.join(arena.outside, 'step-00000004'), { recursive: true });
    assert.throws(() => manager.resume(id, { mode: 'free' }, path.join(arena.outside, 'step-00000004')), /is not a checkpoint of run/);
  });
});
