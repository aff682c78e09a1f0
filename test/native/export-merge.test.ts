// tuner-export merge: a PEFT LoRA adapter merged into its base as PEFT's merge_and_unload does
// (W += alpha/r * B @ A, rsLoRA alpha/sqrt(r)), written as a Hugging Face folder in the base's
// dtype with its tokenizer and generation files; the merged folder runs as the base with the
// adapter applied on the fly (our engine), in the PyTorch reference model (which reads
// Hugging Face folders as transformers does), and, exported to GGUF with --adapter, in
// llama.cpp. Bad input ends with a JSON error naming the file and a hint.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { ensureDebianPackages, ensurePyTorch } from '../ensure-debian-packages';
import {
  exportGguf, findTool, firstDifference, logSoftmax, REPO_ROOT, tunerExport, tunerGreedy, writeModelWithTokenizer, type ModelSpec,
} from './export-fixtures';
import { LlamaCppPeer } from './llama-cpp-peer';
import { readSafetensorsF32, writeSafetensorsF32, type F32Tensor } from './safetensors-f32';

const PYTHON = process.env.TUNER_PYTHON ?? '/usr/bin/python3';
const SPEC: ModelSpec = { tokenizer: 'gpt2', hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, maxPos: 256, seed: 21 };
const PROMPT = [464, 3290, 318, 257, 1332];
const EXTRA_FILES: Record<string, string> = {
  'generation_config.json': '{"do_sample": true, "temperature": 0.7, "top_p": 0.9}\n',
  'special_tokens_map.json': '{"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"}\n',
};

let root = '';
let base = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-merge-'));
  base = writeModelWithTokenizer(path.join(root, 'base'), SPEC);
  for (const [f, text] of Object.entries(EXTRA_FILES)) fs.writeFileSync(path.join(base, f), text);
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** Every tensor of a safetensors file as f32 (F32 or BF16 storage), with its stored dtype. */
function readSafetensors(file: string): Map<string, F32Tensor & { dtype: string }> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, F32Tensor & { dtype: string }>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const at = 8 + n + info.data_offsets[0];
    const count = info.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    if (info.dtype === 'F32') for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(at + 4 * i);
    else if (info.dtype === 'BF16') for (let i = 0; i < count; i++) data[i] = new Float32Array(new Uint32Array([buf.readUInt16LE(at + 2 * i) << 16]).buffer)[0];
    else throw new Error(`${file}: ${name} is ${info.dtype}`);
    out.set(name, { shape: info.shape, data, dtype: info.dtype });
  }
  return out;
}

/** Seeded uniform values in [-scale, scale). */
function uniform(n: number, scale: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 * 2 - 1) * scale;
  }
  return out;
}

interface AdapterSpec { rank: number; alpha: number; targets: string[]; rslora?: boolean; extraConfig?: Record<string, unknown> }

/** A PEFT adapter for `modelDir` with random A and non-zero B (PEFT's B = 0 would merge to nothing). */
function writeAdapter(dir: string, modelDir: string, a: AdapterSpec): string {
  fs.mkdirSync(dir, { recursive: true });
  const weights = readSafetensors(path.join(modelDir, 'model.safetensors'));
  const tensors: Array<[string, F32Tensor]> = [];
  let seed = 1;
  for (const [name, t] of weights) {
    const m = /^(model\.layers\.\d+\.(?:self_attn|mlp)\.(\w+))\.weight$/.exec(name);
    if (!m || !a.targets.includes(m[2])) continue;
    const [out, inp] = t.shape;
    tensors.push([`base_model.model.${m[1]}.lora_A.weight`, { shape: [a.rank, inp], data: uniform(a.rank * inp, 1 / Math.sqrt(inp), seed++) }]);
    tensors.push([`base_model.model.${m[1]}.lora_B.weight`, { shape: [out, a.rank], data: uniform(out * a.rank, 0.1, seed++) }]);
  }
  writeSafetensorsF32(path.join(dir, 'adapter_model.safetensors'), tensors);
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({
    peft_type: 'LORA', task_type: 'CAUSAL_LM', r: a.rank, lora_alpha: a.alpha, lora_dropout: 0, target_modules: a.targets,
    bias: 'none', fan_in_fan_out: false, use_rslora: a.rslora ?? false, modules_to_save: null, ...(a.extraConfig ?? {}),
  }, null, 2));
  return dir;
}

