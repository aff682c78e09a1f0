// 10 AdamW steps of tuner-train against torch.optim.AdamW (reference/adamw_reference.py, float64
// PyTorch on the same files): per-step loss, lr and grad norm, and every trainable tensor after
// the last step, for a full fine-tune (weight decay, clipping, linear warmup) and for LoRA
// (cosine schedule, starting from the adapter tuner-train saved at step 0).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import type { ShardDocument } from '../../src/core/engine/shards';
import type { RunPlan } from '../../src/core/engine/plan';
import { basePlan, makeShards, makeTinyModel, PYTHON, REFERENCE_DIR, runTrainer, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;
const STEPS = 10;

function readF32Tensors(file: string): Map<string, Float32Array> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  const out = new Map<string, Float32Array>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(info.dtype, 'F32', name);
    const [b, e] = info.data_offsets;
    const bytes = buf.subarray(8 + n + b, 8 + n + e);
    out.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
  }
  return out;
}

/** One full batch: as many documents as batch_size, of different lengths and prompt sizes. */
function fullBatchDocs(count: number): ShardDocument[] {
  const docs: ShardDocument[] = [];
  for (let i = 0; i < count; i++) {
    const tokens: number[] = [];
    const mask: number[] = [];
    for (let j = 0; j < 18 + 5 * i; j++) {
      tokens.push((5 + i * 11 + j * 7) % VOCAB);
      mask.push(j < 3 + i ? 0 : 1);
    }
    docs.push({ tokens, mask });
  }
  return docs;
}

interface RefStep {
  loss: number;
  lr: number;
  grad_norm: number;
}

describe('AdamW steps match PyTorch', () => {
  let root: string;
  before(() => {
    ensurePyTorch();
    root = tempDir('adamw');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), fullBatchDocs(4), VOCAB);
  });

  function reference(planPath: string, adapter?: string): { weights: Map<string, Float32Array>; log: RefStep[] } {
    const out = path.join(path.dirname(planPath), `${path.basename(planPath, '.json')}-ref.safetensors`);
    const losses = out.replace('.safetensors', '.json');
    const args = [path.join(REFERENCE_DIR, 'adamw_reference.py'), '--plan', planPath, '--steps', String(STEPS), '--out', out, '--losses', losses];
    if (adapter) args.push('--adapter', adapter);
    execFileSync(PYTHON, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    return { weights: readF32Tensors(out), log: JSON.parse(fs.readFileSync(losses, 'utf8')) as RefStep[] };
  }

  function compare(nativeFile: string, initial: Map<string, Float32Array>, ref: Map<string, Float32Array>, names: (n: string) => string): number {
    const native = readF32Tensors(nativeFile);
    let worst = 0;
    for (const [refName, r] of ref) {
      const name = names(refName);
      const x = native.get(name);
      const x0 = initial.get(name);
      assert.ok(x && x0, `native output lacks ${name}`);
      assert.equal(x.length, r.length, name);
      // Error relative to how far training moved the tensor (so a tensor that did not move
      // cannot pass by being large).
      let moved = 0;
      let err = 0;
      for (let i = 0; i < r.length; i++) {
        moved = Math.max(moved, Math.abs(r[i] - x0[i]));
        err = Math.max(err, Math.abs(x[i] - r[i]));
      }
      const rel = err / Math.max(moved, 1e-12);
      assert.ok(rel < 5e-4, `${name}: max error ${err} vs update size ${moved} (${rel})`);
      worst = Math.max(worst, rel);
    }
    return worst;
  }

  function checkSteps(events: Parameters<typeof steps>[0], log: RefStep[]): void {
    const st = steps(events);
    assert.equal(st.length, STEPS);
    for (let i = 0; i < STEPS; i++) {
      assert.ok(Math.abs(st[i].loss - log[i].loss) <= 1e-5 * Math.abs(log[i].loss), `loss ${i + 1}: ${st[i].loss} vs ${log[i].loss}`);
      assert.ok(Math.abs(st[i].lr - log[i].lr) <= 1e-12, `lr ${i + 1}: ${st[i].lr} vs ${log[i].lr}`);
      assert.ok(Math.abs(st[i].grad_norm - log[i].grad_norm) <= 1e-4 * log[i].grad_norm, `grad_norm ${i + 1}`);
    }
  }

  it('full fine-tune: weight decay, clipping, linear warmup', async () => {
    const plan: RunPlan = basePlan(root, {
      output_dir: path.join(root, 'out-full'),
      method: 'full',
      optimizer: { lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0.1 },
      schedule: 'linear',
      warmup_steps: 3,
      max_steps: STEPS,
      max_grad_norm: 0.5,
    });
    const planPath = writePlan(root, plan, 'full.json');
    const exit = await runTrainer({ planPath });
    assert.equal(exit.code, 0, exit.stderrTail);
    const ref = reference(planPath);
    checkSteps(exit.events, ref.log);
    assert.ok(ref.log.some((s) => s.grad_norm > 0.5), 'clipping should be exercised');
    const initial = readF32Tensors(path.join(root, 'model', 'model.safetensors'));
    const worst = compare(path.join(plan.output_dir, 'model', 'model.safetensors'), initial, ref.weights, (n) => n);
    console.log(`full fine-tune: worst weight error / update = ${worst.toExponential(2)}`);
  });

  it('LoRA: cosine schedule from the step-0 adapter', async () => {
    const plan: RunPlan = basePlan(root, {
      output_dir: path.join(root, 'out-lora'),
      optimizer: { lr: 2e-2, betas: [0.8, 0.99], eps: 1e-6, weight_decay: 0.01 },
      lora: { rank: 4, alpha: 16, dropout: 0, target_modules: ['q_proj', 'v_proj', 'o_proj', 'up_proj', 'down_proj'] },
      schedule: 'cosine',
      warmup_steps: 2,
      max_steps: STEPS,
      max_grad_norm: 0,
    });
    const planPath = writePlan(root, plan, 'lora.json');
    // Save the freshly initialised adapter before the first step, so the reference starts there.
    const p = startTrainer({ planPath, startPaused: true });
    await p.waitFor((e) => e.type === 'paused');
    p.send('save');
    await p.waitFor((e) => e.type === 'checkpoint' && e.step === 0);
    p.send('resume');
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    const initialDir = path.join(plan.output_dir, 'checkpoints', 'step-00000000');
    const ref = reference(planPath, initialDir);
    checkSteps(exit.events, ref.log);
    const initial = readF32Tensors(path.join(initialDir, 'adapter_model.safetensors'));
    const worst = compare(path.join(plan.output_dir, 'adapter', 'adapter_model.safetensors'), initial, ref.weights, (n) => n);
    console.log(`LoRA: worst weight error / update = ${worst.toExponential(2)}`);
  });
});
