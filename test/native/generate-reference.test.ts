// Greedy generation of the native engine (tuner-generate: fp32 inference session, KV cache)
// against our PyTorch reference (test/native/reference/generate_ref.py: llama_ref.py in float64
// with transformers' cached generation) on tiny random models of every supported variant: the
// same 40 tokens, and each step's logits within a normalised 1e-4. Also a LoRA adapter applied
// on the fly, rope `dynamic` generating well past max_position_embeddings (frequencies updated
// per step as transformers does), and sliding windows shorter than the generation.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ensurePyTorch } from '../ensure-debian-packages';
import { readSafetensorsF32 } from './safetensors-f32';
import { findTool, logitsRelError, referencePython, runTool } from './native-tools';

const TOL = 1e-4;
const MAX_NEW = 40;
const PROMPT = [5, 9, 13, 2, 77, 31, 40];

// [name, make_tiny_model.py options, make_tiny_adapter.py options (LoRA cases), context]
const CASES: Array<[string, string[], string[]?, number?]> = [
  ['llama-gqa', []],
  ['llama-bf16-tied', ['--dtype', 'bf16', '--tied']],
  ['llama-mha-biases', ['--kv-heads', '4', '--head-dim', '16', '--attention-bias', '--mlp-bias']],
  ['qwen2-biases', ['--arch', 'qwen2', '--kv-heads', '1']],
  ['mistral-window5', ['--arch', 'mistral', '--sliding-window', '5']],
  ['qwen2-window-layers', ['--arch', 'qwen2', '--kv-heads', '1', '--sliding-window', '6', '--max-window-layers', '1']],
  ['rope-linear', ['--rope-scaling', 'linear']],
  // max_position_embeddings 24 < 46 positions: the NTK base grows step by step.
  ['rope-dynamic', ['--rope-scaling', 'dynamic', '--max-pos', '24'], undefined, 48],
  ['rope-llama3', ['--rope-scaling', 'llama3']],
  ['rope-yarn', ['--rope-scaling', 'yarn']],
  ['rope-ntk-by-parts', ['--rope-scaling', 'ntk_by_parts']],
  // xPos over the KV cache: each cached key keeps its own position's factor.
  ['rope-xpos', ['--rope-scaling', 'xpos']],
  ['lora-all-modules', [], ['--rank', '4', '--alpha', '8']],
  ['lora-qwen2-q-v', ['--arch', 'qwen2', '--kv-heads', '1'], ['--targets', 'q_proj,v_proj', '--rank', '2', '--alpha', '16']],
];

/** Cases run again on the baseline instruction set (TUNER_CPU_LIMIT=generic: portable sgemm, qgemm and vector kernels). */
const GENERIC = ['llama-gqa', 'mistral-window5', 'lora-qwen2-q-v'];
const GENERIC_SUFFIX = ' (baseline ISA)';

interface RefResult {
  ids: number[];
  margins: number[];
  logits: number[][];
}
interface NativeResult {
  status: number | null;
  stderr: string;
  ids: number[];
  kernel: string;
  logits?: Float32Array;
}

let tmp = '';
let reference: Record<string, RefResult> = {};
const native = new Map<string, NativeResult>();

before(() => {
  ensurePyTorch();
  const generate = findTool('tuner-generate');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-generate-ref-'));
  const cases: Array<{ name: string; model: string; adapter?: string; ids: number[]; max_new: number }> = [];
  for (const [name, opts, adapterOpts, context] of CASES) {
    const model = path.join(tmp, `model-${name}`);
    referencePython('make_tiny_model.py', ['--out', model, '--vocab', '96', ...opts]);
    let adapter: string | undefined;
    if (adapterOpts) {
      adapter = path.join(tmp, `adapter-${name}`);
      referencePython('make_tiny_adapter.py', ['--model', model, '--out', adapter, '--seed', '3', ...adapterOpts]);
    }
    cases.push({ name, model, ...(adapter ? { adapter } : {}), ids: PROMPT, max_new: MAX_NEW });
    const args = [model, '--ids', PROMPT.join(','), '--max-new', String(MAX_NEW), '--greedy', '--threads', '2',
      ...(adapter ? ['--adapter', adapter] : []), ...(context ? ['--context', String(context)] : [])];
    const runs: Array<[string, Record<string, string> | undefined]> = [[name, undefined]];
    if (GENERIC.includes(name)) runs.push([name + GENERIC_SUFFIX, { TUNER_CPU_LIMIT: 'generic' }]);
    for (const [label, env] of runs) {
      const logitsFile = path.join(tmp, `${label.replace(/\W+/g, '-')}.logits.safetensors`);
      const r = runTool(generate, [...args, '--logits-out', logitsFile], { env });
      const out = r.status === 0 ? (JSON.parse(r.stdout.trim()) as { ids: number[]; kernel: string }) : { ids: [], kernel: '' };
      const logits = r.status === 0 ? readSafetensorsF32(logitsFile).get('logits')?.data : undefined;
      native.set(label, { status: r.status, stderr: r.stderr, ids: out.ids, kernel: out.kernel, logits });
    }
  }
  const casesFile = path.join(tmp, 'cases.json');
  fs.writeFileSync(casesFile, JSON.stringify(cases));
  reference = JSON.parse(referencePython('generate_ref.py', [casesFile])) as Record<string, RefResult>;
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function expectSameGeneration(t: { diagnostic: (s: string) => void }, label: string, name: string): void {
  const n = native.get(label);
  const ref = reference[name];
  assert.ok(n && ref, `${label} ran on both sides`);
  assert.equal(n.status, 0, `tuner-generate failed: ${n.stderr}`);
  assert.equal(ref.ids.length, MAX_NEW);
  assert.deepEqual(n.ids, ref.ids);
  // The logits each token was chosen from, step by step.
  assert.ok(n.logits, 'tuner-generate wrote the logits');
  const V = ref.logits[0].length;
  assert.equal(n.logits.length, MAX_NEW * V);
  const rel = logitsRelError(n.logits, ref.logits);
  const margin = Math.min(...ref.margins);
  t.diagnostic(`${MAX_NEW} tokens equal; logits max rel err ${rel.toExponential(2)}; smallest top-2 margin ${margin.toExponential(2)}`);
  assert.ok(rel <= TOL, `logits differ by ${rel} (normalised)`);
}

describe('fp32 greedy generation equals the PyTorch reference token for token', () => {
  for (const [name] of CASES) test(name, (t) => expectSameGeneration(t, name, name));
});

describe('baseline instruction set (no AVX2): the same tokens', () => {
  for (const name of GENERIC) {
    test(name, (t) => {
      assert.match(native.get(name + GENERIC_SUFFIX)?.kernel ?? '', /sgemm generic/, 'TUNER_CPU_LIMIT=generic picks the portable kernels');
      expectSameGeneration(t, name + GENERIC_SUFFIX, name);
    });
  }
});

describe('the variants generate different text', () => {
  // A window, an adapter or dynamic scaling that was silently ignored would repeat its base's tokens.
  const pairs: Array<[string, string]> = [
    ['rope-dynamic', 'llama-gqa'],
    ['rope-xpos', 'llama-gqa'],
    ['lora-all-modules', 'llama-gqa'],
    ['lora-qwen2-q-v', 'qwen2-biases'],
  ];
  for (const [a, b] of pairs) {
    test(`${a} vs ${b}`, () => assert.notDeepEqual(reference[a]?.ids, reference[b]?.ids));
  }
});
