// Every bad input to tuner-train ends in one `error` event with its code, a message naming
// the file / field, a hint, and a non-zero exit; never a signal (crash / core dump).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { RunPlan } from '../../src/core/engine/plan';
import type { TrainerExit } from '../../src/core/engine/trainer-client';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

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
    const model_dir = brokenModel((d) => editConfig(d, (c) => (c.architectures = ['GPTNeoXForCausalLM'])));
    expectError(await run({ model_dir }), 'unsupported_architecture', /GPTNeoXForCausalLM/);
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
    expectError(await run({ method: 'ia3' as 'lora' }), 'bad_plan', /"method"/);
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
    expectError(await run({}, path.join(root, 'nowhere')), 'bad_checkpoint', /nowhere: checkpoint not found/);
    // A full run loads its model from the checkpoint: still the checkpoint that is missing.
    expectError(await run({ method: 'full' }, path.join(root, 'nowhere')), 'bad_checkpoint', /nowhere: checkpoint not found/);
  });

  it('a truncated checkpoint file is bad_checkpoint with a hint about the checkpoint', async () => {
    for (const method of ['lora', 'full'] as const) {
      const output_dir = path.join(root, `ckpt-${method}`);
      const planPath = writePlan(root, basePlan(root, { method, max_steps: 1, save_interval: 1, output_dir }), `plan-ckpt-${method}.json`);
      const first = await runTrainer({ planPath });
      assert.equal(first.code, 0, first.stderrTail);
      const ckpt = path.join(output_dir, 'checkpoints', 'step-00000001');
      for (const file of [method === 'lora' ? 'adapter_model.safetensors' : 'model.safetensors', 'optimizer.safetensors']) {
        const copy = path.join(root, `ckpt-${method}-${file}`);
        fs.cpSync(ckpt, copy, { recursive: true });
        fs.truncateSync(path.join(copy, file), fs.statSync(path.join(copy, file)).size - 100);
        const exit = await runTrainer({ planPath, resumeDir: copy });
        expectError(exit, 'bad_checkpoint', new RegExp(`${file.replace('.', '\\.')}: truncated`));
        assert.match(exit.error!.hint, /checkpoint/);
        assert.doesNotMatch(exit.error!.hint, /download/);
      }
    }
  });

  it('data with no trained target is refused when the shards load, naming the shard and the reason', async () => {
    const unmasked = repetitiveDocuments(8, 20, VOCAB).map((d) => ({ tokens: d.tokens, mask: Array.from(d.tokens, () => 0) }));
    const exit = await run({ data_dir: makeShards(path.join(root, 'unmasked-data'), unmasked, VOCAB) });
    expectError(exit, 'bad_shards', /shard-00000\.bin: no trained token: the loss mask is 0 at every target of its 8 documents/);
    assert.equal(steps(exit.events).length, 0);
    const singles = Array.from({ length: 8 }, (_, i) => ({ tokens: [i + 1], mask: [1] }));
    expectError(await run({ data_dir: makeShards(path.join(root, 'single-token-data'), singles, VOCAB) }), 'bad_shards',
      /shard-00000\.bin: no trained token: all 8 documents have a single token/);
  });

  it('config.json contradicted by the weights is bad_config naming the field, before anything is allocated', async () => {
    const model_dir = brokenModel((d) => editConfig(d, (c) => (c.num_hidden_layers = 1e9)));
    expectError(await run({ model_dir }), 'bad_config', /"num_hidden_layers" is 1000000000 but .*model\.safetensors holds \d+ layers/);
    const wide = brokenModel((d) => editConfig(d, (c) => (c.vocab_size = 1e9)));
    expectError(await run({ model_dir: wide }), 'bad_config', /vocab_size=1000000000.* weights, more than/);
  });

  it('an index error carries a hint', async () => {
    const model_dir = brokenModel((d) => {
      fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'model-00001.safetensors'));
      const f = path.join(d, 'model-00001.safetensors');
      const buf = fs.readFileSync(f);
      const header = JSON.parse(buf.toString('utf8', 8, 8 + Number(buf.readBigUInt64LE(0)))) as Record<string, unknown>;
      const weight_map = Object.fromEntries(Object.keys(header).filter((k) => k !== '__metadata__').map((k) => [k, 7]));
      fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map }));
    });
    expectError(await run({ model_dir }), 'bad_index', /must be a file name/);
  });

  it('non-finite loss: error names the step, the last good checkpoint stays', async () => {
    // Weights that hold NaN are refused at load (non-finite-weights.test.ts), so the run is made
    // to diverge instead: after two good steps, `set lr 1e15` makes step 3's update overflow the
    // activations of step 4.
    const plan = basePlan(root, { method: 'full', batch_size: 1, max_steps: 17, save_interval: 1, output_dir: path.join(root, `out-${++n}`) });
    const p = startTrainer({ planPath: writePlan(root, plan, `plan-${n}.json`), startPaused: true });
    for (let s = 1; s <= 2; s++) {
      p.send('step');
      await p.waitFor((e) => e.type === 'paused' && e.step === s);
    }
    p.setLearningRate({ lr: 1e15 });
    p.send('resume');
    const exit = await p.exited;
    expectError(exit, 'non_finite_loss', /step \d+/);
    const failed = exit.error!.step!;
    assert.ok(failed > 2, `the steps before set lr are good (failed at ${failed})`);
    assert.equal(steps(exit.events).length, failed - 1);
    assert.match(exit.error!.hint, /lr/);
    const lastCkpt = exit.events.filter((e) => e.type === 'checkpoint').pop();
    assert.ok(lastCkpt && lastCkpt.type === 'checkpoint' && lastCkpt.step === failed - 1);
    assert.ok(fs.existsSync(path.join(lastCkpt.path, 'trainer_state.json')));
  });
});
