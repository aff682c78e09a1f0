// tuner-train against reference/train_steps_reference.py (float64 PyTorch on the same files):
// one full batch per step, so both sides see the same rows; per-step loss, lr and grad norm, and
// every trainable tensor after the last step. Shared by the AdamW and the methods tests.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { ShardDocument } from '../../src/core/engine/shards';
import type { TrainerExit } from '../../src/core/engine/trainer-client';
import { PYTHON, REFERENCE_DIR, startTrainer, steps } from './trainer-fixtures';

export interface RefStep {
  loss: number;
  lr: number;
  grad_norm: number;
}

export function readF32Tensors(file: string): Map<string, Float32Array> {
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
export function fullBatchDocs(count: number, vocab: number): ShardDocument[] {
  const docs: ShardDocument[] = [];
  for (let i = 0; i < count; i++) {
    const tokens: number[] = [];
    const mask: number[] = [];
    for (let j = 0; j < 18 + 5 * i; j++) {
      tokens.push((5 + i * 11 + j * 7) % vocab);
      mask.push(j < 3 + i ? 0 : 1);
    }
    docs.push({ tokens, mask });
  }
  return docs;
}

/** Runs the reference for `planPath` (from an initial adapter, on a quantized folder's base or an int8 base quantized by the script). */
export function referenceSteps(planPath: string, count: number, o: { adapter?: string; quantized?: string; int8Base?: boolean } = {}): { weights: Map<string, Float32Array>; log: RefStep[] } {
  const out = path.join(path.dirname(planPath), `${path.basename(planPath, '.json')}-ref.safetensors`);
  const losses = out.replace('.safetensors', '.json');
  const args = [path.join(REFERENCE_DIR, 'train_steps_reference.py'), '--plan', planPath, '--steps', String(count), '--out', out, '--losses', losses];
  if (o.adapter) args.push('--adapter', o.adapter);
  if (o.quantized) args.push('--quantized', o.quantized);
  if (o.int8Base) args.push('--int8-base');
  execFileSync(PYTHON, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return { weights: readF32Tensors(out), log: JSON.parse(fs.readFileSync(losses, 'utf8')) as RefStep[] };
}

/**
 * Worst error of every reference tensor relative to how far training moved it (so a tensor that
 * did not move cannot pass by being large); fails above `tolerance`.
 */
export function compareWeights(nativeFile: string, initial: Map<string, Float32Array>, ref: Map<string, Float32Array>, tolerance = 5e-4): number {
  const native = readF32Tensors(nativeFile);
  let worst = 0;
  for (const [name, r] of ref) {
    const x = native.get(name);
    const x0 = initial.get(name);
    assert.ok(x && x0, `native output lacks ${name}`);
    assert.equal(x.length, r.length, name);
    let moved = 0;
    let err = 0;
    for (let i = 0; i < r.length; i++) {
      moved = Math.max(moved, Math.abs(r[i] - x0[i]));
      err = Math.max(err, Math.abs(x[i] - r[i]));
    }
    const rel = err / Math.max(moved, 1e-12);
    assert.ok(rel < tolerance, `${name}: max error ${err} vs update size ${moved} (${rel})`);
    worst = Math.max(worst, rel);
  }
  return worst;
}

/** Step events against the reference's log: loss, lr and pre-clip grad norm per step. */
export function checkSteps(events: Parameters<typeof steps>[0], log: RefStep[], count: number, lossTolerance = 1e-5): void {
  const st = steps(events);
  assert.equal(st.length, count);
  for (let i = 0; i < count; i++) {
    assert.ok(Math.abs(st[i].loss - log[i].loss) <= lossTolerance * Math.abs(log[i].loss), `loss ${i + 1}: ${st[i].loss} vs ${log[i].loss}`);
    assert.ok(Math.abs(st[i].lr - log[i].lr) <= 1e-12, `lr ${i + 1}: ${st[i].lr} vs ${log[i].lr}`);
    assert.ok(Math.abs(st[i].grad_norm - log[i].grad_norm) <= 1e-4 * log[i].grad_norm, `grad_norm ${i + 1}: ${st[i].grad_norm} vs ${log[i].grad_norm}`);
  }
}

/**
 * Trains an adapter plan to the end after saving the freshly initialised adapter as the step-0
 * checkpoint, so the reference can start from the same A and B. Returns that checkpoint's folder.
 */
export async function trainFromSavedStart(planPath: string, outputDir: string): Promise<{ exit: TrainerExit; initialDir: string }> {
  const p = startTrainer({ planPath, startPaused: true });
  await p.waitFor((e) => e.type === 'paused');
  p.send('save');
  await p.waitFor((e) => e.type === 'checkpoint' && e.step === 0);
  p.send('resume');
  const exit = await p.exited;
  assert.equal(exit.code, 0, exit.stderrTail);
  return { exit, initialDir: path.join(outputDir, 'checkpoints', 'step-00000000') };
}
