// The device-memory calibration grid and one measurement of it: tuner-train's GPU path on host_ops
// (TUNER_DEVICE_OPS=host, the same device allocations as on a GPU but the attention backward's
// workspace) for a tiny model, its step events' largest device_memory.peak_bytes beside the GPU
// estimate's allocations with host_ops' workspace. scripts/calibrate-device-memory.mjs writes the
// grid to test/fixtures/device-memory-calibration.json; device-memory-calibration.test.ts reruns a row.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { estimateDeviceMemory, type AttentionShape } from '../../src/core/args/estimate-device';
import { resolveArgs, type Args } from '../../src/core/args/fields';
import type { RunPlan } from '../../src/core/engine/plan';
import type { StepEvent } from '../../src/core/engine/protocol';
import { parameterCount, parseModelSpec, type ModelSpec } from '../../src/core/model/spec';
import { tinyConfig, type TinyModelSpec } from './tiny-model';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, writePlan } from './trainer-fixtures';

export interface DeviceCalibrationCase {
  name: string;
  model: TinyModelSpec;
  method: 'full' | 'lora' | 'qlora';
  rank?: number;
  targets?: Args['lora_target_modules'];
  quantization?: 'nf4' | 'int8';
  optimizer?: 'adamw' | 'lion' | 'sgd';
  ckpt?: boolean;
  B: number;
  T: number;
}

export interface DeviceCalibrationRow extends DeviceCalibrationCase {
  threads: number;
  params: number;
  /** The GPU estimate's allocations with host_ops' attention workspace (no CUDA context). */
  estimate_bytes: number;
  /** The largest device_memory.peak_bytes of the run's step events. */
  measured_peak_bytes: number;
  ratio: number;
}

const THREADS = 2;
const STEPS = 2;
const ALL: Args['lora_target_modules'] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const SMALL: TinyModelSpec = { vocab: 512, hidden: 128, layers: 2, heads: 4, kvHeads: 2, intermediate: 256 };
const WIDE: TinyModelSpec = { vocab: 2048, hidden: 256, layers: 3, heads: 8, kvHeads: 2, intermediate: 704 };

/** Full, LoRA, QLoRA (nf4, int8), checkpointing, Lion and SGD, GQA and MHA, tied embeddings, Qwen2's biases, several (B, T). */
export const DEVICE_CALIBRATION_GRID: DeviceCalibrationCase[] = [
  { name: 'llama-full', model: SMALL, method: 'full', B: 2, T: 32 },
  { name: 'llama-full-ckpt', model: SMALL, method: 'full', ckpt: true, B: 4, T: 64 },
  { name: 'llama-full-lion-tied', model: { ...SMALL, tied: true }, method: 'full', optimizer: 'lion', B: 2, T: 64 },
  { name: 'llama-full-sgd-mha', model: { ...SMALL, kvHeads: 4 }, method: 'full', optimizer: 'sgd', B: 1, T: 128 },
  { name: 'llama-lora', model: SMALL, method: 'lora', rank: 8, B: 4, T: 64 },
  { name: 'llama-lora-all-ckpt', model: WIDE, method: 'lora', rank: 16, targets: ALL, ckpt: true, B: 4, T: 128 },
  { name: 'wide-lora-all', model: WIDE, method: 'lora', rank: 16, targets: ALL, B: 2, T: 128 },
  { name: 'wide-full', model: WIDE, method: 'full', B: 2, T: 64 },
  { name: 'qwen2-lora', model: { ...SMALL, arch: 'qwen2' }, method: 'lora', rank: 8, B: 2, T: 64 },
  { name: 'wide-qlora-nf4', model: WIDE, method: 'qlora', quantization: 'nf4', rank: 16, targets: ALL, B: 2, T: 128 },
  // 688 is not a multiple of 64: nf4 leaves down_proj as a bf16 matrix.
  { name: 'qlora-nf4-partial-ckpt', model: { ...WIDE, intermediate: 688 }, method: 'qlora', quantization: 'nf4', rank: 8, targets: ALL, ckpt: true, B: 4, T: 64 },
  { name: 'wide-qlora-int8', model: WIDE, method: 'qlora', quantization: 'int8', rank: 8, B: 2, T: 64 },
];

export function calibrationSpec(m: TinyModelSpec): ModelSpec {
  return parseModelSpec(tinyConfig({ ...m, maxPos: 4096 }));
}

export function calibrationArgs(c: DeviceCalibrationCase) {
  return resolveArgs({
    model: 'm', data: 'd', device: 'cuda', method: c.method, lora_rank: c.rank ?? 8, lora_target_modules: c.targets ?? ['q_proj', 'k_proj', 'v_proj', 'o_proj'],
    quantization: c.quantization ?? 'none', optimizer: c.optimizer ?? 'adamw', momentum: 0.9, gradient_checkpointing: c.ckpt ?? false, batch_size: c.B, max_length: c.T, threads: THREADS,
  });
}

/** host_ops' attention backward scratch (native/src/kernels/cpu/ops_cpu.cpp attention_scratch_floats): threads x 2 x 64 x T floats. */
export const hostAttentionWorkspace = (threads: number) => (p: AttentionShape) => 4 * Math.max(1, threads) * 2 * 64 * p.T;

/** The GPU estimate's allocations as host_ops makes them (its attention workspace instead of CUDA's). */
export function hostOpsEstimate(c: DeviceCalibrationCase, threads: number): number {
  return estimateDeviceMemory(calibrationSpec(c.model), calibrationArgs(c), hostAttentionWorkspace(threads)).allocated;
}

/** Trains `c` for two steps on host_ops in `dir` and returns its row. */
export function measureDeviceRow(trainer: string, c: DeviceCalibrationCase, dir: string): DeviceCalibrationRow {
  const vocab = c.model.vocab ?? 32;
  makeTinyModel(path.join(dir, 'model'), { ...c.model, maxPos: 4096 });
  makeShards(path.join(dir, 'data'), repetitiveDocuments(c.B * 2, c.T + 1, vocab), vocab);
  const a = calibrationArgs(c);
  const plan: RunPlan = basePlan(dir, {
    method: c.method, max_steps: STEPS, batch_size: c.B, seq_len: c.T, threads: THREADS, device: 'cuda', gradient_checkpointing: c.ckpt ?? false,
    optimizer: { name: a.optimizer, lr: 1e-3, ...(a.optimizer === 'sgd' ? { momentum: 0.9 } : {}) },
    ...(c.method === 'full' ? { lora: undefined } : { lora: { rank: a.lora_rank, alpha: 2 * a.lora_rank, dropout: 0, target_modules: [...a.lora_target_modules] } }),
    ...(c.quantization ? { base_quant: c.quantization } : {}),
  } as Partial<RunPlan>);
  const r = spawnSync(trainer, ['--plan', writePlan(dir, plan)], { input: '', encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TUNER_DEVICE_OPS: 'host' } });
  if (r.status !== 0) throw new Error(`${c.name}: tuner-train failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const steps = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as StepEvent).filter((e) => e.type === 'step');
  if (steps.length === 0 || steps.some((s) => !s.device_memory)) throw new Error(`${c.name}: no step events with device_memory`);
  const measured = Math.max(...steps.map((s) => s.device_memory!.peak_bytes));
  const estimate = hostOpsEstimate(c, THREADS);
  return { ...c, threads: THREADS, params: parameterCount(calibrationSpec(c.model)), estimate_bytes: estimate, measured_peak_bytes: measured, ratio: Number((estimate / measured).toFixed(4)) };
}
