// Every bad input to tuner-train ends in one `error` event with its code, a message naming
// the file / field, a hint, and a non-zero exit; never a signal (crash / core dump).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { RunPlan } from '../../src/core/engine/plan';
import type { TrainerExit } from '../../src/core/engine/trainer-client';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

function tensorOffset(file: string, name: string): { offset: number; shape: number[] } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, { data_offsets: [number, number]; shape: number[] }>;
  return { offset: 8 + n + header[name].data_offsets[0], shape: header[name].shape };
}

function expectError(exit: TrainerExit, code: string, message: RegExp): void {
  assert.equal(exit.signal, null, 'must exit, not die of a signal');
  assert.notEqual(exit.code, 0);
  assert.ok(exit.error, `expected an error event, stderr: ${exit.stderrTail}`);
  assert.equal(exit.error.code, code, exit.error.message);
  assert.match(exit.error.message, message);
  assert.ok(exit.error.hint.length > 10, 'error must carry a hint');
  assert.equal(exit.events[exit.events.length - 1], exit.error, 'error is the last event');
}

describe('tuner-train bad inputs', () => {
  let root: string;
  let n = 0;
  before(() => {
    root = tempDir('errors');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 20, VOCAB), VOCAB);
  });

  // A copy of the good model with one change applied.
  function brokenModel(change: (dir: string) => void): string {
    const dir = path.join(root, `model-${++n}`);
    fs.cpSync(path.join(root, 'model'), dir, { recursive: true });
    change(dir);
    return dir;
  }

  function run(overrides: Partial<RunPlan>, resumeDir?: string): Promise<TrainerExit> {
    const plan = basePlan(root, { max_steps: 3, output_dir: path.join(root, `out-${++n}`), ...overrides });
    return runTrainer({ planPath: writePlan(root, plan, `plan-${n}.json`), resumeDir });
  }

  function editConfig(dir: string, edit: (cfg: Record<string, unknown>) => void): void {
    const file = path.join(dir, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(cfg);
    fs.writeFileSync(file, JSON.stringify(cfg));
  }

  it('unsupported architecture', async () => {
    const model_dir = brokenModel((d) => editConfig(d, (c) => (c.architectures = ['GPT2LMHeadModel'])));
    expectError(await run({ model_dir }), 'unsupported_architecture', /GPT2LMHeadModel/);
  });

  it('missing config.json and missing weights', async () => {
    expectError(await run({ model_dir: brokenModel((d) => fs.rmSync(path.join(d, 'config.json'))) }), 'missing_config', /config\.json/);
    const noWeights = brokenModel((d) => fs.rmSync(path.join(d, 'model.safetensors')));
    const exit = await run({ model_dir: noWeights });
    expectError(exit, exit.error?.code ?? '', /safetensors/);
    assert.match(exit.error!.code, /missing_(weights|model)/);
  });

  it('truncated safetensors file', async () => {
    const model_dir = brokenModel((d) => {
      const f = path.join(d, 'model.safetensors');
      const buf = fs.readFileSync(f);
      fs.writeFileSync(f, buf.subarray(0, buf.length - 1000));
    });
    expectError(await run({ model_dir }), 'truncated_file', /model\.safetensors/);
  });

  it('bad safetensors header', async () => {
    const model_dir = brokenModel((d) => {
      const f = path.join(d, 'model.safetensors');
      const buf = fs.readFileSync(f);
      buf.write('not json', 8, 'utf8');
      fs.writeFileSync(f, buf);
    });
    const exit = await run({ model_dir });
    // The header is JSON: a syntax error in it is reported by the JSON parser, naming the file.
    expectError(exit, exit.error?.code ?? '', /model\.safetensors \(safetensors header\)/);
    assert.match(exit.error!.code, /^bad_(safetensors|json)$/);
    const oversized = brokenModel((d) => {
      const f = path.join(d, 'model.safetensors');
      const buf = fs.readFileSync(f);
      buf.writeBigUInt64LE(BigInt(buf.length * 2), 0);
      fs.writeFileSync(f, buf);
    });
    const exit2 = await run({ model_dir: oversized });
    expectError(exit2, exit2.error?.code ?? '', /model\.safetensors/);
    assert.match(exit2.error!.code, /^(bad_safetensors|truncated_file)$/);
  });

  it('tensor shape that does not match config.json', async () => {
    const model_dir = brokenModel((d) => editConfig(d, (c) => (c.intermediate_size = 40)));
    expectError(await run({ model_dir }), 'shape_mismatch', /mlp/);
  });

  it('missing, truncated and out-of-vocabulary shards', async () => {
    const empty = path.join(root, 'empty-data');
    fs.mkdirSync(empty);
    expectError(await run({ data_dir: empty }), 'bad_shards', /manifest\.json/);

    const cut = path.join(root, 'cut-data');
    fs.cpSync(path.join(root, 'data'), cut, { recursive: true });
    const shard = path.join(cut, 'shard-00000.bin');
    fs.truncateSync(shard, fs.statSync(shard).size - 7);
    expectError(await run({ data_dir: cut }), 'bad_shards', /shard-00000\.bin.*truncated/);

    const wide = makeShards(path.join(root, 'wide-data'), [{ tokens: [1, 2, 150, 4], mask: [0, 1, 1, 1] }, ...repetitiveDocuments(7, 20, VOCAB)], 200);
    expectError(await run({ data_dir: wide }), 'bad_shards', /vocab_size 200/);
  });

  it('bad plans name the field and the fix', async () => {
    expectError(await run({ batch_size: 0 }), 'bad_plan', /"batch_size"/);
    expectError(await run({ method: 'qlora' as 'lora' }), 'bad_plan', /"method"/);
    expectError(await run({ optimizer: { lr: -1 } }), 'bad_plan', /"optimizer\.lr"/);
    expectError(await run({ batch_size: 64 }), 'bad_plan', /batch_size 64 is larger than the 8 documents/);
    const notJson = path.join(root, 'broken.json');
    fs.writeFileSync(notJson, '{"model_dir": "model",\n  "oops"\n');
    expectError(await runTrainer({ planPath: notJson }), 'bad_plan', /broken\.json/);
    expectError(await runTrainer({ planPath: path.join(root, 'nope.json') }), 'bad_plan', /nope\.json/);
  });

  it('bad command line', async () => {
    const exit = await runTrainer({ planPath: writePlan(root, basePlan(root), 'ok.json'), resumeDir: '--start-paused' });
    expectError(exit, 'bad_arguments', /--resume needs a value/);
    assert.equal(exit.code, 2);
  });

  it('an output folder that cannot be created fails before training', async () => {
    const blocker = path.join(root, 'a-file');
    fs.writeFileSync(blocker, 'not a folder');
    const exit = await run({ output_dir: path.join(blocker, 'out') });
    expectError(exit, 'io_error', /a-file\/out/);
    assert.equal(steps(exit.events).length, 0);
  });

  it('resume from something that is not a checkpoint', async () => {
    expectError(await run({}, path.join(root, 'model')), 'bad_checkpoint', /trainer_state\.json/);
    expectError(await run({}, path.join(root, 'nowhere')), 'bad_checkpoint', /nowhere/);
  });

  it('non-finite loss: error names the step, the last good checkpoint stays', async () => {
    // Token 7's embedding row is NaN: the first batch that contains it yields a NaN loss.
    const model_dir = brokenModel((d) => {
      const f = path.join(d, 'model.safetensors');
      const { offset, shape } = tensorOffset(f, 'model.embed_tokens.weight');
      const fd = fs.openSync(f, 'r+');
      const row = Buffer.alloc(4 * shape[1]);
      for (let i = 0; i < shape[1]; i++) row.writeFloatLE(NaN, 4 * i);
      fs.writeSync(fd, row, 0, row.length, offset + 7 * 4 * shape[1]);
      fs.closeSync(fd);
    });
    const docs = repetitiveDocuments(16, 20, VOCAB).map((d) => ({ tokens: Array.from(d.tokens, (t) => (t === 7 ? 8 : t)), mask: d.mask }));
    docs.push({ tokens: [1, 2, 7, 3, 4], mask: [0, 1, 1, 1, 1] });
    const data_dir = makeShards(path.join(root, 'nan-data'), docs, VOCAB);
    const exit = await run({ model_dir, data_dir, batch_size: 1, max_steps: 17, save_interval: 1 });
    expectError(exit, 'non_finite_loss', /step \d+/);
    const failed = exit.error!.step!;
    assert.ok(failed > 1, `seed should put the bad document after the first step (failed at ${failed})`);
    assert.equal(steps(exit.events).length, failed - 1);
    assert.match(exit.error!.hint, /lr/);
    const lastCkpt = exit.events.filter((e) => e.type === 'checkpoint').pop();
    assert.ok(lastCkpt && lastCkpt.type === 'checkpoint' && lastCkpt.step === failed - 1);
    assert.ok(fs.existsSync(path.join(lastCkpt.path, 'trainer_state.json')));
  });
});