/** W + s * B @ A in float64, for every adapted weight of the base. */
function expectedMerge(modelDir: string, adapterDir: string, s: number): Map<string, Float64Array> {
  const w = readSafetensors(path.join(modelDir, 'model.safetensors'));
  const ad = readSafetensorsF32(path.join(adapterDir, 'adapter_model.safetensors'));
  const out = new Map<string, Float64Array>();
  for (const [name, A] of ad) {
    if (!name.endsWith('.lora_A.weight')) continue;
    const mod = name.slice('base_model.model.'.length, -'.lora_A.weight'.length);
    const B = ad.get(`base_model.model.${mod}.lora_B.weight`)!;
    const W = w.get(`${mod}.weight`)!;
    const [O, I] = W.shape, r = A.shape[0];
    const m = Float64Array.from(W.data);
    for (let o = 0; o < O; o++) for (let k = 0; k < r; k++) {
      const b = s * B.data[o * r + k];
      for (let i = 0; i < I; i++) m[o * I + i] += b * A.data[k * I + i];
    }
    out.set(`${mod}.weight`, m);
  }
  return out;
}

function maxRelDiff(got: Float32Array, want: Float64Array): number {
  let d = 0, mx = 0;
  for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i] - want[i])); mx = Math.max(mx, Math.abs(want[i])); }
  return d / mx;
}

test('merge: W + (alpha/r) B @ A for each adapted module, other weights and the tokenizer files as they were', () => {
  const adapter = writeAdapter(path.join(root, 'ad'), base, { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'] });
  const out = path.join(root, 'merged');
  const res = tunerExport(['merge', '--base', base, '--adapter', adapter, '--out', out]);
  assert.deepEqual(res.merge, { modules: 6, rank: 4, scaling: 2, rslora: false });
  assert.equal(res.dtype, 'F32', 'the base is float32');
  const merged = readSafetensorsF32(path.join(out, 'model.safetensors'));
  const want = expectedMerge(base, adapter, 8 / 4);
  for (const [name, m] of want) assert.ok(maxRelDiff(merged.get(name)!.data, m) < 1e-6, name);
  const orig = readSafetensorsF32(path.join(base, 'model.safetensors'));
  assert.deepEqual([...merged.keys()], [...orig.keys()], 'same tensors, same order');
  for (const [name, t] of orig) if (!want.has(name)) assert.deepEqual(merged.get(name)!.data, t.data, `${name} untouched`);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', ...Object.keys(EXTRA_FILES)])
    assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(base, f))), `${f} copied`);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  const baseCfg = JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8'));
  assert.deepEqual(cfg, baseCfg);
});

test('merge: rsLoRA scales by alpha/sqrt(r); a bfloat16 base stays bfloat16', () => {
  ensureDebianPackages(['python3-numpy']);
  const bf = path.join(root, 'bf16');
  execFileSync(PYTHON, [path.join(REPO_ROOT, 'test/native/reference/make_tiny_model.py'), '--out', bf, '--dtype', 'bf16', '--vocab', '96', '--seed', '3']);
  const adapter = writeAdapter(path.join(root, 'ad-rs'), bf, { rank: 4, alpha: 8, targets: ['k_proj', 'up_proj'], rslora: true });
  const out = path.join(root, 'merged-bf16');
  const res = tunerExport(['merge', '--base', bf, '--adapter', adapter, '--out', out]);
  assert.deepEqual(res.merge, { modules: 4, rank: 4, scaling: 4, rslora: true }, 'alpha / sqrt(r) = 8 / 2');
  assert.equal(res.dtype, 'BF16');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
  const merged = readSafetensors(path.join(out, 'model.safetensors'));
  assert.ok([...merged.values()].every((t) => t.dtype === 'BF16'));
  for (const [name, m] of expectedMerge(bf, adapter, 4)) assert.ok(maxRelDiff(merged.get(name)!.data, m) < 4e-3, `${name} within bf16 rounding`);
  const f32 = tunerExport(['merge', '--base', bf, '--adapter', adapter, '--out', path.join(root, 'merged-f32'), '--dtype', 'f32']);
  assert.equal(f32.dtype, 'F32');
  for (const [name, m] of expectedMerge(bf, adapter, 4))
    assert.ok(maxRelDiff(readSafetensors(path.join(root, 'merged-f32', 'model.safetensors')).get(name)!.data, m) < 1e-6, name);
});

