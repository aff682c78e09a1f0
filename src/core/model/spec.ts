// A model's shape, read from its Hugging Face config.json: everything the estimator needs
// (parameter count, layer sizes) and everything preparation checks (vocabulary size).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';

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
  /** How the architecture differs from Llama's decoder (native/src/models/config.cpp's traits). */
  traits: ArchTraits;
}

export interface ArchTraits {
  /** LayerNorm (GPT-2, Bloom) carries a bias beside each weight; RMSNorm does not. */
  layerNorm: boolean;
  /** GPT-2 c_attn, Bloom query_key_value: one projection for q, k and v. */
  fusedQkv: boolean;
  /** GELU MLP without a gate (GPT-2 c_fc / c_proj, Bloom dense_h_to_4h / dense_4h_to_h). */
  ungatedMlp: boolean;
  /** Every linear has a bias (GPT-2, Bloom). */
  linearBias: boolean;
  /** GPT-2's learned positions (wpe [maxPositions, C]). */
  learnedPositions: boolean;
  /** Bloom's LayerNorm after the embedding. */
  embedNorm: boolean;
  /** Qwen3 / Gemma 3: per-head q_norm and k_norm [headDim]. */
  qkNorm: boolean;
  /** Gemma 3: norms after attention and after the MLP too. */
  sandwichNorms: boolean;
  /** Gemma 3 final_logit_softcapping set: the engine keeps the capped logits' tanh [N, V]. */
  finalSoftcap: boolean;
}

/** The training engine's supported architectures (native/src/models/config.cpp). */
export const TRAINABLE_ARCHITECTURES = [
  'LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'Gemma3ForCausalLM', 'GPT2LMHeadModel', 'BloomForCausalLM',
] as const;

function traitsOf(architecture: string, text: Record<string, unknown>): ArchTraits {
  const gpt2 = architecture === 'GPT2LMHeadModel', bloom = architecture === 'BloomForCausalLM';
  const gemma3 = architecture === 'Gemma3ForCausalLM' || architecture === 'Gemma3ForConditionalGeneration';
  const old = gpt2 || bloom;
  return {
    layerNorm: old, fusedQkv: old, ungatedMlp: old, linearBias: old, learnedPositions: gpt2, embedNorm: bloom,
    qkNorm: gemma3 || architecture === 'Qwen3ForCausalLM', sandwichNorms: gemma3,
    finalSoftcap: gemma3 && typeof text.final_logit_softcapping === 'number' && text.final_logit_softcapping > 0,
  };
}

/** Gemma 3's windowed layers: layer_types, else all but every sliding_window_pattern-th (default 6). */
function gemma3Windows(text: Record<string, unknown>, numLayers: number): { slidingWindow: number; slidingLayers: number } {
  const w = typeof text.sliding_window === 'number' ? text.sliding_window : 4096;
  if (Array.isArray(text.layer_types)) return { slidingWindow: w, slidingLayers: text.layer_types.filter((t) => t === 'sliding_attention').length };
  const pattern = typeof text.sliding_window_pattern === 'number' ? text.sliding_window_pattern : 6;
  let n = 0;
  for (let l = 0; l < numLayers; l++) if ((l + 1) % pattern !== 0) n++;
  return { slidingWindow: w, slidingLayers: n };
}

export class ModelConfigError extends Error {}

