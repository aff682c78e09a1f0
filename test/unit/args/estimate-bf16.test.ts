// The pre-flight memory estimate with precision "bf16": the engine keeps its fp32 master weights
// and adds the bf16 copy its matmuls read (native/src/models/bf16_weights.cpp: every decoder
// linear it did not quantize, and the lm_head, 2 bytes each); nothing else changes.
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
const parts = (a: Partial<Args>) => Object.fromEntries(estimateMemory(spec, resolveArgs({ ...base, ...a }), { threads: 2 }).parts.map((p) => [p.name, p.bytes]));
const linearWeights = spec.numLayers * Object.values(layerLinears(spec)).reduce((n, [o, i]) => n + o * i, 0);

describe('memory estimate: precision bf16', () => {
  for (const method of ['full', 'lora', 'lomo'] as const) {
    it(`${method}: weights grow by the bf16 copy of the linears and the lm_head, every other term stays`, () => {
      const fp32 = parts({ method, ...(method === 'lomo' ? { optimizer: 'sgd' } : {}) });
      const bf16 = parts({ method, precision: 'bf16', ...(method === 'lomo' ? { optimizer: 'sgd' } : {}) });
      assert.equal(fp32.weights, parameterCount(spec) * 4, 'fp32 master weights');
      assert.equal(bf16.weights - fp32.weights, 2 * (linearWeights + spec.vocabSize * spec.hiddenSize));
      for (const name of Object.keys(fp32)) if (name !== 'weights') assert.equal(bf16[name], fp32[name], name);
    });
  }

  it('qlora: the quantized linears get no bf16 copy; the lm_head and the linears left fp32 do', () => {
    const fp32 = parts({ method: 'qlora', quantization: 'nf4' });
    const bf16 = parts({ method: 'qlora', quantization: 'nf4', precision: 'bf16' });
    // nf4 quantizes a linear whose input width is a multiple of its 64-wide blocks: here all but
    // down_proj (in = 1376), which stays fp32 and so is rounded to bf16 like the lm_head.
    const leftFp32 = spec.numLayers * Object.values(layerLinears(spec)).filter(([, i]) => i % 64 !== 0).reduce((n, [o, i]) => n + o * i, 0);
    assert.equal(leftFp32, spec.numLayers * spec.hiddenSize * spec.intermediateSize);
    assert.equal(bf16.weights - fp32.weights, 2 * (spec.vocabSize * spec.hiddenSize + leftFp32));
  });
});
