// The native addon's inference surface (native/addon/infer.cpp), as the inference worker
// process calls it. It is never loaded in the extension host: a native fault or an out-of-memory
// ends the worker only. Token ids in, token ids out: tokenization and chat templates are
// TypeScript (src/core/model/tokenizer.ts), the native side never sees text.

/** Weight formats the engine runs (native/include/tuner/quant.h, docs/quantization.md). */
export type QuantName = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'int8' | 'nf4';

export interface InferLoadOptions {
  /** A Hugging Face model folder, a merged folder, or a quantized folder written by Tuner. */
  model: string;
  /** A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) applied on the fly. */
  adapter?: string;
  /** Quantize linears at load time ('f32' keeps them as they are; a quantized folder ignores it). */
  quant: QuantName;
  /** KV-cache length in tokens, allocated once at load (<= max_position_embeddings unless RoPE scaling allows more). */
  contextLength: number;
  /** Worker threads (<= 0: all cores). */
  threads: number;
  /** Where the model runs: 'cpu' (the engine's default), 'cuda' (refused without a usable GPU) or 'auto' (the GPU when it can, else the CPU). */
  device?: InferDevice;
}

/** Where a session runs (docs/inference.md "Where it runs"). */
export type InferDevice = 'cpu' | 'cuda' | 'auto';

export interface InferModelInfo {
  architecture: string;
  vocabSize: number;
  contextLength: number;
  /** The format the linears run in after load. */
  quant: QuantName;
  /** Bytes of weights held (quantized linears, f32 embeddings/norms, LoRA). */
  weightBytes: number;
  /** Bytes of the KV cache (allocated at load). */
  kvCacheBytes: number;
  loadMs: number;
  /** The matmul kernel the linears run, e.g. "q4_0 avx2 (int8 dot)". */
  kernel: string;
  /** True when a LoRA adapter is applied on the fly. */
  lora: boolean;
  /** Where it runs: "cpu", "cuda" or "host_ops" (the CPU stand-in of the GPU path, a test hook); absent from an addon without devices. */
  device?: string;
  /** The GPU's name ("" on the CPU). */
  deviceName?: string;
  /** Why this device, e.g. "no CUDA device (built without CUDA)". */
  deviceReason?: string;
}

/** Sampling settings (Hugging Face generate() semantics; 0 / 1 turn a filter off). */
export interface SamplerSettings {
  /** 0 = greedy (argmax), otherwise logits / temperature. */
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  /** > 1 penalises every token already in the sequence (prompt included), as transformers does. */
  repetitionPenalty: number;
  /** Bans any token that would repeat an n-gram already in the sequence (0 = off). */
  noRepeatNgramSize: number;
  seed: number;
}

/** One loaded model with its KV cache. Every call is synchronous and bounded (one chunk, one token). */
export interface InferSession {
  info(): InferModelInfo;
  /** Tokens held in the KV cache. */
  position(): number;
  /** Drops cached tokens after `position` (0 = empty cache), e.g. before a new prompt. */
  truncate(position: number): void;
  /**
   * Appends `ids` to the cache and computes the logits of the last one. Callers split a long
   * prompt into chunks so that a cancel is seen between chunks. Throws when the cache is full.
   */
  append(ids: Uint32Array): void;
  /** Restarts the sampler's random stream (same seed + settings + cache = same tokens). */
  setSampler(settings: SamplerSettings): void;
  /** Draws the next token from the last logits; `banned` ids get -inf (e.g. EOS before min length). */
  sample(banned?: Uint32Array): number;
  /** A copy of the last logits [vocabSize] (tests, top-k display). */
  logits(): Float32Array;
  /** Resident bytes of the process (VmRSS), for the memory report. */
  residentBytes(): number;
  /** Frees weights and cache; the session is unusable afterwards. */
  free(): void;
}

/** Errors thrown by the addon carry the engine's code and a hint for the user. */
export interface InferError extends Error {
  code: string;
  hint: string;
}

export interface InferAddon {
  inferLoad(options: InferLoadOptions): InferSession;
}
