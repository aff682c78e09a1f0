// Numerics of the native engine against our PyTorch reference (test/native/reference): for tiny
// random models of every supported variant (architecture, storage dtype, sharding, tied
// embeddings, biases, GQA, rope_scaling, sliding-window attention), tuner-check's loss, logits
// and every gradient (full fine-tune and LoRA) must match a float64 PyTorch computation on the
// same files. Also checks that every kind of broken model folder gives its error code and a
// clean non-zero exit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ensurePyTorch } from '../ensure-debian-packages';
import { findTool, PYTHON, REFERENCE_DIR, referencePython, runTool, writeBatch } from './native-tools';

/** Normalised max error (max|native - ref| / max|ref|) allowed for every tensor; see compare_check.py. */
const TOL = 1e-4;


interface Report {
  ok: boolean;
  error?: string;
  loss: { rel: number; native: number; ref: number };
  logits: { rel: number; abs: number };
  grads: number;
  grad_max_rel: number;
  grad_max_abs: number;
  worst_grad: string;
  zero_grads: string[];
  failures: Record<string, unknown>;
  missing: string[];
}

let tmp = '';
let check = '';
const VOCAB = 96;

function makeModel(name: string, opts: string[]): string {
  const dir = path.join(tmp, name);
  if (!fs.existsSync(dir)) referencePython('make_tiny_model.py', ['--out', dir, '--vocab', String(VOCAB), ...opts]);
  return dir;
}

const VARIANTS: Array<[string, string[]]> = [
  ['llama-f32-gqa', []],
  ['llama-f16', ['--dtype', 'f16']],
  ['llama-bf16-sharded', ['--dtype', 'bf16', '--shards', '3']],
  ['llama-tied', ['--tied']],
  ['llama-mha-hd16', ['--kv-heads', '4', '--head-dim', '16']],
  ['llama-biases', ['--attention-bias', '--mlp-bias']],
  ['qwen2-biases-tied', ['--arch', 'qwen2', '--tied', '--kv-heads', '1']],
  ['mistral', ['--arch', 'mistral']],
  ['rope-linear', ['--rope-scaling', 'linear']],
  // max-pos 8 < T = 16: the dynamic NTK base actually changes.
  ['rope-dynamic', ['--rope-scaling', 'dynamic', '--max-pos', '8']],
  ['rope-llama3', ['--rope-scaling', 'llama3']],
  ['rope-yarn', ['--rope-scaling', 'yarn']],
  // NTK-by-parts: YaRN's ramp, attention factor 1; xPos: q / k scaled per pair by zeta^(±n/8).
  ['rope-ntk-by-parts', ['--rope-scaling', 'ntk_by_parts']],
  ['rope-xpos', ['--rope-scaling', 'xpos']],
  // Sliding windows shorter than the batch's T = 16. Same weights as 'mistral' and
  // 'qwen2-biases-tied' (same seed and shapes): only the window differs.
  ['mistral-window5', ['--arch', 'mistral', '--sliding-window', '5']],
  // Qwen2: layer 0 full, layer 1 windowed (max_window_layers = 1).
  ['qwen2-window-layers', ['--arch', 'qwen2', '--tied', '--kv-heads', '1', '--sliding-window', '5', '--max-window-layers', '1']],
];
/** Long-batch (T = 150) variants: several 64-row attention blocks, the last one partial. */
const LONG: Array<[string, string[]]> = [
  ['llama-T150', ['--max-pos', '256']],
  // Window 40: the key blocks left of each row block's window are skipped.
  ['mistral-window40-T150', ['--arch', 'mistral', '--sliding-window', '40', '--max-pos', '256']],
];

// LoRA cases: [name, base variant, make_tiny_adapter.py options].
const LORA: Array<[string, string, string[]]> = [
  ['lora-all-modules', 'llama-f32-gqa', []],
  ['lora-q-v-rank2', 'qwen2-biases-tied', ['--targets', 'q_proj,v_proj', '--rank', '2', '--alpha', '16']],
  ['lora-mlp-tied', 'llama-tied', ['--targets', 'o_proj,gate_proj,down_proj', '--rank', '8']],
  ['lora-qkv-window', 'qwen2-window-layers', ['--targets', 'q_proj,k_proj,v_proj', '--rank', '4']],
];

/**
 * Cases run again on the baseline instruction set (TUNER_CPU_LIMIT=generic: the portable sgemm
 * and vector kernels a CPU without AVX2 gets): multi-block attention, a sliding window, biases
 * with GQA, and LoRA on every projection (the rank-r GEMM path).
 */
const GENERIC = ['llama-T150', 'mistral-window5', 'qwen2-biases-tied', 'lora-all-modules'];
const GENERIC_SUFFIX = ' (baseline ISA)';