test('the merged folder runs as the base with the adapter applied on the fly (our engine, the PyTorch reference, llama.cpp)', async (t) => {
  const adapter = writeAdapter(path.join(root, 'ad-all'), base, { rank: 8, alpha: 16, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
  const merged = path.join(root, 'merged-all');
  tunerExport(['merge', '--base', base, '--adapter', adapter, '--out', merged]);
  const onTheFly = tunerGreedy(base, 'f32', PROMPT, 32, { adapter, logitsOut: path.join(root, 'fly.safetensors') });
  const fromMerged = tunerGreedy(merged, 'f32', PROMPT, 32, { logitsOut: path.join(root, 'merged.safetensors') });
  assert.deepEqual(fromMerged.ids, onTheFly.ids);
  const a = logSoftmax(onTheFly.logits![0]), b = logSoftmax(fromMerged.logits![0]);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  assert.ok(d < 1e-4, `log-probabilities differ by ${d}`);
  const plain = tunerGreedy(base, 'f32', PROMPT, 32);
  assert.notDeepEqual(plain.ids, onTheFly.ids, 'the adapter changes what the model generates');

  ensurePyTorch();
  const py = spawnSync(PYTHON, ['-c', [
    'import sys, json, torch', `sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'test/native/reference'))})`, 'import llama_ref',
    `m = llama_ref.Model.from_pretrained(${JSON.stringify(merged)}, dtype=torch.float64)`,
    `_, lg = m(torch.tensor([${JSON.stringify(PROMPT)}]))`, 'print(json.dumps(torch.log_softmax(lg[0, -1], -1).tolist()))',
  ].join('\n')], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(py.status, 0, py.stderr);
  const ref = JSON.parse(py.stdout) as number[];
  let dr = 0;
  for (let i = 0; i < ref.length; i++) dr = Math.max(dr, Math.abs(ref[i] - a[i]));
  t.diagnostic(`merged vs on the fly: ${d.toExponential(2)}; PyTorch reference on the merged folder vs on the fly: ${dr.toExponential(2)}`);
  assert.ok(dr < 1e-4, `the PyTorch reference reads the merged folder differently (${dr})`);

  const gguf = path.join(root, 'adapter.gguf');
  const res = exportGguf(base, 'f32', gguf, undefined, adapter);
  assert.equal((res.merge as { modules: number }).modules, 14);
  const peer = await LlamaCppPeer.open();
  const m = await peer.load(gguf, { contextSize: 128, threads: 2, kvCache: 'F32' });
  try {
    const theirs = await m.greedy(PROMPT, 32);
    assert.ok(firstDifference(theirs, onTheFly.ids) >= 32, `llama.cpp with the merged GGUF: ${theirs.join(' ')}\nours: ${onTheFly.ids.join(' ')}`);
  } finally {
    await m.dispose();
  }
});

/** Runs tuner-export expecting failure; returns its JSON error. */
function exportError(args: string[]): { code: string; message: string; hint: string } {
  const r = spawnSync(findTool('tuner-export'), args, { encoding: 'utf8' });
  assert.equal(r.status, 2, `tuner-export ${args.join(' ')} should fail: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stderr.trim().split('\n').pop()!);
}

test('bad input: a JSON error naming the file or option, with a hint', () => {
  const out = path.join(root, 'never');
  let e = exportError(['merge', '--base', base, '--adapter', path.join(root, 'nope'), '--out', out]);
  assert.equal(e.code, 'bad_adapter');
  assert.match(e.message, /nope\/adapter_config\.json: not found/);
  assert.match(e.hint, /PEFT adapter folder/);

  const other = writeModelWithTokenizer(path.join(root, 'other'), { ...SPEC, hidden: 32, intermediate: 64 });
  const foreign = writeAdapter(path.join(root, 'ad-foreign'), other, { rank: 2, alpha: 4, targets: ['q_proj'] });
  e = exportError(['merge', '--base', base, '--adapter', foreign, '--out', out]);
  assert.equal(e.code, 'adapter_mismatch');
  assert.match(e.message, /lora_A\.weight" has shape \[2, 32\], expected \[2, 64\]/);

  const dora = writeAdapter(path.join(root, 'ad-dora'), base, { rank: 2, alpha: 4, targets: ['q_proj'], extraConfig: { use_dora: true } });
  assert.match(exportError(['merge', '--base', base, '--adapter', dora, '--out', out]).message, /use_dora/);
  assert.equal(exportError(['merge', '--base', base, '--adapter', dora, '--out', base]).code, 'bad_arguments');
  e = exportError(['gguf', '--model', base, '--type', 'q5_k', '--out', path.join(root, 'x.gguf')]);
  assert.equal(e.code, 'bad_arguments');
  assert.match(e.message, /--type must be f32, f16, bf16, q8_0 or q4_0/);

  const noTok = path.join(root, 'no-tokenizer');
  fs.mkdirSync(noTok);
  for (const f of ['config.json', 'model.safetensors']) fs.copyFileSync(path.join(base, f), path.join(noTok, f));
  e = exportError(['gguf', '--model', noTok, '--type', 'f16', '--out', path.join(root, 'x.gguf')]);
  assert.equal(e.code, 'missing_tokenizer');
  assert.match(e.hint, /copy tokenizer\.json/);
  assert.ok(!fs.existsSync(path.join(root, 'x.gguf')) && !fs.existsSync(out), 'nothing written on failure');
});
