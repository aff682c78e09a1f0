// Shared set-up for the tuner-train end-to-end tests: a tiny random model (tiny-model.ts, no
// Python), shards written by the product's ShardWriter, a plan file, and a runner that collects
// every event (each one validated against protocol.ts).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { writeShards, type ShardDocument } from '../../src/core/engine/shards';
import { writePlanFile, type RunPlan } from '../../src/core/engine/plan';
import { TrainerProcess, type TrainerExit, type TrainerStartOptions } from '../../src/core/engine/trainer-client';
import type { StepEvent, TrainerEvent } from '../../src/core/engine/protocol';
import { writeTinyModel, type TinyModelSpec } from './tiny-model';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const REFERENCE_DIR = path.join(REPO_ROOT, 'test', 'native', 'reference');
/** Debian's interpreter, which has torch and numpy (the PATH python may not). */
export const PYTHON = process.env.TUNER_PYTHON ?? '/usr/bin/python3';

const createdDirs: string[] = [];
// Removed when the test file's process ends; TUNER_KEEP_TEST_DIRS=1 keeps them for a post-mortem.
process.on('exit', () => {
  if (process.env.TUNER_KEEP_TEST_DIRS) return;
  for (const d of createdDirs) fs.rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tuner-${prefix}-`));
  createdDirs.push(dir);
  return dir;
}

/** A tiny random Llama-family model folder (config.json + model.safetensors) in `dir`. */
export function makeTinyModel(dir: string, spec: TinyModelSpec = {}): string {
  return writeTinyModel(dir, spec);
}

/**
 * A small repetitive corpus: a handful of fixed token patterns, each document a prompt (mask 0)
 * followed by a completion (mask 1), so a model can learn it within a few dozen steps.
 */
export function repetitiveDocuments(count: number, length: number, vocab: number): ShardDocument[] {
  const docs: ShardDocument[] = [];
  for (let i = 0; i < count; i++) {
    const pattern = i % 4;
    const tokens: number[] = [];
    const mask: number[] = [];
    for (let j = 0; j < length; j++) {
      tokens.push((3 + pattern * 5 + j * (pattern + 1)) % vocab);
      mask.push(j < 4 ? 0 : 1);
    }
    docs.push({ tokens, mask });
  }
  return docs;
}

export function makeShards(dir: string, docs: ShardDocument[], vocab: number): string {
  writeShards(dir, docs, { vocabSize: vocab });
  return dir;
}

export function basePlan(root: string, overrides: Partial<RunPlan> = {}): RunPlan {
  return {
    version: 1,
    model_dir: path.join(root, 'model'),
    data_dir: path.join(root, 'data'),
    output_dir: path.join(root, 'out'),
    method: 'lora',
    lora: { rank: 4, alpha: 8, dropout: 0, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    optimizer: { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 },
    schedule: 'constant',
    warmup_steps: 0,
    max_steps: 30,
    batch_size: 4,
    seq_len: 32,
    grad_accum: 1,
    max_grad_norm: 1.0,
    seed: 1,
    threads: 2,
    save_interval: 0,
    ...overrides,
  };
}

export function writePlan(root: string, plan: RunPlan, name = 'plan.json'): string {
  const file = path.join(root, name);
  writePlanFile(file, plan);
  return file;
}

export function startTrainer(opts: TrainerStartOptions): TrainerProcess {
  return TrainerProcess.start(opts);
}

/** Runs tuner-train to the end; stdin stays open (no commands) unless closeInput. */
export async function runTrainer(opts: TrainerStartOptions & { closeInput?: boolean }): Promise<TrainerExit> {
  const p = TrainerProcess.start(opts);
  if (opts.closeInput) p.closeInput();
  const exit = await p.exited;
  if (exit.protocolError) throw exit.protocolError;
  return exit;
}

export function steps(events: TrainerEvent[]): StepEvent[] {
  return events.filter((e): e is StepEvent => e.type === 'step');
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