function num(cfg: Record<string, unknown>, file: string, ...keys: string[]): number {
  for (const k of keys) if (typeof cfg[k] === 'number') return cfg[k] as number;
  throw new ModelConfigError(l10n.t('{0}: field "{1}" is missing or not a number; is this a complete Hugging Face config.json?', file, keys[0]));
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
  if (architecture.startsWith('Gemma3For')) return gemma3Windows(text, numLayers);
  const qwen = architecture === 'Qwen2ForCausalLM' || architecture === 'Qwen3ForCausalLM';
  if (!mistral && !(qwen && text.use_sliding_window === true)) return none;
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
  if (!architecture) throw new ModelConfigError(l10n.t('{0}: field "architectures" is missing; it names the model class, e.g. ["LlamaForCausalLM"].', file));
  // Multimodal configs (Gemma 3, Llama 4) nest the language model's shape in text_config.
  const text = (typeof cfg.text_config === 'object' && cfg.text_config !== null ? { ...cfg, ...(cfg.text_config as Record<string, unknown>) } : cfg);
  const hiddenSize = num(text, file, 'hidden_size', 'n_embd', 'n_embed', 'd_model');
  const numHeads = num(text, file, 'num_attention_heads', 'n_head');
  const traits = traitsOf(architecture, text);
  const gemma3 = architecture.startsWith('Gemma3For');
  // GPT-2 and Bloom have one kv head per query head; Gemma 3's head_dim defaults to 256.
  const numKvHeads = typeof text.num_key_value_heads === 'number' && !traits.fusedQkv ? text.num_key_value_heads : numHeads;
  const headDim = typeof text.head_dim === 'number' ? text.head_dim : gemma3 ? 256 : hiddenSize / numHeads;
  const eos = [...ids(generation?.eos_token_id), ...ids(text.eos_token_id)];
  const numLayers = num(text, file, 'num_hidden_layers', 'n_layer');
  return {
    architecture,
    modelType: typeof text.model_type === 'string' ? text.model_type : '',
    vocabSize: num(text, file, 'vocab_size'),
    hiddenSize,
    intermediateSize: typeof text.intermediate_size === 'number' && !traits.fusedQkv ? text.intermediate_size : typeof text.n_inner === 'number' ? text.n_inner : 4 * hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    maxPositions: typeof text.max_position_embeddings === 'number' ? text.max_position_embeddings : typeof text.n_positions === 'number' ? text.n_positions : 0,
    // transformers' defaults: tied for GPT-2, Bloom and Gemma 3 unless config.json says otherwise.
    tieWordEmbeddings: text.tie_word_embeddings === true || (text.tie_word_embeddings === undefined && (traits.fusedQkv || gemma3)),
    attentionBias: text.attention_bias === true || text.model_type === 'qwen2' || traits.linearBias,
    torchDtype: typeof text.torch_dtype === 'string' ? text.torch_dtype : typeof text.dtype === 'string' ? text.dtype : 'float32',
    eosTokenIds: [...new Set(eos)],
    ...slidingWindowOf(text, architecture, numLayers),
    traits,
  };
}

export function readModelSpec(dir: string): ModelSpec {
  const file = path.join(dir, 'config.json');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ModelConfigError(l10n.t('{0}: {1}. A model folder needs a Hugging Face config.json.', file, (e as Error).message));
  }
  let generation: Record<string, unknown> | undefined;
  try {
    generation = JSON.parse(fs.readFileSync(path.join(dir, 'generation_config.json'), 'utf8'));
  } catch {
    generation = undefined;
  }
  return parseModelSpec(cfg, file, generation);
}

/** One linear of a decoder layer: its PEFT module name (what lora target_modules match; GPT-2's
 * attention and MLP both have a c_proj) and its weight's [out, in]. */
export interface LayerModule {
  path: string;
  module: string;
  out: number;
  in: number;
}

/** The linears of one decoder layer, in the engine's order (native/src/models/arch_params.cpp). */
export function layerModules(s: ModelSpec): LayerModule[] {
  const C = s.hiddenSize, F = s.intermediateSize;
  const q = s.numHeads * s.headDim, kv = s.numKvHeads * s.headDim;
  const m = (path: string, out: number, inp: number): LayerModule => ({ path, module: path.split('.').pop()!, out, in: inp });
  if (s.architecture === 'GPT2LMHeadModel')
    return [m('attn.c_attn', q + 2 * kv, C), m('attn.c_proj', C, q), m('mlp.c_fc', F, C), m('mlp.c_proj', C, F)];
  if (s.architecture === 'BloomForCausalLM')
    return [m('self_attention.query_key_value', q + 2 * kv, C), m('self_attention.dense', C, q), m('mlp.dense_h_to_4h', F, C), m('mlp.dense_4h_to_h', C, F)];
  return [m('self_attn.q_proj', q, C), m('self_attn.k_proj', kv, C), m('self_attn.v_proj', kv, C), m('self_attn.o_proj', C, q),
    m('mlp.gate_proj', F, C), m('mlp.up_proj', F, C), m('mlp.down_proj', C, F)];
}

