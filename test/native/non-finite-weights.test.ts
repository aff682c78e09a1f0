// A model whose weights hold a NaN or an infinity is refused when it is loaded, naming the file
// and the tensor, by every front end of the engine: tuner-train (before step 1), tuner-check
// (which printed loss nan and exited 0), tuner-generate, tuner-export and the addon's inferLoad.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { addon, skip as noAddon } from './infer-fixtures';
import { findTool } from './native-tools';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';
import type { InferError } from '../../src/core/engine/infer-addon';

const VOCAB = 96;
const BAD = 'model.layers.1.mlp.down_proj.weight';

/** Writes `value` over element `index` of F32 tensor `name` in a safetensors file. */
function poke(file: string, name: string, index: number, value: number): void {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, { data_offsets: [number, number] }>;
  buf.writeFloatLE(value, 8 + n + header[name].data_offsets[0] + 4 * index);
  fs.writeFileSync(file, buf);
}

/** The JSON error line a tool writes to stderr when it fails. */
function toolError(tool: string, args: string[]): { code: string; message: string; hint: string } {
  const r = spawnSync(findTool(tool), args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.signal, null, `${tool} must exit, not die of a signal`);
  assert.equal(r.status, 2, `${tool} ${args.join(' ')} should fail with a TunerError: ${r.stdout}${r.stderr}`);
  const line = r.stderr.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as { code: string; message: string; hint: string };
}

describe('non-finite weights are refused at load', () => {
  let root: string;
  let model: string;
  before(() => {
    root = tempDir('non-finite');
    model = makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    poke(path.join(model, 'model.safetensors'), BAD, 5, Number.NaN);
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 20, VOCAB), VOCAB);
  });

  function expectNamed(e: { code: string; message: string; hint: string }): void {
    assert.equal(e.code, 'non_finite_weights', e.message);
    assert.ok(e.message.includes(`model.safetensors: tensor "${BAD}" holds NaN (element 5`), e.message);
    assert.match(e.hint, /NaN or infinity/);
  }

  it('tuner-train: an error event before the first step', async () => {
    const plan = basePlan(root, { model_dir: model, max_steps: 2, output_dir: path.join(root, 'out') });
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'plan.json') });
    assert.equal(exit.signal, null);
    assert.notEqual(exit.code, 0);
    assert.ok(exit.error, exit.stderrTail);
    expectNamed(exit.error);
    assert.equal(steps(exit.events).length, 0);
  });

  it('tuner-check, tuner-generate and tuner-export: a JSON error line, exit 2', () => {
    expectNamed(toolError('tuner-check', ['--model', model, '--bench', '1', '--B', '1', '--T', '8', '--threads', '1']));
    expectNamed(toolError('tuner-generate', [model, '--ids', '1,2,3', '--max-new', '2', '--greedy', '--context', '16', '--threads', '1']));
    expectNamed(toolError('tuner-export', ['quantize', '--model', model, '--quant', 'q8_0', '--out', path.join(root, 'q8'), '--threads', '1']));
    assert.ok(!fs.existsSync(path.join(root, 'q8')), 'nothing written');
  });

  it('the addon: inferLoad throws the engine error', { skip: noAddon }, () => {
    assert.throws(
      () => addon!.inferLoad!({ model, quant: 'f32', contextLength: 16, threads: 1 }),
      (e: unknown) => {
        expectNamed(e as InferError);
        return true;
      },
    );
  });
});