interface Case {
  model: string;
  kernels?: string;
  adapter?: string;
  native: string;
  batch: string;
  checkStatus: number | null;
  checkStderr: string;
}
const cases = new Map<string, Case>();
let reports: Record<string, Report> = {};

// Runs tuner-check on every case, then one Python process compares them all (importing torch
// costs more than the comparisons themselves).
before(() => {
  ensurePyTorch();
  check = findTool('tuner-check');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-ref-'));
  const batch = path.join(tmp, 'batch.json');
  writeBatch(batch, 2, 16, VOCAB, 7);
  // A longer batch: several 64-row causal attention blocks, the last one partial.
  const longBatch = path.join(tmp, 'batch-long.json');
  writeBatch(longBatch, 1, 150, VOCAB, 11);
  const all: Array<[string, string, string | undefined, string?]> = [];
  for (const [name, opts] of VARIANTS) all.push([name, makeModel(name, opts), undefined]);
  for (const [name, opts] of LONG) all.push([name, makeModel(name, opts), undefined, longBatch]);
  for (const [name, base, opts] of LORA) {
    const variant = VARIANTS.find((v) => v[0] === base);
    assert.ok(variant, base);
    const model = makeModel(base, variant[1]);
    const adapter = path.join(tmp, `adapter-${name}`);
    referencePython('make_tiny_adapter.py', ['--model', model, '--out', adapter, '--seed', '3', ...opts]);
    all.push([name, model, adapter]);
  }
  const jobs: Record<string, { model: string; batch: string; native: string; adapter?: string }> = {};
  const runs: Array<[string, string, string | undefined, string | undefined, Record<string, string> | undefined]> = all.map(
    ([name, model, adapter, batchFile]) => [name, model, adapter, batchFile, undefined],
  );
  for (const name of GENERIC) {
    const c = all.find((x) => x[0] === name);
    assert.ok(c, name);
    runs.push([name + GENERIC_SUFFIX, c[1], c[2], c[3], { TUNER_CPU_LIMIT: 'generic' }]);
  }
  for (const [name, model, adapter, batchFile = batch, env] of runs) {
    const native = path.join(tmp, `${name.replace(/\W+/g, '-')}.out.safetensors`);
    const args = ['--model', model, '--batch', batchFile, '--out', native, '--threads', '2'];
    if (adapter) args.push('--adapter', adapter);
    const r = runTool(check, args, { env });
    const kernels = r.status === 0 ? (JSON.parse(r.stdout.trim()) as { sgemm_kernel: string; vector_kernels: string }) : undefined;
    cases.set(name, { model, adapter, native, batch: batchFile, checkStatus: r.status, checkStderr: r.stderr,
      kernels: kernels && `${kernels.sgemm_kernel}/${kernels.vector_kernels}` });
    if (r.status === 0) jobs[name] = { model, batch: batchFile, native, ...(adapter ? { adapter } : {}) };
  }
  const jobsFile = path.join(tmp, 'jobs.json');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  const cmp = runTool(PYTHON, [path.join(REFERENCE_DIR, 'compare_check.py'), '--jobs', jobsFile, '--tol', String(TOL)]);
  assert.ok(cmp.stdout.trim(), `compare_check.py printed nothing: ${cmp.stderr}`);
  reports = JSON.parse(cmp.stdout) as Record<string, Report>;
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function expectMatch(t: { diagnostic: (s: string) => void }, name: string): void {
  const c = cases.get(name);
  assert.ok(c, name);
  assert.equal(c.checkStatus, 0, `tuner-check failed: ${c.checkStderr}`);
  const rep = reports[name];
  assert.ok(rep, `no comparison for ${name}`);
  assert.equal(rep.error, undefined, rep.error);
  t.diagnostic(
    `loss rel ${rep.loss.rel.toExponential(2)}, logits rel ${rep.logits.rel.toExponential(2)}, ` +
      `${rep.grads} grads max rel ${rep.grad_max_rel.toExponential(2)} (${rep.worst_grad}), max abs ${rep.grad_max_abs.toExponential(2)}`,
  );
  assert.deepEqual(rep.missing, []);
  assert.ok(rep.grads > 0);
  assert.deepEqual(rep.zero_grads, [], 'every gradient should be non-zero in these models');
  assert.ok(rep.ok, `tensors beyond tolerance ${TOL}: ${JSON.stringify(rep.failures)}`);
}

describe('full fine-tune: logits, loss and every gradient match PyTorch', () => {
  for (const [name] of VARIANTS) test(name, (t) => expectMatch(t, name));
  for (const [name] of LONG) test(`${name} (multi-block attention)`, (t) => expectMatch(t, name));
});

describe('a sliding window shorter than the sequence changes the result', () => {
  // The pairs share their weights; a window that was silently ignored (by the engine and the
  // reference alike) would give the same loss.
  const pairs: Array<[string, string]> = [
    ['mistral-window5', 'mistral'],
    ['qwen2-window-layers', 'qwen2-biases-tied'],
    ['mistral-window40-T150', 'llama-T150'],
  ];
  for (const [windowed, full] of pairs) {
    test(`${windowed} vs ${full}`, () => {
      const a = reports[windowed];
      const b = reports[full];
      assert.ok(a && b, 'both compared');
      assert.ok(Math.abs(a.loss.ref - b.loss.ref) > 1e-6 * Math.abs(b.loss.ref), `same loss ${a.loss.ref}`);
      assert.ok(Math.abs(a.loss.native - a.loss.ref) <= TOL * Math.abs(a.loss.ref));
    });
  }
});

describe('LoRA: logits, loss and every LoRA gradient match PyTorch', () => {
  for (const [name] of LORA) test(name, (t) => expectMatch(t, name));
});

describe('baseline instruction set (no AVX2): the same cases match PyTorch', () => {
  for (const name of GENERIC) {
    test(name, (t) => {
      assert.equal(cases.get(name + GENERIC_SUFFIX)?.kernels, 'generic/generic', 'TUNER_CPU_LIMIT=generic picks the portable kernels');
      expectMatch(t, name + GENERIC_SUFFIX);
    });
  }
});

describe('broken model folders fail with a named error, never a crash', () => {
  function broken(name: string, mutate: (dir: string) => void): string {
    const dir = path.join(tmp, `broken-${name}`);
    fs.cpSync(makeModel('llama-f32-gqa', []), dir, { recursive: true });
    mutate(dir);
    return dir;
  }
  const weights = (dir: string) => path.join(dir, 'model.safetensors');
  const editConfig = (dir: string, edit: (c: Record<string, unknown>) => void) => {
    const file = path.join(dir, 'config.json');
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(c);
    fs.writeFileSync(file, JSON.stringify(c));
  };
  const rewriteHeader = (dir: string, edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void) => {
    const buf = fs.readFileSync(weights(dir));
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    edit(header);
    const h = Buffer.from(JSON.stringify(header).padEnd(n, ' '));
    assert.ok(h.length === n, 'test edit must keep the header length');
    fs.writeFileSync(weights(dir), Buffer.concat([buf.subarray(0, 8), h, buf.subarray(8 + n)]));
  };
  const cases: Array<[string, string, (dir: string) => void, RegExp]> = [
    ['missing config.json', 'missing_config', (d) => fs.rmSync(path.join(d, 'config.json')), /config\.json/],
    ['unsupported architecture', 'unsupported_architecture', (d) => editConfig(d, (c) => (c.architectures = ['FalconForCausalLM'])), /FalconForCausalLM.*LlamaForCausalLM/],
    ['missing weights', 'missing_weights', (d) => fs.rmSync(weights(d)), /model\.safetensors/],
    ['truncated file', 'truncated_file', (d) => fs.truncateSync(weights(d), fs.statSync(weights(d)).size - 100), /truncated/],
    ['header length beyond file', 'truncated_file', (d) => { const b = fs.readFileSync(weights(d)); b.writeBigUInt64LE(BigInt(b.length) * 2n, 0); fs.writeFileSync(weights(d), b); }, /header length/],
    ['header not JSON', 'bad_json', (d) => { const b = fs.readFileSync(weights(d)); b.write('{{{{', 8); fs.writeFileSync(weights(d), b); }, /safetensors header/],
    ['offsets overlap', 'bad_safetensors', (d) => rewriteHeader(d, (h) => { const e = h['model.norm.weight']; e.data_offsets = [0, e.data_offsets[1] - e.data_offsets[0]]; }), /model\.norm\.weight|overlap|gap/],
    ['missing tensor', 'missing_tensor', (d) => rewriteHeader(d, (h) => { h['model.norm.weightX'] = h['model.norm.weight']; delete h['model.norm.weight']; }), /model\.norm\.weight/],
    ['shape does not match config', 'shape_mismatch', (d) => editConfig(d, (c) => (c.intermediate_size = 64)), /gate_proj\.weight.*intermediate_size=64/],
    ['unsupported dtype', 'unsupported_dtype', (d) => rewriteHeader(d, (h) => { h['model.norm.weight'].dtype = 'I32'; }), /model\.norm\.weight.*I32/],
  ];
  for (const [name, code, mutate, message] of cases) {
    test(name, () => {
      const dir = broken(name.replace(/\W+/g, '-'), mutate);
      const r = runTool(check, ['--model', dir, '--batch', path.join(tmp, 'batch.json'), '--out', path.join(dir, 'out.safetensors')]);
      assert.equal(r.signal, null, 'must not crash');
      assert.equal(r.status, 2, r.stderr);
      const err = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}') as { code: string; message: string; hint: string };
      assert.equal(err.code, code, r.stderr);
      assert.match(err.message, message);
      assert.ok(err.hint.length > 0, 'every user error carries a hint');
    });
  }
});
