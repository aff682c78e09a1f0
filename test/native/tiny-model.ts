// Writes a tiny random Hugging Face model folder of the Llama family (config.json +
// model.safetensors, float32) in TypeScript, for tests that need a model but not PyTorch: the
// trainer, run and estimator tests. The layout and the weight scales are those of
// test/native/reference/make_tiny_model.py (which the PyTorch reference tests keep using for
// their wider variants: f16/bf16, shards, rope scaling, biases): Hugging Face names and shapes,
// linear weights ~ N(0, 1/in_features), norms ~ 1 + N(0, 0.01), embeddings ~ N(0, 0.25), so
// activations stay O(1) in a tiny model and every gradient stays far from zero.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeSafetensorsF32, type F32Tensor } from './safetensors-f32';

export type TinyArch = 'llama' | 'mistral' | 'qwen2';

export interface TinyModelSpec {
  arch?: TinyArch;
  vocab?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  /** Default hidden / heads. */
  headDim?: number;
  maxPos?: number;
  /** lm_head shares the embedding (tie_word_embeddings). */
  tied?: boolean;
  seed?: number;
}

const ARCHITECTURES: Record<TinyArch, string> = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' };

/** Seeded standard normal draws: mulberry32 uniforms through Box-Muller. Reproducible per seed. */
function normalSource(seed: number): () => number {
  let state = (seed ^ 0x9e3779b9) >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 - u is in (0, 1]: the log is finite
    const phi = 2 * Math.PI * uniform();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
}

/** The config.json the writer puts next to the weights (same fields as make_tiny_model.py). */
export function tinyConfig(s: TinyModelSpec = {}): Record<string, unknown> {
  const arch = s.arch ?? 'llama';
  const hidden = s.hidden ?? 32;
  const heads = s.heads ?? 4;
  const kvHeads = s.kvHeads ?? 2;
  if (heads % kvHeads !== 0) throw new Error(`tiny model: heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  const cfg: Record<string, unknown> = {
    architectures: [ARCHITECTURES[arch]],
    model_type: arch,
    vocab_size: s.vocab ?? 96,
    hidden_size: hidden,
    intermediate_size: s.intermediate ?? 48,
    num_hidden_layers: s.layers ?? 2,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: s.headDim ?? Math.floor(hidden / heads),
    max_position_embeddings: s.maxPos ?? 64,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    hidden_act: 'silu',
    tie_word_embeddings: s.tied ?? false,
    torch_dtype: 'float32',
    bos_token_id: 1,
    eos_token_id: 2,
  };
  if (arch === 'llama') Object.assign(cfg, { attention_bias: false, mlp_bias: false });
  if (arch === 'mistral') cfg.sliding_window = 4096;
  if (arch === 'qwen2') Object.assign(cfg, { use_sliding_window: false, sliding_window: 4096, max_window_layers: 28 });
  return cfg;
}

/** The weights of a config from tinyConfig(), in Hugging Face names and checkpoint order. */
export function tinyWeights(cfg: Record<string, unknown>, seed = 0): Array<[string, F32Tensor]> {
  const num = (k: string) => cfg[k] as number;
  const [C, F, V, L] = [num('hidden_size'), num('intermediate_size'), num('vocab_size'), num('num_hidden_layers')];
  const [NH, NKV, HD] = [num('num_attention_heads'), num('num_key_value_heads'), num('head_dim')];
  const qkvBias = cfg.model_type === 'qwen2';
  const normal = normalSource(seed);
  const fill = (shape: number[], scale: number, center = 0): F32Tensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = center + scale * normal();
    return { shape, data };
  };
  const linear = (outF: number, inF: number) => fill([outF, inF], 1 / Math.sqrt(inF));
  const norm = () => fill([C], 0.1, 1);

  const w: Array<[string, F32Tensor]> = [['model.embed_tokens.weight', fill([V, C], 0.5)]];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    w.push([`${p}input_layernorm.weight`, norm()]);
    for (const [name, outF, inF] of [['q_proj', NH * HD, C], ['k_proj', NKV * HD, C], ['v_proj', NKV * HD, C], ['o_proj', C, NH * HD]] as const) {
      w.push([`${p}self_attn.${name}.weight`, linear(outF, inF)]);
      if (qkvBias && name !== 'o_proj') w.push([`${p}self_attn.${name}.bias`, fill([outF], 0.1)]);
    }
    w.push([`${p}post_attention_layernorm.weight`, norm()]);
    for (const [name, outF, inF] of [['gate_proj', F, C], ['up_proj', F, C], ['down_proj', C, F]] as const) {
      w.push([`${p}mlp.${name}.weight`, linear(outF, inF)]);
    }
  }
  w.push(['model.norm.weight', norm()]);
  if (!cfg.tie_word_embeddings) w.push(['lm_head.weight', linear(V, C)]);
  return w;
}

/** Writes config.json + model.safetensors into `dir` (created if needed); returns `dir`. */
export function writeTinyModel(dir: string, spec: TinyModelSpec = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = tinyConfig(spec);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  writeSafetensorsF32(path.join(dir, 'model.safetensors'), tinyWeights(cfg, spec.seed ?? 0));
  return dir;
}
