// ARGS.json's output_dir: a completed run's adapter is copied there (replacing only what an
// earlier run published), never to a folder outside the workspace, and never over the user's own.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { OUTPUT_MARKER, outputTarget, publishOutput } from '../../../src/core/run/publish-output';

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-publish-')));
after(() => fs.rmSync(root, { recursive: true, force: true }));

function adapter(dir: string, bytes: string): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), '{"r": 4}');
  fs.writeFileSync(path.join(dir, 'adapter_model.safetensors'), bytes);
  return dir;
}

test('outputTarget: output_dir of ARGS.json, inside the workspace or confirmed; else nothing', () => {
  const ws = path.join(root, 'ws');
  fs.mkdirSync(ws, { recursive: true });
  const argsFile = path.join(ws, 'ARGS.json');
  fs.writeFileSync(argsFile, JSON.stringify({ model: './m', data: './d.jsonl', output_dir: './out' }));
  assert.equal(outputTarget(argsFile, ws), path.join(ws, 'out'));
  fs.writeFileSync(argsFile, JSON.stringify({ model: './m', data: './d.jsonl' }));
  assert.equal(outputTarget(argsFile, ws), path.join(ws, 'output'), 'the default output_dir');
  fs.writeFileSync(argsFile, JSON.stringify({ model: './m', data: './d.jsonl', output_dir: '../elsewhere' }));
  assert.equal(outputTarget(argsFile, ws), undefined, 'outside the workspace: not written');
  assert.equal(outputTarget(argsFile, ws, [path.join(root, 'elsewhere')]), path.join(root, 'elsewhere'), 'unless the user confirmed it');
  fs.symlinkSync(os.tmpdir(), path.join(ws, 'link'));
  fs.writeFileSync(argsFile, JSON.stringify({ model: './m', data: './d.jsonl', output_dir: './link/x' }));
  assert.equal(outputTarget(argsFile, ws), undefined, 'a link out of the workspace is outside');
  fs.writeFileSync(argsFile, '{ not json');
  assert.equal(outputTarget(argsFile, ws), undefined);
});

test('publishOutput copies the adapter with a marker and replaces only an earlier copy', () => {
  const run1 = adapter(path.join(root, 'runs', 'r1', 'adapter'), 'first');
  const out = path.join(root, 'ws', 'out');
  const { dir } = publishOutput(run1, out, 'r1');
  assert.equal(dir, path.join(out, 'adapter'));
  assert.equal(fs.readFileSync(path.join(dir, 'adapter_model.safetensors'), 'utf8'), 'first');
  assert.match(fs.readFileSync(path.join(dir, OUTPUT_MARKER), 'utf8'), /"run":"r1"/);
  const run2 = adapter(path.join(root, 'runs', 'r2', 'adapter'), 'second');
  publishOutput(run2, out, 'r2');
  assert.equal(fs.readFileSync(path.join(dir, 'adapter_model.safetensors'), 'utf8'), 'second');
  assert.deepEqual(fs.readdirSync(out), ['adapter'], 'no temporary folder is left');
  assert.equal(fs.readFileSync(path.join(run1, 'adapter_model.safetensors'), 'utf8'), 'first', 'the run keeps its own copy');
});

test('publishOutput refuses a folder of the user\'s, naming it and the fix', () => {
  const out = path.join(root, 'ws', 'mine');
  adapter(path.join(out, 'adapter'), 'the user\'s own adapter');
  const run = adapter(path.join(root, 'runs', 'r3', 'adapter'), 'third');
  assert.throws(() => publishOutput(run, out, 'r3'), (e: Error) => {
    assert.match(e.message, /mine\/adapter exists and was not made by Tuner .* it is in .*r3\/adapter\. .*set "output_dir"/);
    return true;
  });
  assert.equal(fs.readFileSync(path.join(out, 'adapter', 'adapter_model.safetensors'), 'utf8'), 'the user\'s own adapter');
});
