// Activation checkpointing on GPT-2, Bloom, Qwen3 and Gemma 3 (arch_forward.cpp's
// arch_layer_forward rerun in backward_arch): the same bits as keeping every layer's activations
// (tuner-check's loss, logits and every gradient, full and LoRA; tuner-train's losses and saved
// adapter with LoRA dropout over accumulated micro-batches), the engine's layout smaller by what
// the estimator predicts, and the trainer's measured peak lower by about that much.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import { engineActivationFloats } from '../../src/core/args/estimate';
import type { RunPlan } from '../../src/core/engine/plan';
import { loraModuleNames, readModelSpec } from '../../src/core/model/spec';
import { findTool, referencePython, runTool, writeBatch } from './native-tools';
import { basePlan, makeShards, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';
import { fullBatchDocs } from './train-steps-reference';

const VOCAB = 96;
type Targets = NonNullable<RunPlan['lora']>['target_modules'];
const MiB = 1024 * 1024;
// Three layers each: two are recomputed in backward, the last keeps its activations.
const MODELS: Array<[string, string[]]> = [
  ['gpt2', ['--arch', 'gpt2']],
  ['bloom', ['--arch', 'bloom', '--hidden', '48', '--heads', '6']],
  ['qwen3', ['--arch', 'qwen3', '--head-dim', '16']],
  ['gemma3', ['--arch', 'gemma3', '--pattern', '2', '--sliding-window', '5', '--head-dim', '16', '--attn-softcap', '4', '--final-softcap', '3']],
];

let root = '';
const dirs = new Map<string, string>();

before(() => {
  ensurePyTorch(); // make_tiny_arch.py needs numpy, which comes with it
  root = tempDir('arch-checkpointing');
  for (const [name, opts] of MODELS) {
    const dir = path.join(root, name);
    referencePython('make_tiny_arch.py', ['--out', dir, '--vocab', String(VOCAB), '--layers', '3', ...opts]);
    dirs.set(name, dir);
  }
  writeBatch(path.join(root, 'batch.json'), 2, 16, VOCAB, 5);
  makeShards(path.join(root, 'data'), fullBatchDocs(4, VOCAB), VOCAB);
});
after(() => {
  if (root && !process.env.TUNER_KEEP_TEST_DIRS) fs.rmSync(root, { recursive: true, force: true });
});

function check(name: string, extra: string[], label: string): Buffer {
  const out = path.join(root, `${name}-${label}.safetensors`);
  const r = runTool(findTool('tuner-check'), ['--model', dirs.get(name)!, '--batch', path.join(root, 'batch.json'), '--out', out, '--threads', '2', ...extra]);
  assert.equal(r.status, 0, r.stderr);
  return fs.readFileSync(out);
}

describe('activation checkpointing gives the same bits on GPT-2, Bloom, Qwen3 and Gemma 3', () => {
  for (const [name] of MODELS) {
    it(`${name}: loss, logits and every gradient (full fine-tune and LoRA on every module)`, () => {
      const lora = ['--lora', `4,8,${loraModuleNames(readModelSpec(dirs.get(name)!)).join('+')}`];
      assert.ok(check(name, [], 'full').equals(check(name, ['--checkpointing', '1'], 'full-ckpt')), 'full fine-tune differs');
      assert.ok(check(name, lora, 'lora').equals(check(name, [...lora, '--checkpointing', '1'], 'lora-ckpt')), 'LoRA differs');
    });

    it(`${name}: three training steps of LoRA with dropout and accumulation, losses and saved adapter`, async () => {
      const run = async (ckpt: boolean) => {
        const plan = basePlan(root, {
          model_dir: dirs.get(name)!, output_dir: path.join(root, `out-${name}-${ckpt}`), max_steps: 3, batch_size: 2, grad_accum: 2,
          lora: { rank: 4, alpha: 8, dropout: 0.1, target_modules: loraModuleNames(readModelSpec(dirs.get(name)!)) as Targets },
          ...(ckpt ? { gradient_checkpointing: true } : {}),
        });
        const exit = await runTrainer({ planPath: writePlan(root, plan, `${name}-${ckpt}.json`) });
        assert.equal(exit.code, 0, exit.stderrTail);
        return { losses: steps(exit.events).map((s) => s.loss), adapter: fs.readFileSync(path.join(plan.output_dir, 'adapter', 'adapter_model.safetensors')) };
      };
      const kept = await run(false);
      const ckpt = await run(true);
      assert.equal(kept.losses.length, 3);
      assert.deepEqual(ckpt.losses, kept.losses);
      assert.ok(ckpt.adapter.equals(kept.adapter), 'the trained adapters differ');
    });

    it(`${name}: the layout shrinks by what the estimator predicts`, (t) => {
      const spec = readModelSpec(dirs.get(name)!);
      const targets = loraModuleNames(spec);
      const bytes = (ckpt: boolean) => {
        const args = ['--model', dirs.get(name)!, '--bench', '1', '--B', '2', '--T', '24', '--lora', `4,8,${targets.join('+')}`];
        const r = runTool(findTool('tuner-check'), ckpt ? [...args, '--checkpointing', '1'] : args);
        assert.equal(r.status, 0, r.stderr);
        const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { activation_bytes: number; hardware_threads: number };
        const f = engineActivationFloats(spec, 2, 24, report.hardware_threads, 4, targets, ckpt);
        assert.equal((f.activations + f.logits + f.workspace) * 4 + 2 * 24 * 9, report.activation_bytes, `checkpointing ${ckpt}`);
        return report.activation_bytes;
      };
      const kept = bytes(false), ckpt = bytes(true);
      t.diagnostic(`activations ${kept} B kept, ${ckpt} B with checkpointing`);
      assert.ok(ckpt < kept);
    });
  }

  it('GPT-2: the trainer\'s measured peak falls by about the saving the estimator predicts', async (t) => {
    const dir = path.join(root, 'gpt2-wide');
    referencePython('make_tiny_arch.py', ['--out', dir, '--vocab', String(VOCAB), '--arch', 'gpt2', '--hidden', '128', '--heads', '4', '--layers', '6', '--max-pos', '128']);
    const docsDir = path.join(root, 'data-long');
    makeShards(docsDir, repetitiveDocuments(8, 129, VOCAB), VOCAB);
    const spec = readModelSpec(dir);
    const targets = loraModuleNames(spec);
    const peak = async (ckpt: boolean) => {
      const plan = basePlan(root, { model_dir: dir, data_dir: docsDir, output_dir: path.join(root, `out-peak-${ckpt}`), max_steps: 2, batch_size: 8, seq_len: 128,
        lora: { rank: 4, alpha: 8, dropout: 0, target_modules: targets as Targets }, ...(ckpt ? { gradient_checkpointing: true } : {}) });
      const exit = await runTrainer({ planPath: writePlan(root, plan, `peak-${ckpt}.json`) });
      assert.equal(exit.code, 0, exit.stderrTail);
      return Math.max(...steps(exit.events).map((s) => s.peak_memory_bytes));
    };
    const kept = await peak(false), ckpt = await peak(true);
    const f = (c: boolean) => { const x = engineActivationFloats(spec, 8, 128, 2, 4, targets, c); return 4 * (x.activations + x.logits + x.workspace); };
    const predicted = f(false) - f(true);
    const measured = kept - ckpt;
    t.diagnostic(`peak ${(kept / MiB).toFixed(1)} MiB kept, ${(ckpt / MiB).toFixed(1)} MiB with checkpointing: saves ${(measured / MiB).toFixed(1)} MiB, estimator ${(predicted / MiB).toFixed(1)} MiB`);
    assert.ok(Math.abs(measured - predicted) <= 0.15 * predicted, `measured saving ${measured} B, predicted ${predicted} B`);
  });
});
