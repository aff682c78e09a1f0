// Every method the planner proposes starts in tuner-train. The rule planner plans for the
// published config.json shapes of the models people fine-tune (Llama 7B, Qwen2.5, GPT-2, Bloom
// 560M, Qwen3 0.6B, Gemma 3 1B) on a laptop and on GPU machines, for goals that ask for each
// method and optimizer or leave the choice to memory (QLoRA and LOMO where nothing else fits).
// Each distinct plan (method, quantized base, optimizer, checkpointing, precision, LoRA modules
// as the planner names them for that architecture, which must be PEFT's names) becomes a run
// plan through argsToRunPlan and trains two steps of a tiny random model of the same
// architecture (a GPU machine's plan on this machine's CPU): it must start, take its steps with
// finite losses, and write its output. The sizes that only the real model needs (sequence
// length, batch, steps, threads) are shrunk; nothing the engine must support is.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensurePyTorch } from '../ensure-debian-packages';
import { resolveArgs } from '../../src/core/args/fields';
import { argsToRunPlan } from '../../src/core/args/run-plan';
import type { RunPlan } from '../../src/core/engine/plan';
import { describedHardware } from '../../src/core/hardware/types';
import { parameterCount, parseModelSpec } from '../../src/core/model/spec';
import type { DatasetInfo, LocalModel } from '../../src/core/planner/context';
import { defaultEstimator } from '../../src/core/planner/engine-estimator';
import { parseGoal } from '../../src/core/planner/goal';
import { planWithRules } from '../../src/core/planner/rules';
import { referencePython } from './native-tools';
import { makeShards, makeTinyModel, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

/** Published config.json shapes (Hugging Face model cards), as the planner reads them. */
const CONFIGS: Record<string, { arch: 'llama' | 'gpt2' | 'bloom' | 'qwen3' | 'gemma3'; config: Record<string, unknown> }> = {
  'llama-7b': {
    arch: 'llama',
    config: { architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32, vocab_size: 32000, max_position_embeddings: 4096, torch_dtype: 'bfloat16' },
  },
  'qwen2.5-1.5b': {
    arch: 'llama',
    config: { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 1536, intermediate_size: 8960, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16' },
  },
  gpt2: {
    arch: 'gpt2',
    config: { architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_embd: 768, n_layer: 12, n_head: 12, n_positions: 1024, vocab_size: 50257, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new' },
  },
  'bloom-560m': {
    arch: 'bloom',
    config: { architectures: ['BloomForCausalLM'], model_type: 'bloom', hidden_size: 1024, n_layer: 24, n_head: 16, vocab_size: 250880, layer_norm_epsilon: 1e-5 },
  },
  'qwen3-0.6b': {
    arch: 'qwen3',
    config: { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', hidden_size: 1024, intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128, vocab_size: 151936, max_position_embeddings: 40960, rope_theta: 1000000, tie_word_embeddings: true, torch_dtype: 'bfloat16' },
  },
  'gemma-3-1b': {
    arch: 'gemma3',
    config: {
      architectures: ['Gemma3ForCausalLM'], model_type: 'gemma3_text', hidden_size: 1152, intermediate_size: 6912, num_hidden_layers: 26, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 256,
      vocab_size: 262144, max_position_embeddings: 32768, sliding_window: 512, sliding_window_pattern: 6, query_pre_attn_scalar: 256, rope_theta: 1000000, rope_local_base_freq: 10000, torch_dtype: 'bfloat16',
    },
  },
};

/** The module names PEFT writes in adapter_config.json for each architecture's decoder linears. */
const PEFT_MODULES: Record<string, string[]> = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  qwen3: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gemma3: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
  bloom: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'],
};

const MACHINES = [
  describedHardware({ ramGiB: 16, cores: 4 }),
  describedHardware({ ramGiB: 8, cores: 8 }),
  describedHardware({ gpus: 1, gpuMemoryGiB: 24, ramGiB: 64 }),
];
const GOALS = [
  'Teach it to answer support tickets', 'Full fine-tune on my data', 'QLoRA please, 4-bit', 'LoRA with an int8 base', 'use LOMO', 'use Lion',
  'sgd with momentum, rank 32', 'make it fit in 6 GB', 'use gradient checkpointing',
];
const DATA: DatasetInfo = { ref: './train.jsonl', file: '/w/train.jsonl', format: 'messages', records: 2000, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: 2000, counter: 'tokenizer' } };

function localModel(name: string): LocalModel {
  const spec = parseModelSpec(CONFIGS[name].config, `${name}/config.json`);
  return { ref: `./models/${name}`, dir: `/models/${name}`, spec, params: parameterCount(spec) };
}

/** What of a run plan the engine must support: everything but the paths and the sizes only the real model needs. */
function engineChoices(p: RunPlan): string {
  return JSON.stringify({
    method: p.method, base_quant: p.base_quant, optimizer: { ...p.optimizer, lr: undefined }, gradient_checkpointing: p.gradient_checkpointing, precision: p.precision,
    lora: p.lora && { ...p.lora, rank: undefined, alpha: undefined }, schedule: p.schedule, rope_scaling: p.rope_scaling,
  });
}

describe('every plan the planner proposes starts in tuner-train', () => {
  let root: string;
  const models = new Map<string, string>();
  before(() => {
    ensurePyTorch();
    root = tempDir('planner-plans');
    makeShards(path.join(root, 'data'), repetitiveDocuments(8, 33, VOCAB), VOCAB);
    models.set('llama', makeTinyModel(path.join(root, 'llama'), { vocab: VOCAB, hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 96 }));
    for (const arch of ['gpt2', 'bloom', 'qwen3', 'gemma3']) {
      referencePython('make_tiny_arch.py', ['--arch', arch, '--out', path.join(root, arch), '--vocab', String(VOCAB), '--hidden', '64', '--max-pos', '64']);
      models.set(arch, path.join(root, arch));
    }
  });

  it('plans for Llama, Qwen2.5, GPT-2, Bloom, Qwen3 and Gemma 3 on three machines: each distinct one trains two steps on a tiny model of its architecture', async () => {
    const distinct = new Map<string, { name: string; plan: RunPlan }>();
    for (const name of Object.keys(CONFIGS)) {
      const model = localModel(name);
      for (const hw of MACHINES) {
        for (const goal of GOALS) {
          const r = planWithRules({ intent: parseGoal(goal), hardware: hw, model, models: [model], dataset: DATA, estimator: defaultEstimator });
          if (!r.args) continue;
          const plan = argsToRunPlan(resolveArgs(r.args), { modelDir: '/model', trainDataDir: '/data', outputDir: '/out' });
          const key = `${CONFIGS[name].arch} ${engineChoices(plan)}`;
          if (!distinct.has(key)) distinct.set(key, { name, plan });
        }
      }
    }
    const seen = { models: new Set<string>(), methods: new Set<string>(), optimizers: new Set<string>(), checkpointing: false };
    let run = 0;
    for (const [key, { name, plan }] of distinct) {
      const arch = CONFIGS[name].arch;
      for (const m of plan.lora?.target_modules ?? []) assert.ok(PEFT_MODULES[arch].includes(m), `${name}: LoRA module ${m} is not one PEFT names in ${arch}`);
      const out = path.join(root, `run-${++run}`);
      // A GPU machine's plan names device cuda; here its choices train on this machine's CPU.
      const onThisMachine: Record<string, unknown> = { ...plan };
      delete onThisMachine.device;
      const tiny: RunPlan = {
        ...(onThisMachine as unknown as RunPlan), model_dir: models.get(arch)!, data_dir: path.join(root, 'data'), output_dir: out,
        seq_len: 32, batch_size: 2, grad_accum: Math.min(plan.grad_accum ?? 1, 2), max_steps: 2, epochs: undefined, warmup_steps: Math.min(plan.warmup_steps ?? 0, 1),
        threads: 2, save_interval: 0,
      };
      const exit = await runTrainer({ planPath: writePlan(root, tiny, `${path.basename(out)}.json`), closeInput: true });
      assert.equal(exit.code, 0, `${name}: ${key}\n${exit.error?.message ?? ''}\n${exit.stderrTail}`);
      const losses = steps(exit.events).map((s) => s.loss);
      assert.equal(losses.length, 2, `${name}: ${key}`);
      assert.ok(losses.every(Number.isFinite), `${name}: ${key}: losses ${losses}`);
      seen.methods.add(`${plan.method}${plan.base_quant ? `/${plan.base_quant}` : ''}`);
      seen.optimizers.add(plan.optimizer.name ?? 'adamw');
      seen.models.add(name);
      if (plan.gradient_checkpointing) seen.checkpointing = true;
    }
    console.log(`${distinct.size} distinct plans started: methods ${[...seen.methods].join(', ')}; optimizers ${[...seen.optimizers].join(', ')}; checkpointing ${seen.checkpointing}`);
    assert.deepEqual([...seen.models].sort(), Object.keys(CONFIGS).sort(), 'a model got no plan');
    // The goals reach every method and optimizer the planner can propose, so none is left untried.
    for (const m of ['full', 'lora', 'qlora/nf4', 'qlora/int8', 'lomo']) assert.ok(seen.methods.has(m), `no plan used ${m}: ${[...seen.methods].join(', ')}`);
    for (const o of ['adamw', 'lion', 'sgd']) assert.ok(seen.optimizers.has(o), `no plan used ${o}: ${[...seen.optimizers].join(', ')}`);
    assert.ok(seen.checkpointing, 'no plan used gradient checkpointing');
  });
});
