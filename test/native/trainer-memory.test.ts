// What the memory-saving methods save, measured: the trainer's peak resident memory
// (peak_memory_bytes, VmHWM) on one model, QLoRA (nf4 and int8 base) against plain LoRA, LOMO
// against a full AdamW fine-tune, gradient checkpointing against none. Each figure is printed;
// each saving must be there (the estimator's calibration and layout tests say how large).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { RunPlan } from '../../src/core/engine/plan';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 2048;
const MiB = 1024 * 1024;

describe('memory-saving methods lower the trainer\'s peak', () => {
  let root: string;
  before(() => {
    root = tempDir('memory');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB, hidden: 256, intermediate: 704, layers: 4, heads: 4, kvHeads: 4, maxPos: 128 });
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 65, VOCAB), VOCAB);
  });

  async function peak(name: string, overrides: Partial<RunPlan>): Promise<number> {
    const plan = basePlan(root, { output_dir: path.join(root, `out-${name}`), max_steps: 2, batch_size: 2, seq_len: 64, threads: 2, ...overrides });
    const exit = await runTrainer({ planPath: writePlan(root, plan, `${name}.json`) });
    assert.equal(exit.code, 0, exit.stderrTail);
    const bytes = Math.max(...steps(exit.events).map((s) => s.peak_memory_bytes));
    console.log(`${name}: peak ${(bytes / MiB).toFixed(1)} MiB`);
    return bytes;
  }

  const lora: RunPlan['lora'] = { rank: 8, alpha: 16, dropout: 0.05, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };

  it('QLoRA on an nf4 or int8 base peaks below LoRA on the f32 base', async () => {
    const plain = await peak('lora', { method: 'lora', lora });
    const nf4 = await peak('qlora-nf4', { method: 'qlora', base_quant: 'nf4', lora });
    const int8 = await peak('qlora-int8', { method: 'qlora', base_quant: 'int8', lora });
    console.log(`QLoRA / LoRA peak: nf4 ${(nf4 / plain).toFixed(2)}, int8 ${(int8 / plain).toFixed(2)}`);
    assert.ok(nf4 < int8 && int8 < plain, `nf4 ${nf4}, int8 ${int8}, LoRA ${plain}`);
  });

  it('LOMO peaks below a full AdamW fine-tune', async () => {
    const adamw = await peak('full-adamw', { method: 'full', optimizer: { lr: 1e-4 } });
    const lomo = await peak('lomo', { method: 'lomo', optimizer: { name: 'sgd', lr: 1e-3 } });
    console.log(`LOMO / AdamW full peak: ${(lomo / adamw).toFixed(2)}`);
    assert.ok(lomo < adamw, `LOMO ${lomo}, AdamW ${adamw}`);
  });

  it('gradient checkpointing peaks below keeping every layer\'s activations', async () => {
    const overrides: Partial<RunPlan> = { method: 'lora', lora, batch_size: 4, seq_len: 64 };
    const kept = await peak('activations-kept', overrides);
    const ckpt = await peak('checkpointing', { ...overrides, gradient_checkpointing: true });
    console.log(`checkpointing saves ${((kept - ckpt) / MiB).toFixed(1)} MiB`);
    assert.ok(ckpt < kept, `checkpointing ${ckpt}, without ${kept}`);
  });
});
