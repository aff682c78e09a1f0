// Model shapes of well-known checkpoints (their config.json values), for planning tests: the
// planner reads only config.json, so these are the real models as far as planning goes.
import { parameterCount, parseModelSpec } from '../../../src/core/model/spec';
import type { LocalModel } from '../../../src/core/planner/context';

function llama(hidden: number, inter: number, layers: number, heads: number, kv: number, vocab: number, tie = false, arch = 'LlamaForCausalLM', maxPos = 4096) {
  return { architectures: [arch], model_type: arch === 'Qwen2ForCausalLM' ? 'qwen2' : 'llama', hidden_size: hidden, intermediate_size: inter, num_hidden_layers: layers, num_attention_heads: heads, num_key_value_heads: kv, vocab_size: vocab, max_position_embeddings: maxPos, tie_word_embeddings: tie, torch_dtype: 'bfloat16' };
}

export const CONFIGS: Record<string, Record<string, unknown>> = {
  'qwen-0.5b': llama(896, 4864, 24, 14, 2, 151936, true, 'Qwen2ForCausalLM'),
  'llama-7b': llama(4096, 11008, 32, 32, 32, 32000),
  'llama-13b': llama(5120, 13824, 40, 40, 40, 32000),
  'llama-33b': llama(6656, 17920, 60, 52, 52, 32000),
  'llama-70b': llama(8192, 28672, 80, 64, 8, 32000),
  // Published config.json shapes (Hugging Face model cards).
  'llama-3.1-8b': llama(4096, 14336, 32, 32, 8, 128256, false, 'LlamaForCausalLM', 131072),
  'qwen2.5-1.5b': llama(1536, 8960, 28, 12, 2, 151936, true, 'Qwen2ForCausalLM', 32768),
  'qwen2.5-7b': llama(3584, 18944, 28, 28, 4, 152064, false, 'Qwen2ForCausalLM', 32768),
  'mistral-7b': llama(4096, 14336, 32, 32, 8, 32768, false, 'MistralForCausalLM', 32768),
};

export function localModel(name: keyof typeof CONFIGS & string, dir = `/models/${name}`): LocalModel {
  const spec = parseModelSpec(CONFIGS[name], `${name}/config.json`);
  return { ref: `./models/${name}`, dir, spec, params: parameterCount(spec) };
}
