// GPT-2, Bloom, Qwen3 and Gemma 3 (text) against our PyTorch references of them
// (test/native/reference/arch_ref.py, written from transformers' modeling files) on tiny random
// models (make_tiny_arch.py): tuner-check's loss, logits and every gradient (full fine-tune and
// LoRA on the module names PEFT uses), tuner-generate's greedy tokens and every step's logits
// over the KV cache (and after tuner-export merge), and what the estimator assumes of each
// architecture (parameters, LoRA sizes, the engine's activation layout).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ensurePyTorch } from '../ensure-debian-packages';
import { engineActivationFloats } from '../../src/core/args/estimate';
import { loraModuleNames, loraParameterCount, loraTargetsFor, parameterCount, readModelSpec } from '../../src/core/model/spec';
import { PYTHON, REFERENCE_DIR, findTool, logitsRelError, referencePython, runTool, writeBatch } from './native-tools';
import { readSafetensorsF32 } from './safetensors-f32';

const TOL = 1e-4;
const VOCAB = 96;
const MAX_NEW = 24;
const PROMPT = [5, 9, 13, 2, 77, 31, 40];

// [name, make_tiny_arch.py options]
const MODELS: Array<[string, string[]]> = [
  ['gpt2', ['--arch', 'gpt2']],
  // Tensors without "transformer." (how the original gpt2 checkpoint stores them).
  ['gpt2-bare', ['--arch', 'gpt2', '--bare', '--seed', '1']],
  // 6 heads: ALiBi slopes of a non-power-of-two head count (4 + every other of the next 8).
  ['bloom-6heads', ['--arch', 'bloom', '--hidden', '48', '--heads', '6']],
  ['qwen3-gqa', ['--arch', 'qwen3', '--head-dim', '16']],
  // 3 layers, pattern 2: sliding (local RoPE base), full, sliding; window 5 < T.
  ['gemma3-local-global', ['--arch', 'gemma3', '--layers', '3', '--pattern', '2', '--sliding-window', '5', '--head-dim', '16', '--tied']],
  ['gemma3-softcaps', ['--arch', 'gemma3', '--head-dim', '16', '--attn-softcap', '4', '--final-softcap', '3', '--kv-heads', '1']],
  // The same weights without soft-capping (the caps draw no random numbers).
  ['gemma3-nocaps', ['--arch', 'gemma3', '--head-dim', '16', '--kv-heads', '1']],
  ['bloom-bf16', ['--arch', 'bloom', '--dtype', 'bf16', '--seed', '2']],
];
// Long batches (T = 150): several 64-row attention blocks with ALiBi, soft-capping and windows.
const LONG: Array<[string, string[]]> = [
  ['bloom-T150', ['--arch', 'bloom', '--max-pos', '256']],
  ['gpt2-T150', ['--arch', 'gpt2', '--max-pos', '256']],
  ['gemma3-window40-T150', ['--arch', 'gemma3', '--pattern', '2', '--sliding-window', '40', '--head-dim', '16', '--attn-softcap', '6', '--max-pos', '256']],
];
// [name, base model, make_tiny_adapter.py options]: every projection by default.
const LORA: Array<[string, string, string[]]> = [
  ['lora-gpt2-all', 'gpt2', []],
  ['lora-gpt2-c_attn', 'gpt2', ['--targets', 'c_attn', '--rank', '8', '--alpha', '32']],
  ['lora-bloom-query_key_value', 'bloom-6heads', ['--targets', 'query_key_value', '--rank', '8', '--alpha', '32']],
  ['lora-bloom-all', 'bloom-6heads', []],
  ['lora-qwen3-all', 'qwen3-gqa', []],
  ['lora-gemma3-all', 'gemma3-local-global', []],
];
/** Run again on the portable kernels (TUNER_CPU_LIMIT=generic). */
const GENERIC = ['bloom-T150', 'gemma3-softcaps', 'lora-gpt2-all'];
const SUFFIX = ' (baseline ISA)';

interface Report {
  ok: boolean;
  error?: string;
  loss: { rel: number; native: number; ref: number };
  logits: { rel: number };
  grads: number;
  grad_max_rel: number;
  worst_grad: string;
  zero_grads: string[];
  missing: string[];
  extra: string[];
  failures: Record<string, unknown>;
}
interface Gen {
  ids: number[];
  margins: number[];
  logits: number[][];
}

