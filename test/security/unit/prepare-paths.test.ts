// ARGS.json paths in a malicious workspace: each field preparation reads or writes (data,
// eval_data, a chat template file, output_dir) given as an absolute path, a ".." path, a
// symbolic link inside the workspace and a path through a linked folder, all leading to the
// user's folder outside. Preparing (in the thread, in the worker as "Prepare Dataset" does, and
// as "Fine-tune: Start" does) must refuse each with the typed OutsideWorkspaceError before
// reading or deleting anything, proceed once the user confirmed the location, and never remove
// a folder preparation did not make.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { resolveArgs } from '../../../src/core/args/fields';
import { validateArgsText } from '../../../src/core/args/validate';
import { prepareDataset } from '../../../src/core/dataset/prepare';
import { prepareInWorker } from '../../../src/core/dataset/prepare-client';
import { NotTunersFolderError, OutsideWorkspaceError, PREPARED_MARKER, type PathField } from '../../../src/core/dataset/prepare-paths';
import { planPreparation } from '../../../src/core/dataset/prepare-setup';
import { handlePreview } from '../../../src/core/dataset/preview-worker';
import { RunManager } from '../../../src/core/run/run-manager';
import { RunStore } from '../../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER } from '../../unit/run/tiny-run';
import { allText, makeArena, type Arena } from '../workspaces';

let arena: Arena;
let argsFile: string;
let baseArgs: Record<string, unknown>;

before(() => {
  arena = makeArena();
  argsFile = makeTinyProject(arena.ws, { records: 20 });
  baseArgs = JSON.parse(fs.readFileSync(argsFile, 'utf8')) as Record<string, unknown>;
  // Links inside the workspace, as a repository can ship them.
  fs.symlinkSync(path.join(arena.outside, 'secret.jsonl'), path.join(arena.ws, 'linked.jsonl'));
  fs.symlinkSync(path.join(arena.outside, 'secret.jinja'), path.join(arena.ws, 'linked.jinja'));
  fs.symlinkSync(arena.outside, path.join(arena.ws, 'linked-folder'));
});
after(() => arena.dispose());

function writeArgs(fields: Record<string, unknown>) {
  fs.writeFileSync(argsFile, JSON.stringify({ ...baseArgs, ...fields }, null, 2));
  const check = validateArgsText(fs.readFileSync(argsFile, 'utf8'));
  assert.ok(check.args, JSON.stringify(check.problems));
  return resolveArgs(check.args);
}

const rel = (p: string) => path.relative(arena.ws, p);

/** For each field: the ways a value can lead outside the workspace. */
function attacks(field: PathField): Record<string, string> {
  const file = field === 'chat_template' ? 'secret.jinja' : field === 'output_dir' ? '.' : 'secret.jsonl';
  const linked = field === 'chat_template' ? './linked.jinja' : field === 'output_dir' ? './linked-folder' : './linked.jsonl';
  return {
    absolute: path.join(arena.outside, file),
    'dot-dot': path.join(rel(arena.outside), file),
    'link in the workspace': linked,
    'path through a linked folder': path.join('linked-folder', file),
  };
}

const FIELDS: PathField[] = ['data', 'eval_data', 'chat_template', 'output_dir'];

describe('every ARGS.json path that leads outside the workspace is refused before use', () => {
  afterEach(() => assert.ok(arena.outsideIntact(), 'the user\'s folder outside the workspace is unchanged'));
  for (const field of FIELDS) {
    for (const [how, value] of Object.entries(attacks(field))) {
      test(`${field}: ${how}`, () => {
        const args = writeArgs({ [field]: value });
        assert.throws(() => planPreparation(args, argsFile, undefined, { workspace: arena.ws }), (e: Error) => {
          assert.ok(e instanceof OutsideWorkspaceError, `${e.name}: ${e.message}`);
          assert.deepEqual(e.paths.map((p) => p.field), [field]);
          assert.ok(e.paths[0].path.startsWith(arena.outside), e.paths[0].path);
          return true;
        });
      });
    }
  }

  test('the default workspace is the folder of ARGS.json', () => {
    const args = writeArgs({ data: path.join(arena.outside, 'secret.jsonl') });
    assert.throws(() => planPreparation(args, argsFile), OutsideWorkspaceError);
  });
});

describe('the token preview reads only a chat template inside the workspace', () => {
  const line = JSON.stringify({ input: 'what is the capital of france ?', output: 'paris .' });
  for (const [how, value] of Object.entries(attacks('chat_template'))) {
    test(`chat_template: ${how}`, () => {
      const args = writeArgs({ chat_template: value });
      const r = handlePreview({ id: 1, argsFile, args, line, workspace: arena.ws });
      assert.ok('error' in r, JSON.stringify(r).slice(0, 200));
      assert.match(r.error, /outside the workspace/);
      assert.ok(!r.error.includes(arena.secret));
    });
  }

  test('paths the preview does not use are not its concern', () => {
    const args = writeArgs({ output_dir: arena.outside });
    const r = handlePreview({ id: 2, argsFile, args, line, workspace: arena.ws });
    assert.ok(!('error' in r), JSON.stringify(r).slice(0, 300));
  });
});

