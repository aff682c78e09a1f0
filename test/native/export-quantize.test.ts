// tuner-export quantize: a quantized folder (docs/inference.md "Quantized folder") runs in the
// engine exactly as the original quantized at load: the same greedy tokens and the same logits
// (bit for bit; f16 within 1e-5), for every format, with an adapter merged first as well; what is stored quantized
// (every linear and the lm_head) and what stays f32 (norms, the untied embedding).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { tunerExport, tunerGreedy, writeModelWithTokenizer } from './export-fixtures';
import { writeSafetensorsF32 } from './safetensors-f32';

const PROMPT = [464, 3290, 318, 257, 1332];
let root = '';
let base = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-quantize-'));
  base = writeModelWithTokenizer(path.join(root, 'base'), { tokenizer: 'gpt2', hidden: 64, layers: 2, heads: 4, kvHeads: 2, intermediate: 128, maxPos: 256, seed: 31 });
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

function header(file: string): Record<string, { dtype: string; shape: number[] } | Record<string, string>> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.toString('utf8', 8, 8 + n));
}

test('a quantized folder generates what quantizing at load generates, for every format', () => {
  const f32Bytes = fs.statSync(path.join(base, 'model.safetensors')).size;
  for (const quant of ['f16', 'bf16', 'q8_0', 'q4_0', 'int8', 'nf4']) {
    const out = path.join(root, quant);
    const res = tunerExport(['quantize', '--model', base, '--quant', quant, '--out', out]);
    assert.deepEqual(res.files, ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json']);
    assert.ok(res.bytes < f32Bytes, `${quant}: ${res.bytes} bytes < f32 ${f32Bytes}`);
    const h = header(path.join(out, 'model.safetensors'));
    const meta = h.__metadata__ as Record<string, string>;
    assert.equal(meta['tuner.quant.model.layers.1.mlp.down_proj.weight'], quant);
    assert.equal(meta['tuner.quant.lm_head.weight'], quant);
    assert.equal(meta['tuner.quant.model.embed_tokens.weight'], undefined, 'the untied embedding stays f32, as at load');
    assert.equal((h['model.layers.0.input_layernorm.weight'] as { dtype: string }).dtype, 'F32');
    const stored = tunerGreedy(out, 'f32', PROMPT, 16, { logitsOut: path.join(root, `${quant}-stored.safetensors`) });
    const atLoad = tunerGreedy(base, quant, PROMPT, 16, { logitsOut: path.join(root, `${quant}-load.safetensors`) });
    assert.deepEqual(stored.ids, atLoad.ids, quant);
    assert.equal(stored.kernel, atLoad.kernel, `${quant}: the same kernel runs`);
    if (quant !== 'f16') {
      assert.deepEqual(stored.logits, atLoad.logits, `${quant}: the same logits, bit for bit`);
    } else {
      // Same stored halves (checked), yet the session's f16 folder path rounds differently in the last bit or two.
      let d = 0;
      stored.logits!.forEach((row, i) => row.forEach((x, j) => { d = Math.max(d, Math.abs(x - atLoad.logits![i][j])); }));
      assert.ok(d < 1e-5, `f16: logits differ by ${d}`);
    }
  }
});

test('quantize --adapter merges first: the folder generates what the merged model quantized at load generates', () => {
  const adapter = path.join(root, 'adapter');
  fs.mkdirSync(adapter);
  const r = 2, C = 64;
  const a = new Float32Array(r * C).map((_, i) => Math.sin(i) / 8), b = new Float32Array(C * r).map((_, i) => Math.cos(i) / 10);
  writeSafetensorsF32(path.join(adapter, 'adapter_model.safetensors'), [
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight', { shape: [r, C], data: a }],
    ['base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight', { shape: [C, r], data: b }],
  ]);
  fs.writeFileSync(path.join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r, lora_alpha: 4, target_modules: ['q_proj'] }));
  const q = tunerExport(['quantize', '--model', base, '--adapter', adapter, '--quant', 'q8_0', '--out', path.join(root, 'q-ad')]);
  assert.deepEqual(q.merge, { modules: 1, rank: 2, scaling: 2, rslora: false });
  tunerExport(['merge', '--base', base, '--adapter', adapter, '--out', path.join(root, 'merged')]);
  const stored = tunerGreedy(path.join(root, 'q-ad'), 'f32', PROMPT, 16);
  const atLoad = tunerGreedy(path.join(root, 'merged'), 'q8_0', PROMPT, 16);
  assert.deepEqual(stored.ids, atLoad.ids);
});