let tmp = '';
const models = new Map<string, string>();
const adapters = new Map<string, string>();
const checkRuns = new Map<string, { status: number | null; stderr: string }>();
let reports: Record<string, Report> = {};
let reference: Record<string, Gen> = {};
const generated = new Map<string, { status: number | null; stderr: string; ids: number[]; logits?: Float32Array }>();


before(() => {
  ensurePyTorch();
  const check = findTool('tuner-check');
  const generate = findTool('tuner-generate');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-arch-ref-'));
  const batch = path.join(tmp, 'batch.json');
  const longBatch = path.join(tmp, 'batch-long.json');
  writeBatch(batch, 2, 16, VOCAB, 7);
  writeBatch(longBatch, 1, 150, VOCAB, 11);
  for (const [name, opts] of [...MODELS, ...LONG]) {
    const dir = path.join(tmp, name);
    referencePython('make_tiny_arch.py', ['--out', dir, '--vocab', String(VOCAB), ...opts]);
    models.set(name, dir);
  }
  for (const [name, base, opts] of LORA) {
    const dir = path.join(tmp, name);
    referencePython('make_tiny_adapter.py', ['--model', models.get(base)!, '--out', dir, '--seed', '3', ...opts]);
    adapters.set(name, dir);
  }
  // tuner-check on every case, then one Python process compares them all.
  const jobs: Record<string, { model: string; batch: string; native: string; adapter?: string }> = {};
  const checks: Array<[string, string, string | undefined, string]> = [
    ...MODELS.map(([n]) => [n, n, undefined, batch] as [string, string, undefined, string]),
    ...LONG.map(([n]) => [n, n, undefined, longBatch] as [string, string, undefined, string]),
    ...LORA.map(([n, base]) => [n, base, n, batch] as [string, string, string, string]),
  ];
  for (const [name, base, adapter, b] of checks) {
    const runs: Array<[string, Record<string, string> | undefined]> = [[name, undefined]];
    if (GENERIC.includes(name)) runs.push([name + SUFFIX, { TUNER_CPU_LIMIT: 'generic' }]);
    for (const [label, env] of runs) {
      const native = path.join(tmp, `${label.replace(/\W+/g, '-')}.check.safetensors`);
      const model = models.get(base)!;
      const args = ['--model', model, '--batch', b, '--out', native, '--threads', '2'];
      const adapterDir = adapter ? adapters.get(adapter) : undefined;
      if (adapterDir) args.push('--adapter', adapterDir);
      const r = runTool(check, args, { env });
      checkRuns.set(label, { status: r.status, stderr: r.stderr });
      if (r.status === 0) jobs[label] = { model, batch: b, native, ...(adapterDir ? { adapter: adapterDir } : {}) };
    }
  }
  const jobsFile = path.join(tmp, 'jobs.json');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  const cmp = runTool(PYTHON, [path.join(REFERENCE_DIR, 'compare_check.py'), '--jobs', jobsFile, '--tol', String(TOL)]);
  assert.ok(cmp.stdout.trim(), `compare_check.py printed nothing: ${cmp.stderr}`);
  reports = JSON.parse(cmp.stdout) as Record<string, Report>;

  // Greedy generation: every model, and the models with their adapters applied on the fly.
  const genCases: Array<{ name: string; model: string; adapter?: string; ids: number[]; max_new: number }> = [];
  for (const [name] of MODELS) genCases.push({ name, model: models.get(name)!, ids: PROMPT, max_new: MAX_NEW });
  for (const [name, base] of LORA) genCases.push({ name, model: models.get(base)!, adapter: adapters.get(name), ids: PROMPT, max_new: MAX_NEW });
  for (const c of genCases) {
    const logitsFile = path.join(tmp, `${c.name}.logits.safetensors`);
    const r = runTool(generate, [c.model, '--ids', PROMPT.join(','), '--max-new', String(MAX_NEW), '--greedy', '--threads', '2',
      '--logits-out', logitsFile, ...(c.adapter ? ['--adapter', c.adapter] : [])]);
    const ids = r.status === 0 ? (JSON.parse(r.stdout.trim()) as { ids: number[] }).ids : [];
    generated.set(c.name, { status: r.status, stderr: r.stderr, ids, logits: r.status === 0 ? readSafetensorsF32(logitsFile).get('logits')?.data : undefined });
  }
  const casesFile = path.join(tmp, 'gen-cases.json');
  fs.writeFileSync(casesFile, JSON.stringify(genCases));
  reference = JSON.parse(referencePython('generate_ref.py', [casesFile])) as Record<string, Gen>;
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function expectMatch(t: { diagnostic: (s: string) => void }, label: string): void {
  const run = checkRuns.get(label);
  assert.ok(run, label);
  assert.equal(run.status, 0, `tuner-check failed: ${run.stderr}`);
  const rep = reports[label];
  assert.ok(rep, `no comparison for ${label}`);
  assert.equal(rep.error, undefined, rep.error);
  t.diagnostic(`loss rel ${rep.loss.rel.toExponential(2)}, logits rel ${rep.logits.rel.toExponential(2)}, ` +
    `${rep.grads} grads max rel ${rep.grad_max_rel.toExponential(2)} (${rep.worst_grad})`);
  assert.deepEqual(rep.missing, []);
  assert.deepEqual(rep.extra, []);
  assert.ok(rep.grads > 0);
  assert.deepEqual(rep.zero_grads, [], 'every gradient is non-zero in these models');
  assert.ok(rep.ok, `tensors beyond tolerance ${TOL}: ${JSON.stringify(rep.failures)}`);
}

describe('full fine-tune: loss, logits and every gradient match PyTorch', () => {
  for (const [name] of MODELS) test(name, (t) => expectMatch(t, name));
  for (const [name] of LONG) test(`${name} (multi-block attention)`, (t) => expectMatch(t, name));
});

describe('LoRA on the modules PEFT names: loss, logits and every adapter gradient match PyTorch', () => {
  for (const [name] of LORA) test(name, (t) => expectMatch(t, name));
  test('GPT-2 adapters say fan_in_fan_out, as PEFT writes them for Conv1D', () => {
    const cfg = JSON.parse(fs.readFileSync(path.join(adapters.get('lora-gpt2-all')!, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.fan_in_fan_out, true);
  });
});

describe('baseline instruction set (no AVX2): the same cases match PyTorch', () => {
  for (const name of GENERIC) test(name, (t) => expectMatch(t, name + SUFFIX));
});

describe('greedy generation over the KV cache equals the PyTorch reference token for token', () => {
  for (const name of [...MODELS.map(([n]) => n), ...LORA.map(([n]) => n)]) {
    test(name, (t) => {
      const n = generated.get(name);
      const ref = reference[name];
      assert.ok(n && ref, `${name} ran on both sides`);
      assert.equal(n.status, 0, `tuner-generate failed: ${n.stderr}`);
      assert.deepEqual(n.ids, ref.ids);
      assert.ok(n.logits, 'tuner-generate wrote the logits');
      const V = ref.logits[0].length;
      assert.equal(n.logits.length, MAX_NEW * V);
      const rel = logitsRelError(n.logits, ref.logits);
      t.diagnostic(`${MAX_NEW} tokens equal; logits max rel err ${rel.toExponential(2)}; smallest top-2 margin ${Math.min(...ref.margins).toExponential(2)}`);
      assert.ok(rel <= TOL, `logits differ by ${rel} (normalised)`);
    });
  }
});

describe('the estimator knows each architecture (src/core/model/spec.ts, src/core/args/estimate.ts)', () => {
  // Elements of every tensor a safetensors file holds, from its header's shapes (any dtype).
  const tensorCount = (file: string) => {
    const buf = fs.readFileSync(file);
    const header = JSON.parse(buf.toString('utf8', 8, 8 + Number(buf.readBigUInt64LE(0)))) as Record<string, { shape?: number[] }>;
    return Object.entries(header).filter(([k]) => k !== '__metadata__').reduce((n, [, v]) => n + (v.shape ?? []).reduce((a, b) => a * b, 1), 0);
  };
  for (const [name] of [...MODELS, ...LONG]) {
    test(`${name}: parameter count, LoRA count and activation bytes equal the files and the engine's layout`, (t) => {
      const dir = models.get(name)!;
      const spec = readModelSpec(dir);
      assert.equal(parameterCount(spec), tensorCount(path.join(dir, 'model.safetensors')));
      const targets = loraModuleNames(spec);
      for (const [B, T, rank] of [[2, 16, 0], [1, 33, 4]]) {
        const args = ['--model', dir, '--bench', '1', '--B', String(B), '--T', String(T)];
        if (rank) args.push('--lora', `${rank},${2 * rank},${targets.join('+')}`);
        const r = runTool(findTool('tuner-check'), args);
        assert.equal(r.status, 0, r.stderr);
        const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { activation_bytes: number; hardware_threads: number };
        const f = engineActivationFloats(spec, B, T, report.hardware_threads, rank, targets);
        assert.equal((f.activations + f.logits + f.workspace) * 4 + B * T * 9, report.activation_bytes, `B ${B} T ${T} rank ${rank}`);
      }
      t.diagnostic(`${parameterCount(spec)} parameters; LoRA targets ${targets.join(', ')}`);
    });
  }
  for (const [name, base, opts] of LORA) {
    test(`${name}: LoRA parameter count equals the adapter's tensors`, () => {
      const spec = readModelSpec(models.get(base)!);
      const i = opts.indexOf('--targets');
      const targets = i >= 0 ? opts[i + 1].split(',') : loraModuleNames(spec);
      const rank = opts.includes('--rank') ? Number(opts[opts.indexOf('--rank') + 1]) : 4;
      assert.equal(loraParameterCount(spec, rank, targets), tensorCount(path.join(adapters.get(name)!, 'adapter_model.safetensors')));
    });
  }
  test('the planner\'s Llama-named sets become GPT-2\'s and Bloom\'s modules', () => {
    const attention = ['q_proj', 'k_proj', 'v_proj', 'o_proj'];
    assert.deepEqual(loraTargetsFor(readModelSpec(models.get('gpt2')!), attention), ['c_attn', 'c_proj']);
    assert.deepEqual(loraTargetsFor(readModelSpec(models.get('bloom-6heads')!), ['q_proj', 'v_proj']), ['query_key_value']);
    assert.deepEqual(loraTargetsFor(readModelSpec(models.get('qwen3-gqa')!), attention), attention);
  });
});

describe('tuner-export merge folds the adapters in (PEFT merge_and_unload; GPT-2: Conv1D, fan_in_fan_out)', () => {
  for (const name of ['lora-gpt2-all', 'lora-bloom-all', 'lora-gemma3-all']) {
    test(`${name}: the merged folder generates the adapter's tokens and logits`, () => {
      const base = LORA.find(([n]) => n === name)![1];
      const out = path.join(tmp, `${name}-merged`);
      const m = runTool(findTool('tuner-export'), ['merge', '--base', models.get(base)!, '--adapter', adapters.get(name)!, '--out', out, '--dtype', 'f32']);
      assert.equal(m.status, 0, m.stderr);
      const logitsFile = path.join(tmp, `${name}-merged.logits.safetensors`);
      const r = runTool(findTool('tuner-generate'), [out, '--ids', PROMPT.join(','), '--max-new', String(MAX_NEW), '--greedy', '--threads', '2', '--logits-out', logitsFile]);
      assert.equal(r.status, 0, r.stderr);
      const onTheFly = generated.get(name)!;
      assert.deepEqual((JSON.parse(r.stdout.trim()) as { ids: number[] }).ids, onTheFly.ids);
      const merged = readSafetensorsF32(logitsFile).get('logits')!.data;
      let err = 0;
      let scale = 0;
      for (let i = 0; i < merged.length; i++) {
        err = Math.max(err, Math.abs(merged[i] - onTheFly.logits![i]));
        scale = Math.max(scale, Math.abs(onTheFly.logits![i]));
      }
      assert.ok(err / scale <= TOL, `merged logits differ by ${err / scale}`);
    });
  }
});

describe('each architectural trait changes the result', () => {
  // A trait silently ignored by the engine and the reference alike would leave the loss as it is.
  test('soft-capping moves the loss (same weights with and without)', () => {
    const a = reports['gemma3-softcaps'];
    const b = reports['gemma3-nocaps'];
    assert.ok(a && b);
    assert.ok(Math.abs(a.loss.ref - b.loss.ref) > 1e-3 * Math.abs(b.loss.ref), `same loss ${a.loss.ref}`);
  });
  test('adapters change the generated logits', () => {
    assert.notDeepEqual(reference['lora-bloom-all']?.logits[0], reference['bloom-6heads']?.logits[0]);
  });
});
