// The pre-flight memory estimate with precision "bf16": the engine keeps its fp32 master weights
// and adds the bf16 weights its matmuls read (native/src/models/bf16_weights.cpp: every decoder
// linear it did not quantize, and the lm_head): a plain copy (2 bytes a weight) when they train,
// packed for the forward and the backward products (about 4) when frozen, and then, on a CPU
// with the bf16 kernel, without the frozen decoder linears' fp32 masters; nothing else changes.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { estimateMemory } from '../../../src/core/args/estimate';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { layerLinears, parameterCount, parseModelSpec } from '../../../src/core/model/spec';

const spec = parseModelSpec({
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: 512, intermediate_size: 1376,
  num_hidden_layers: 8, num_attention_heads: 8, num_key_value_heads: 8, tie_word_embeddings: true, torch_dtype: 'float32',
});
const base: Args = { model: 'm', data: 'd', batch_size: 4, max_length: 256 };
const parts = (a: Partial<Args>, bf16Kernel?: boolean) =>
  Object.fromEntries(estimateMemory(spec, resolveArgs({ ...base, ...a }), { threads: 2, bf16Kernel }).parts.map((p) => [p.name, p.bytes]));
const linearWeights = spec.numLayers * Object.values(layerLinears(spec)).reduce((n, [o, i]) => n + o * i, 0);

describe('memory estimate: precision bf16', () => {
  for (const method of ['full', 'lomo'] as const) {
    it(`${method}: weights grow by the bf16 copy of the linears and the lm_head, every other term stays`, () => {
      const fp32 = parts({ method, ...(method === 'lomo' ? { optimizer: 'sgd' } : {}) });
      const bf16 = parts({ method, precision: 'bf16', ...(method === 'lomo' ? { optimizer: 'sgd' } : {}) });
      assert.equal(fp32.weights, parameterCount(spec) * 4, 'fp32 master weights');
      assert.equal(bf16.weights - fp32.weights, 2 * (linearWeights + spec.vocabSize * spec.hiddenSize));
      for (const name of Object.keys(fp32)) if (name !== 'weights') assert.equal(bf16[name], fp32[name], name);
    });
  }

  it('lora: the frozen base packed twice (forward and backward), each target with room for its rank in both', () => {
    const lora = { method: 'lora', lora_rank: 8, lora_target_modules: ['q_proj', 'v_proj', 'down_proj'] } as const;
    const fp32 = parts({ ...lora, lora_target_modules: [...lora.lora_target_modules] });
    const bf16 = parts({ ...lora, lora_target_modules: [...lora.lora_target_modules], precision: 'bf16' });
    // Every width here is even and a multiple of the 32-column sliver, so no padding: 2 bytes a
    // weight in each layout, and r more k per output in the forward's, per input in the backward's.
    const [qOut, qIn] = layerLinears(spec).q_proj, [vOut, vIn] = layerLinears(spec).v_proj, [dOut, dIn] = layerLinears(spec).down_proj;
    const room = 2 * 8 * spec.numLayers * (qOut + qIn + vOut + vIn + dOut + dIn);
    assert.equal(bf16.weights - fp32.weights, 4 * (linearWeights + spec.vocabSize * spec.hiddenSize) + room);
    for (const name of Object.keys(fp32)) if (name !== 'weights') assert.equal(bf16[name], fp32[name], name);
  });

  it('lora: an odd width pads its columns to the sliver and leaves no room where K is odd', () => {
    const odd = parseModelSpec({
      architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 301, hidden_size: 50, intermediate_size: 81,
      num_hidden_layers: 1, num_attention_heads: 5, num_key_value_heads: 5, tie_word_embeddings: true, torch_dtype: 'float32',
    });
    const weights = (precision: 'fp32' | 'bf16') => estimateMemory(odd, resolveArgs({ ...base, method: 'lora', precision, lora_rank: 8, lora_target_modules: ['down_proj'] }), { threads: 2 }).parts.find((p) => p.name === 'weights')!.bytes;
    // packed(K, N, room) = 4 * (N rounded up to 32) * (ceil(K / 2) + room / 2).
    const packed = (K: number, N: number, room: number) => 4 * Math.ceil(N / 32) * 32 * (Math.ceil(K / 2) + room / 2);
    const attention = 4 * (packed(50, 50, 0) + packed(50, 50, 0));
    const mlp = 2 * (packed(50, 81, 0) + packed(81, 50, 0));
    const down = packed(81, 50, 0) + packed(50, 81, 8);  // forward's K = 81: no room; backward's K = 50
    const head = packed(50, 301, 0) + packed(301, 50, 0);
    assert.equal(weights('bf16') - weights('fp32'), attention + mlp + down + head);
  });

  it('qlora: the quantized linears get none; the lm_head and the linears left fp32 are packed twice', () => {
    const fp32 = parts({ method: 'qlora', quantization: 'nf4' });
    const bf16 = parts({ method: 'qlora', quantization: 'nf4', precision: 'bf16' });
    // nf4 quantizes a linear whose input width is a multiple of its 64-wide blocks: here all but
    // down_proj (in = 1376), which stays fp32 and, not a target, is packed without room like the lm_head.
    const leftFp32 = spec.numLayers * Object.values(layerLinears(spec)).filter(([, i]) => i % 64 !== 0).reduce((n, [o, i]) => n + o * i, 0);
    assert.equal(leftFp32, spec.numLayers * spec.hiddenSize * spec.intermediateSize);
    assert.equal(bf16.weights - fp32.weights, 4 * (spec.vocabSize * spec.hiddenSize + leftFp32));
  });

  it('on a CPU with the bf16 kernel a frozen base holds its decoder linears packed only, without their fp32 masters', () => {
    const args: Partial<Args> = { method: 'lora', lora_rank: 8, lora_target_modules: ['q_proj'], precision: 'bf16' };
    const unknown = parts(args), withKernel = parts(args, true), without = parts(args, false);
    assert.equal(unknown.weights - withKernel.weights, 4 * linearWeights, 'LoRA: every decoder linear\'s master');
    assert.equal(without.weights, unknown.weights, 'no bf16 kernel: the masters stay (and the packed bytes bound the plain copy)');
    const qlora: Partial<Args> = { method: 'qlora', quantization: 'nf4', precision: 'bf16' };
    // nf4 leaves only down_proj in fp32 here: its masters go, the quantized linears have none.
    assert.equal(parts(qlora).weights - parts(qlora, true).weights, 4 * spec.numLayers * spec.hiddenSize * spec.intermediateSize, 'QLoRA');
    // A full fine-tune trains the linears: its masters stay on any CPU.
    assert.equal(parts({ method: 'full', precision: 'bf16' }, true).weights, parts({ method: 'full', precision: 'bf16' }).weights, 'full');
    for (const name of Object.keys(unknown)) if (name !== 'weights') assert.equal(withKernel[name], unknown[name], name);
  });
});