/** Linear-layer weight shapes per decoder layer, [out, in], by module path (unique per layer). */
export function layerLinears(s: ModelSpec): Record<string, [number, number]> {
  return Object.fromEntries(layerModules(s).map((l) => [l.path.split('.').pop() === 'c_proj' ? l.path : l.module, [l.out, l.in]]));
}

/** The module names LoRA can target in this architecture (PEFT's names), in layer order. */
export function loraModuleNames(s: ModelSpec): string[] {
  return [...new Set(layerModules(s).map((l) => l.module))];
}

/** Base parameter count (embeddings, layers, norms, head), as the engine lays out the model. */
export function parameterCount(s: ModelSpec): number {
  const t = s.traits;
  const C = s.hiddenSize;
  const normSize = t.layerNorm ? 2 * C : C;
  let perLayer = (t.sandwichNorms ? 4 : 2) * normSize;
  for (const l of layerModules(s)) perLayer += l.out * l.in + (t.linearBias ? l.out : 0);
  if (s.attentionBias && !t.linearBias) perLayer += (s.numHeads + 2 * s.numKvHeads) * s.headDim;
  if (t.qkNorm) perLayer += 2 * s.headDim;
  const embed = s.vocabSize * C;
  const extra = (t.learnedPositions ? s.maxPositions * C : 0) + (t.embedNorm ? 2 * C : 0);
  return embed + extra + s.numLayers * perLayer + normSize + (s.tieWordEmbeddings ? 0 : embed);
}

/** The Llama-family names' counterparts in GPT-2 and Bloom, whose q, k and v are one projection. */
const LLAMA_NAME_IN: Record<string, Record<string, string>> = {
  GPT2LMHeadModel: { q_proj: 'c_attn', k_proj: 'c_attn', v_proj: 'c_attn', o_proj: 'c_proj', gate_proj: 'c_fc', up_proj: 'c_fc', down_proj: 'c_proj' },
  BloomForCausalLM: {
    q_proj: 'query_key_value', k_proj: 'query_key_value', v_proj: 'query_key_value', o_proj: 'dense',
    gate_proj: 'dense_h_to_4h', up_proj: 'dense_h_to_4h', down_proj: 'dense_4h_to_h',
  },
};

/**
 * LoRA targets as this architecture names them: names it has stay, Llama-family names (the
 * planner's attention / every-linear sets) become GPT-2's or Bloom's modules that do the same
 * work (GPT-2's c_proj is the attention output and the MLP's down projection alike, as PEFT
 * matches it); names with no counterpart are dropped. Order and duplicates follow the model's layer.
 */
export function loraTargetsFor(s: ModelSpec, targets: readonly string[]): string[] {
  const own = loraModuleNames(s);
  const map = LLAMA_NAME_IN[s.architecture] ?? {};
  const wanted = new Set(targets.map((t) => (own.includes(t) ? t : map[t])).filter((t): t is string => t !== undefined));
  return own.filter((m) => wanted.has(m));
}

/** LoRA parameters (A: r×in, B: out×r per targeted linear, per layer). */
export function loraParameterCount(s: ModelSpec, rank: number, targets: readonly string[]): number {
  const names = loraTargetsFor(s, targets);
  let perLayer = 0;
  for (const l of layerModules(s)) if (names.includes(l.module)) perLayer += rank * (l.out + l.in);
  return s.numLayers * perLayer;
}
