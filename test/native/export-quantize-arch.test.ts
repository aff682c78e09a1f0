// tuner-export quantize on GPT-2, Bloom, Qwen3 and Gemma 3 (tiny random models of each,
// make_tiny_arch.py): every projection, whatever the architecture names it (c_attn, c_fc,
// query_key_value, q_proj...), is stored quantized, GPT-2's Conv1D weights as [out, in], and the
// folder generates what the original quantized at load generates, logits bit for bit. A model
// whose widths fit no block of the format is refused with the format that fits, not an internal
// error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ensurePyTorch } from '../ensure-debian-packages';
import { tunerExport, tunerGreedy } from './export-fixtures';
import { findTool, referencePython } from './native-tools';
import { tempDir } from './trainer-fixtures';

const PROMPT = [5, 17, 42, 8, 63];

// [name, make_tiny_arch.py options, a projection that must be stored quantized]
const MODELS: Array<[string, string[], string]> = [
  ['gpt2', ['--arch', 'gpt2', '--max-pos', '64'], 'transformer.h.1.attn.c_attn.weight'],
  ['bloom', ['--arch', 'bloom'], 'transformer.h.1.self_attention.query_key_value.weight'],
  ['qwen3', ['--arch', 'qwen3', '--head-dim', '16'], 'model.layers.1.self_attn.q_proj.weight'],
  ['gemma3', ['--arch', 'gemma3', '--head-dim', '16', '--sliding-window', '4', '--query-pre-attn-scalar', '16'], 'model.layers.1.mlp.gate_proj.weight'],
];

function header(file: string): Record<string, { dtype: string; shape: number[] } | Record<string, string>> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.toString('utf8', 8, 8 + n));
}

let root = '';
before(() => {
  ensurePyTorch();
  root = tempDir('quantize-arch');
  for (const [name, opts] of MODELS)
    referencePython('make_tiny_arch.py', ['--out', path.join(root, name), '--vocab', '96', '--hidden', '64', '--seed', '5', ...opts]);
  referencePython('make_tiny_arch.py', ['--out', path.join(root, 'bloom-40'), '--arch', 'bloom', '--vocab', '96', '--hidden', '40', '--heads', '5', '--seed', '5']);
});
after(() => {
  if (root && !process.env.TUNER_KEEP_TEST_DIRS) fs.rmSync(root, { recursive: true, force: true });
});

describe('tuner-export quantize on GPT-2, Bloom, Qwen3 and Gemma 3', () => {
  for (const [name, , projection] of MODELS) {
    test(`${name}: the quantized folder generates what quantizing at load generates`, () => {
      const base = path.join(root, name);
      for (const quant of ['int8', 'nf4']) {
        const out = path.join(root, `${name}-${quant}`);
        tunerExport(['quantize', '--model', base, '--quant', quant, '--out', out]);
        const h = header(path.join(out, 'model.safetensors'));
        const meta = h.__metadata__ as Record<string, string>;
        assert.equal(meta[`tuner.quant.${projection}`], quant, `${name} ${quant}: ${projection} stored quantized`);
        const stored = tunerGreedy(out, 'f32', PROMPT, 12, { context: 64, logitsOut: path.join(root, `${name}-${quant}-stored.safetensors`) });
        const atLoad = tunerGreedy(base, quant, PROMPT, 12, { context: 64, logitsOut: path.join(root, `${name}-${quant}-load.safetensors`) });
        assert.deepEqual(stored.ids, atLoad.ids, `${name} ${quant}: the same tokens`);
        assert.deepEqual(stored.logits, atLoad.logits, `${name} ${quant}: the same logits, bit for bit`);
      }
    });
  }

  test('a model whose widths fit no block of the format is refused with the format that fits', () => {
    const r = spawnSync(findTool('tuner-export'), ['quantize', '--model', path.join(root, 'bloom-40'), '--quant', 'nf4', '--out', path.join(root, 'bloom-40-nf4')],
      { encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 2, r.stderr);
    const e = JSON.parse(r.stderr.trim().split('\n').pop() ?? '') as { code: string; message: string; hint: string };
    assert.equal(e.code, 'bad_arguments');
    assert.match(e.message, /bloom-40\/config\.json: no weight matrix has a width that is a multiple of 64, the block of --quant nf4/);
    assert.match(e.hint, /--quant int8 or f16/);
    tunerExport(['quantize', '--model', path.join(root, 'bloom-40'), '--quant', 'int8', '--out', path.join(root, 'bloom-40-int8')]);
  });
});
