// tuner-train end to end on a tiny Llama: every event parses against protocol.ts, the loss
// falls on a repetitive corpus, the lr follows the schedule formula, and the outputs are a
// PEFT adapter (LoRA) or a Hugging Face model folder (full).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { parseTrainerEvent } from '../../src/core/engine/protocol';
import { basePlan, makeShards, makeTinyModel, mean, repetitiveDocuments, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

function readSafetensorsNames(file: string): string[] {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, unknown>;
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

// Hugging Face get_*_schedule_with_warmup, written independently of the C++.
function hfMultiplier(kind: string, step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  if (kind === 'constant') return 1;
  const span = Math.max(1, total - warmup);
  if (kind === 'linear') return Math.max(0, (total - step) / span);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((step - warmup) / span))));
}

describe('tuner-train runs', () => {
  let root: string;
  before(() => {
    root = tempDir('run');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(32, 33, VOCAB), VOCAB);
  });

  it('trains LoRA for 30 steps: valid events, falling loss, PEFT adapter out', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-lora'), schedule: 'cosine', warmup_steps: 3, save_interval: 10 });
    // Leftovers of a save interrupted by kill -9 are cleared; the user's own files are not.
    fs.mkdirSync(path.join(plan.output_dir, 'checkpoints', '.tmp-step-00000005-999'), { recursive: true });
    fs.writeFileSync(path.join(plan.output_dir, 'notes.old-1'), 'mine');
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'lora.json') });
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.equal(exit.signal, null);
    assert.ok(fs.existsSync(path.join(plan.output_dir, 'notes.old-1')));
    const types = exit.events.map((e) => e.type);
    assert.equal(types[0], 'start');
    assert.equal(types[types.length - 1], 'done');
    assert.deepEqual(types.filter((t) => t === 'checkpoint').length, 3);
    for (const e of exit.events) assert.deepEqual(parseTrainerEvent(JSON.stringify(e)), e);

    const start = exit.events[0];
    assert.ok(start.type === 'start');
    assert.equal(start.method, 'lora');
    assert.ok(start.trainable_params > 0 && start.trainable_params < start.params);
    assert.equal(start.tokens_per_step, 4 * 32);
    assert.equal(start.threads, 2);
    assert.equal(start.model.architecture, 'LlamaForCausalLM');
    assert.equal(start.data.documents, 32);

    const st = steps(exit.events);
    assert.deepEqual(st.map((s) => s.step), Array.from({ length: 30 }, (_, i) => i + 1));
    const losses = st.map((s) => s.loss);
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-5));
    assert.ok(last < 0.6 * first, `loss should fall: first 5 mean ${first}, last 5 mean ${last}`);
    for (const s of st) {
      const want = 1e-2 * hfMultiplier('cosine', s.step - 1, 3, 30);
      assert.ok(Math.abs(s.lr - want) <= 1e-12 * Math.max(1, want), `lr at step ${s.step}: ${s.lr} vs ${want}`);
      assert.ok(s.grad_norm > 0 && s.ms > 0 && s.tokens_per_s > 0 && s.peak_memory_bytes > 1e6);
    }

    const done = exit.events[exit.events.length - 1];
    assert.ok(done.type === 'done' && done.reason === 'completed');
    const adapter = done.outputs.adapter!;
    assert.equal(adapter, path.join(plan.output_dir, 'adapter'));
    const cfg = JSON.parse(fs.readFileSync(path.join(adapter, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.peft_type, 'LORA');
    const names = readSafetensorsNames(path.join(adapter, 'adapter_model.safetensors'));
    assert.ok(names.includes('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'), names.join(','));
    assert.ok(names.includes('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight'));
    const ckpt = done.outputs.checkpoint!;
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'trainer_state.json']) {
      assert.ok(fs.existsSync(path.join(ckpt, f)), `${f} in ${ckpt}`);
    }
    assert.deepEqual(fs.readdirSync(path.dirname(ckpt)).sort(), ['step-00000010', 'step-00000020', 'step-00000030']);
  });

  it('trains the full model with grad accumulation and eval: Hugging Face folder out', async () => {
    makeShards(path.join(root, 'eval'), repetitiveDocuments(6, 33, VOCAB), VOCAB);
    const plan = basePlan(root, {
      output_dir: path.join(root, 'out-full'),
      method: 'full',
      optimizer: { lr: 3e-3, weight_decay: 0.01 },
      schedule: 'linear',
      max_steps: 12,
      batch_size: 2,
      grad_accum: 2,
      eval_interval: 4,
      eval_data_dir: path.join(root, 'eval'),
    });
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'full.json'), closeInput: true });
    assert.equal(exit.code, 0, exit.stderrTail);
    const start = exit.events[0];
    assert.ok(start.type === 'start' && start.trainable_params === start.params);
    assert.equal(start.tokens_per_step, 2 * 32 * 2);
    const evals = exit.events.filter((e) => e.type === 'eval');
    assert.deepEqual(evals.map((e) => e.step), [4, 8, 12]);
    assert.ok(evals.every((e) => e.type === 'eval' && e.tokens === 6 * 29));
    const evalLoss = evals.map((e) => (e.type === 'eval' ? e.loss : 0));
    assert.ok(evalLoss[2] < evalLoss[0], `eval loss should fall: ${evalLoss.join(', ')}`);
    const done = exit.events[exit.events.length - 1];
    assert.ok(done.type === 'done');
    const model = done.outputs.model!;
    assert.ok(fs.existsSync(path.join(model, 'config.json')));
    const names = readSafetensorsNames(path.join(model, 'model.safetensors'));
    assert.ok(names.includes('model.embed_tokens.weight') && names.includes('model.layers.1.mlp.up_proj.weight'));
  });

  it('derives max_steps from epochs', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-epochs'), max_steps: undefined, epochs: 2, batch_size: 5, grad_accum: 2 });
    const exit = await runTrainer({ planPath: writePlan(root, plan, 'epochs.json') });
    assert.equal(exit.code, 0, exit.stderrTail);
    const start = exit.events[0];
    // 32 documents / 5 = 6 batches per epoch, x2 epochs = 12 micro-batches, / 2 = 6 steps.
    assert.ok(start.type === 'start' && start.data.batches_per_epoch === 6 && start.max_steps === 6);
    assert.equal(steps(exit.events).length, 6);
  });
});
