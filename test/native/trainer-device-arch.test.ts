// tuner-train's GPU path (run on host_ops, TUNER_DEVICE_OPS=host) for architectures beyond the
// Llama family: under device auto a GPT-2 full fine-tune and a Gemma 3 LoRA run train on the
// device path (not the CPU fallback) and their losses track the CPU trainer's within bf16-mixed
// rounding; a CPU checkpoint of the GPT-2 run continues on the device path (its Conv1D weights and
// their optimizer states are [in, out] in the checkpoint and [out, in] on the device) with the
// uninterrupted CPU run's losses; and the GPU memory estimate (estimate-device.ts) is each run's
// device_memory.peak_bytes to the byte.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { estimateDeviceMemory } from '../../src/core/args/estimate-device';
import { resolveArgs } from '../../src/core/args/fields';
import type { RunPlan } from '../../src/core/engine/plan';
import type { TrainerEvent } from '../../src/core/engine/protocol';
import type { TrainerExit } from '../../src/core/engine/trainer-client';
import { parseModelSpec } from '../../src/core/model/spec';
import { writeSafetensorsF32, type F32Tensor } from './safetensors-f32';
import { basePlan, makeShards, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;
const C = 32;
const HOST_OPS = { ...process.env, TUNER_DEVICE_OPS: 'host' };
// As trainer-device-path.test.ts: bf16 products move these tiny models' losses by about 2e-3.
const BF16_LOSS_TOL = 0.02;

/** Seeded normal draws (an LCG through Box-Muller): reproducible weights. */
function normals(seed: number): () => number {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

type Config = Record<string, unknown>;

function folder(dir: string, config: Config, tensors: Array<[string, number[], number, number]>): Config {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const normal = normals(7);
  const weights: Array<[string, F32Tensor]> = tensors.map(([name, shape, center, scale]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = center + scale * normal();
    return [name, { shape, data }];
  });
  writeSafetensorsF32(path.join(dir, 'model.safetensors'), weights);
  return config;
}

/** GPT-2: LayerNorm with bias, learned positions, Conv1D weights stored [in, out], tied head. */
function makeGpt2(dir: string): Config {
  const F = 4 * C;
  const t: Array<[string, number[], number, number]> = [['transformer.wte.weight', [VOCAB, C], 0, 0.5], ['transformer.wpe.weight', [64, C], 0, 0.1]];
  for (let l = 0; l < 2; l++) {
    const p = `transformer.h.${l}.`;
    const conv = (name: string, inF: number, outF: number) => {
      t.push([`${p}${name}.weight`, [inF, outF], 0, 1 / Math.sqrt(inF)], [`${p}${name}.bias`, [outF], 0, 0.05]);
    };
    t.push([`${p}ln_1.weight`, [C], 1, 0.1], [`${p}ln_1.bias`, [C], 0, 0.05]);
    conv('attn.c_attn', C, 3 * C);
    conv('attn.c_proj', C, C);
    t.push([`${p}ln_2.weight`, [C], 1, 0.1], [`${p}ln_2.bias`, [C], 0, 0.05]);
    conv('mlp.c_fc', C, F);
    conv('mlp.c_proj', F, C);
  }
  t.push(['transformer.ln_f.weight', [C], 1, 0.1], ['transformer.ln_f.bias', [C], 0, 0.05]);
  const config = { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: VOCAB, n_embd: C, n_layer: 2, n_head: 4, n_positions: 64, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' };
  return folder(dir, config, t);
}

/** Gemma 3: (1 + w) and sandwich norms, per-head q/k norms, GeGLU, a sliding layer with its local RoPE base. */
function makeGemma3(dir: string): Config {
  const [NH, NKV, HD, F] = [4, 2, 8, 64];
  const t: Array<[string, number[], number, number]> = [['model.embed_tokens.weight', [VOCAB, C], 0, 0.1]];
  const norm = (name: string, n = C) => t.push([name, [n], 0, 0.1]);
  const linear = (name: string, outF: number, inF: number) => t.push([name, [outF, inF], 0, 1 / Math.sqrt(inF)]);
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.`;
    norm(`${p}input_layernorm.weight`);
    linear(`${p}self_attn.q_proj.weight`, NH * HD, C);
    linear(`${p}self_attn.k_proj.weight`, NKV * HD, C);
    linear(`${p}self_attn.v_proj.weight`, NKV * HD, C);
    norm(`${p}self_attn.q_norm.weight`, HD);
    norm(`${p}self_attn.k_norm.weight`, HD);
    linear(`${p}self_attn.o_proj.weight`, C, NH * HD);
    norm(`${p}post_attention_layernorm.weight`);
    norm(`${p}pre_feedforward_layernorm.weight`);
    linear(`${p}mlp.gate_proj.weight`, F, C);
    linear(`${p}mlp.up_proj.weight`, F, C);
    linear(`${p}mlp.down_proj.weight`, C, F);
    norm(`${p}post_feedforward_layernorm.weight`);
  }
  norm('model.norm.weight');
  const config = {
    architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', vocab_size: VOCAB, hidden_size: C, intermediate_size: F, num_hidden_layers: 2,
    num_attention_heads: NH, num_key_value_heads: NKV, head_dim: HD, max_position_embeddings: 64, rms_norm_eps: 1e-6, query_pre_attn_scalar: HD,
    final_logit_softcapping: 30.0, sliding_window: 8, sliding_window_pattern: 2, rope_theta: 1000000.0, rope_local_base_freq: 10000.0,
    hidden_activation: 'gelu_pytorch_tanh',
  };
  return folder(dir, config, t);
}

function startOf(exit: TrainerExit): Extract<TrainerEvent, { type: 'start' }> {
  const start = exit.events[0];
  assert.ok(start?.type === 'start', exit.stderrTail);
  return start;
}

/**
 * The GPU memory estimate (estimate-device.ts, which mirrors DeviceModel's plan()) against the
 * run's device_memory.peak_bytes, to the byte: host_ops allocates as cuda_ops does but for the
 * attention backward's workspace (threads x 2 x 64 x T floats, 2 threads here).
 */
function assertEstimate(dev: TrainerExit, config: Config, method: 'full' | 'lora'): void {
  const args = resolveArgs({
    model: 'm', data: 'd', device: 'cuda', method, lora_rank: 4, lora_target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    optimizer: 'adamw', batch_size: 4, max_length: 32, threads: 2, gradient_checkpointing: false, quantization: 'none',
  });
  const estimate = estimateDeviceMemory(parseModelSpec(config), args, (p) => 4 * 2 * 2 * 64 * p.T).allocated;
  const peak = Math.max(...steps(dev.events).map((s) => s.device_memory!.peak_bytes));
  assert.equal(estimate, peak, `estimate ${estimate} vs device_memory.peak_bytes ${peak}`);
}

function assertTracks(dev: TrainerExit, cpu: TrainerExit, stepsWanted: number[]): void {
  const ref = new Map(steps(cpu.events).map((s) => [s.step, s.loss]));
  const got = steps(dev.events);
  assert.deepEqual(got.map((s) => s.step), stepsWanted);
  let differs = false;
  for (const s of got) {
    const want = ref.get(s.step)!;
    assert.ok(Math.abs(s.loss - want) <= BF16_LOSS_TOL, `step ${s.step}: device ${s.loss}, CPU ${want}`);
    differs ||= s.loss !== want;
  }
  assert.ok(differs, 'the device losses equal the CPU losses bit for bit: the device path did not run');
}

describe('tuner-train GPU path on host_ops for GPT-2 and Gemma 3 (TUNER_DEVICE_OPS=host)', () => {
  let root: string;
  let n = 0;
  let gpt2: Config;
  let gemma3: Config;
  before(() => {
    root = tempDir('device-arch');
    gpt2 = makeGpt2(path.join(root, 'gpt2'));
    gemma3 = makeGemma3(path.join(root, 'gemma3'));
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 20, VOCAB), VOCAB);
  });

  function plan(model: string, overrides: Partial<RunPlan>, device: 'auto' | 'cpu'): string {
    const p = { ...basePlan(root, { model_dir: path.join(root, model), max_steps: 6, output_dir: path.join(root, `out-${++n}`), ...overrides }), device } as unknown as RunPlan;
    return writePlan(root, p, `plan-${n}.json`);
  }
  const outputOf = (planPath: string): string => (JSON.parse(fs.readFileSync(planPath, 'utf8')) as RunPlan).output_dir;

  it('GPT-2 full fine-tune: trains on the device path, tracks the CPU, and a CPU checkpoint continues there', async () => {
    const common: Partial<RunPlan> = { method: 'full', optimizer: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01 }, save_interval: 3 };
    const cpuPlan = plan('gpt2', common, 'cpu');
    const cpu = await runTrainer({ planPath: cpuPlan, closeInput: true });
    assert.equal(cpu.code, 0, cpu.stderrTail);
    const dev = await runTrainer({ planPath: plan('gpt2', common, 'auto'), closeInput: true, env: HOST_OPS });
    assert.equal(dev.code, 0, dev.stderrTail);
    assert.equal(startOf(dev).device?.kind, 'host_ops', JSON.stringify(startOf(dev).device));
    assertTracks(dev, cpu, [1, 2, 3, 4, 5, 6]);
    assertEstimate(dev, gpt2, 'full');
    const learned = steps(dev.events);
    assert.ok(learned[5].loss < learned[0].loss - 0.1, 'the device run learns');

    // Weights and AdamW states of the CPU's step-3 checkpoint, transposed onto the device: steps
    // 4-6 as the uninterrupted CPU run's (a wrong layout would scramble every Conv1D product).
    const resumed = await runTrainer({ planPath: plan('gpt2', common, 'auto'), resumeDir: path.join(outputOf(cpuPlan), 'checkpoints', 'step-00000003'), closeInput: true, env: HOST_OPS });
    assert.equal(resumed.code, 0, resumed.stderrTail);
    assert.equal(startOf(resumed).device?.kind, 'host_ops');
    assertTracks(resumed, cpu, [4, 5, 6]);
  });

  it('Gemma 3 LoRA: trains on the device path and tracks the CPU', async () => {
    const lora: Partial<RunPlan> = { method: 'lora' };
    const cpu = await runTrainer({ planPath: plan('gemma3', lora, 'cpu'), closeInput: true });
    assert.equal(cpu.code, 0, cpu.stderrTail);
    const dev = await runTrainer({ planPath: plan('gemma3', lora, 'auto'), closeInput: true, env: HOST_OPS });
    assert.equal(dev.code, 0, dev.stderrTail);
    assert.equal(startOf(dev).device?.kind, 'host_ops', JSON.stringify(startOf(dev).device));
    assertTracks(dev, cpu, [1, 2, 3, 4, 5, 6]);
    assertEstimate(dev, gemma3, 'lora');
  });
});