describe('Prepare Dataset (worker) and Fine-tune: Start refuse too, with the typed error', () => {
  afterEach(() => assert.ok(arena.outsideIntact(), 'the user\'s folder outside the workspace is unchanged'));

  test('output_dir outside: prepareInWorker rejects with OutsideWorkspaceError and deletes nothing', async () => {
    const args = writeArgs({ output_dir: arena.outside });
    await assert.rejects(prepareInWorker(PREPARE_WORKER, args, argsFile, {}, undefined, undefined, { workspace: arena.ws }), (e: Error) => {
      assert.ok(e instanceof OutsideWorkspaceError, `${e.name}: ${e.message}`);
      assert.equal(e.paths[0].field, 'output_dir');
      assert.equal(e.paths[0].path, path.join(arena.outside, 'data'));
      return true;
    });
  });

  test('data through a link: a new run is refused before any data is read, and leaves no run folder', async () => {
    writeArgs({ data: './linked.jsonl' });
    const manager = new RunManager(RunStore.forWorkspace(arena.ws), PREPARE_WORKER);
    await assert.rejects(manager.start(argsFile, { mode: 'free' }), (e: Error) => e instanceof OutsideWorkspaceError && e.paths[0].field === 'data');
    assert.deepEqual(manager.store.list().runs, []);
    assert.ok(!allText(path.join(arena.ws, 'runs')).includes(arena.secret));
  });
});

describe('a location the user confirmed is used; a folder Tuner did not make is never removed', () => {
  afterEach(() => {
    writeArgs({});
  });

  test('confirmed data file outside the workspace is prepared', async () => {
    const outsideData = path.join(arena.outside, 'secret.jsonl');
    const args = writeArgs({ data: outsideData });
    const out = await prepareInWorker(PREPARE_WORKER, args, argsFile, {}, undefined, path.join(arena.ws, 'confirmed'), { workspace: arena.ws, allowed: [outsideData] });
    assert.equal(out.report.dataFile, outsideData);
    assert.ok(fs.existsSync(path.join(arena.ws, 'confirmed', PREPARED_MARKER)));
    assert.ok(arena.outsideIntact());
  });

  test('confirmed output_dir outside whose data/ folder is the user\'s: refused, the folder stays', async () => {
    const args = writeArgs({ output_dir: arena.outside });
    await assert.rejects(
      prepareInWorker(PREPARE_WORKER, args, argsFile, {}, undefined, undefined, { workspace: arena.ws, allowed: [path.join(arena.outside, 'data')] }),
      /was not made by Tuner \(it has no \.tuner-prepared file\)/,
    );
    assert.ok(arena.outsideIntact());
    assert.deepEqual(fs.readdirSync(arena.outside).filter((n) => n.includes('.tmp-')), [], 'no staging folder left behind');
  });

  test('output_dir "." inside the workspace whose data/ is the user\'s own folder: refused, kept', async () => {
    fs.mkdirSync(path.join(arena.ws, 'data'), { recursive: true });
    fs.writeFileSync(path.join(arena.ws, 'data', 'mine.jsonl'), '{}\n');
    const args = writeArgs({ output_dir: '.' });
    await assert.rejects(prepareInWorker(PREPARE_WORKER, args, argsFile, {}, undefined, undefined, { workspace: arena.ws }), /data was not made by Tuner/);
    assert.equal(fs.readFileSync(path.join(arena.ws, 'data', 'mine.jsonl'), 'utf8'), '{}\n');
  });

  test('a folder preparation made is replaced by the next preparation', async () => {
    const args = writeArgs({ output_dir: './out' });
    const first = await prepareInWorker(PREPARE_WORKER, args, argsFile, {}, undefined, undefined, { workspace: arena.ws });
    fs.writeFileSync(path.join(first.outDir, 'stale.txt'), 'from the first preparation');
    const second = await prepareInWorker(PREPARE_WORKER, args, argsFile, {}, undefined, undefined, { workspace: arena.ws });
    assert.equal(second.outDir, first.outDir);
    assert.ok(!fs.existsSync(path.join(second.outDir, 'stale.txt')));
    assert.ok(fs.existsSync(path.join(second.outDir, 'train', 'manifest.json')));
  });

  test('a link where the staging folder goes is refused, not followed', () => {
    const outDir = path.join(arena.ws, 'staged');
    const staging = `${outDir}.tmp-${process.pid}`;
    fs.symlinkSync(path.join(arena.outside, 'data'), staging);
    try {
      const args = writeArgs({});
      const plan = planPreparation(args, argsFile, outDir, { workspace: arena.ws });
      assert.throws(() => prepareDataset(plan.options, plan.renderer, plan.tokenizer), (e: Error) => e instanceof NotTunersFolderError && /is a symbolic link, so Tuner will not replace it/.test(e.message));
      assert.ok(arena.outsideIntact());
    } finally {
      fs.unlinkSync(staging);
    }
  });
});
