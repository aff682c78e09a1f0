// A model's shape, read from its Hugging Face config.json: everything the estimator needs
// (parameter count, layer sizes) and everything preparation checks (vocabulary size).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface ModelSpec {
  architecture: string;
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  maxPositions: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections carry biases (Qwen2). */
  attentionBias: boolean;
  /** dtype of the stored weights (bf16, f16, f32). */
  torchDtype: string;
  /** Token ids generation stops at, from config.json / generation_config.json. */
  eosTokenIds: number[];
  /** Sliding-window attention: each query of a windowed layer sees only its last `slidingWindow`
   * keys (0 = no window); `slidingLayers` of the numLayers layers use it. */
  slidingWindow: number;
  slidingLayers: number;
}

/** The training engine's supported architectures (native/src/models/config.cpp). */
export const TRAINABLE_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM'] as const;

export class ModelConfigError extends Error {}

function num(cfg: Record<string, unknown>, file: string, ...keys: string[]): number {
  for (const k of keys) if (typeof cfg[k] === 'number') return cfg[k] as number;
  throw new ModelConfigError(`${file}: field "${keys[0]}" is missing or not a number; is this a complete Hugging Face config.json?`);
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

/**
 * The sliding window as transformers reads it (and native/src/models/config.cpp after it):
 * Mistral windows every layer, with 4096 when sliding_window is absent and none when it is null;
 * Qwen2 only with use_sliding_window, in the layers layer_types marks "sliding_attention", or
 * without layer_types those from max_window_layers (default 28) on. Other architectures: none.
 */
function slidingWindowOf(text: Record<string, unknown>, architecture: string, numLayers: number): { slidingWindow: number; slidingLayers: number } {
  const none = { slidingWindow: 0, slidingLayers: 0 };
  const mistral = architecture === 'MistralForCausalLM';
  if (!mistral && !(architecture === 'Qwen2ForCausalLM' && text.use_sliding_window === true)) return none;
  const w = text.sliding_window === undefined ? 4096 : text.sliding_window;
  if (typeof w !== 'number' || w < 1) return none;
  if (mistral) return { slidingWindow: w, slidingLayers: numLayers };
  if (Array.isArray(text.layer_types)) return { slidingWindow: w, slidingLayers: text.layer_types.filter((t) => t === 'sliding_attention').length };
  const first = typeof text.max_window_layers === 'number' ? text.max_window_layers : 28;
  return { slidingWindow: w, slidingLayers: Math.max(0, numLayers - Math.max(0, first)) };
}

export function parseModelSpec(cfg: Record<string, unknown>, file = 'config.json', generation?: Record<string, unknown>): ModelSpec {
  const archs = cfg.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : '';
  if (!architecture) throw new ModelConfigError(`${file}: field "architectures" is missing; it names the model class, e.g. ["LlamaForCausalLM"].`);
  // Multimodal configs (Gemma 3, Llama 4) nest the language model's shape in text_config.
  const text = (typeof cfg.text_config === 'object' && cfg.text_config !== null ? { ...cfg, ...(cfg.text_config as Record<string, unknown>) } : cfg);
  const hiddenSize = num(text, file, 'hidden_size', 'n_embd', 'd_model');
  const numHeads = num(text, file, 'num_attention_heads', 'n_head');
  const numKvHeads = typeof text.num_key_value_heads === 'number' ? text.num_key_value_heads : numHeads;
  const headDim = typeof text.head_dim === 'number' ? text.head_dim : hiddenSize / numHeads;
  const eos = [...ids(generation?.eos_token_id), ...ids(text.eos_token_id)];
  const numLayers = num(text, file, 'num_hidden_layers', 'n_layer');
  return {
    architecture,
    modelType: typeof text.model_type === 'string' ? text.model_type : '',
    vocabSize: num(text, file, 'vocab_size'),
    hiddenSize,
    intermediateSize: typeof text.intermediate_size === 'number' ? text.intermediate_size : typeof text.n_inner === 'number' ? text.n_inner : 4 * hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: typeof text.max_position_embeddings === 'number' ? text.max_position_embeddings : typeof text.n_positions === 'number' ? text.n_positions : 0,
    tieWordEmbeddings: text.tie_word_embeddings === true || (text.tie_word_embeddings === undefined && text.model_type === 'gpt2'),
    attentionBias: text.attention_bias === true || text.model_type === 'qwen2',
    torchDtype: typeof text.torch_dtype === 'string' ? text.torch_dtype : typeof text.dtype === 'string' ? text.dtype : 'float32',
    eosTokenIds: [...new Set(eos)],
    ...slidingWindowOf(text, architecture, numLayers),
  };
}

export function readModelSpec(dir: string): ModelSpec {
  const file = path.join(dir, 'config.json');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelConfigError(`${file}: ${(e as Error).message}. A model folder needs a Hugging Face config.json.`);
  }
  let generation: Record<string, unknown> | undefined;
  try {
    generation = JSON.parse(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8'));
  } catch {
    generation = undefined;
  }
  return parseModelSpec(cfg, file, generation);
}

/** Linear-layer weight shapes per decoder layer, [out, in], by Hugging Face module name. */
export function layerLinears(s: ModelSpec): Record<string, [number, number]> {
  const q = s.numHeads * s.headDim, kv = s.numKvHeads * s.headDim;
  return {
    q_proj: [q, s.hiddenSize],
    k_proj: [kv, s.hiddenSize],
    v_proj: [kv, s.hiddenSize],
    o_proj: [s.hiddenSize, q],
    gate_proj: [s.intermediateSize, s.hiddenSize],
    up_proj: [s.intermediateSize, s.hiddenSize],
    down_proj: [s.hiddenSize, s.intermediateSize],
  };
}

/** Base parameter count of a Llama-family decoder (embeddings, layers, norms, head). */
export function parameterCount(s: ModelSpec): number {
  let perLayer = 2 * s.hiddenSize; // two RMSNorm weights
  for (const [o, i] of Object.values(layerLinears(s))) perLayer += o * i;
  if (s.attentionBias) perLayer += (s.numHeads + 2 * s.numKvHeads) * s.headDim;
  const embed = s.vocabSize * s.hiddenSize;
  return embed + s.numLayers * perLayer + s.hiddenSize + (s.tieWordEmbeddings ? 0 : embed);
}

/** LoRA parameters (A: r×in, B: out×r per targeted linear, per layer). */
export function loraParameterCount(s: ModelSpec, rank: number, targets: readonly string[]): number {
  const lin = layerLinears(s);
  let perLayer = 0;
  for (const t of targets) {
    const shape = lin[t];
    if (shape) perLayer += rank * (shape[0] + shape[1]);
  }
  return s.numLayers * perLayer;
}
