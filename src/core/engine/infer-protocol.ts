// The inference worker's protocol: JSON lines on the worker's stdin (requests) and stdout
// (events). This file is the one definition, used by both ends (src/core/infer/worker-main.ts,
// src/core/engine/infer-client.ts); docs/inference-protocol.md documents it. Every message
// carries `version`; a message of another version, of an unknown type, with a missing,
// mistyped or unknown field is an InferProtocolError, never ignored: a typo in a request must
// not silently become a default, and a mismatched worker must fail loudly.
import type { InferDevice, QuantName } from './infer-addon';
import { fieldsMismatch, kindOf, opt, orNull, req, type Fields } from './json-shape';
import * as l10n from '@vscode/l10n';

export const INFER_PROTOCOL_VERSION = 1;

export const QUANT_NAMES: readonly QuantName[] = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'int8', 'nf4'];
export const INFER_DEVICES: readonly InferDevice[] = ['cpu', 'cuda', 'auto'];
export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

// ---- Requests (stdin) ----

export interface LoadRequest {
  version: number;
  type: 'load';
  id: string;
  /** A Hugging Face model folder (or a merged or quantized one written by Tuner). */
  model: string;
  /** A PEFT adapter folder applied on the fly. */
  adapter?: string;
  /** Weight format of the linears after load; default "f32" (as stored, widened). */
  quant?: QuantName;
  /** KV-cache length in tokens; default min(max_position_embeddings, 4096). */
  context_length?: number;
  /** Engine threads; default 0 = every core. */
  threads?: number;
  /** Where the model runs; default "auto" (the GPU when the engine can generate there, else the CPU). */
  device?: InferDevice;
  /** Chat template: inline Jinja, a .jinja file (relative to the model folder), "default", or null/absent for the model's own. */
  chat_template?: string | null;
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A conversation rendered with the chat template, ending with the generation prompt. */
export interface ChatPrompt {
  type: 'chat';
  messages: ChatMessage[];
}

/** Raw completion: the text as is, after the BOS token when the tokenizer adds one. */
export interface TextPrompt {
  type: 'text';
  text: string;
  /** Put the BOS token first; default: what the tokenizer does (tokenizer_config add_bos_token, or a post-processor that adds it). */
  add_bos?: boolean;
}

export type PromptSpec = ChatPrompt | TextPrompt;

/** Hugging Face generate() semantics; absent fields are off (greedy decoding). */
export interface SamplingRequest {
  /** 0 = greedy. */
  temperature?: number;
  /** 0 = off. */
  top_k?: number;
  /** 1 = off. */
  top_p?: number;
  /** 0 = off. */
  min_p?: number;
  /** 1 = off. */
  repetition_penalty?: number;
  /** 0 = off. */
  no_repeat_ngram_size?: number;
  seed?: number;
}

export interface GenerateRequest {
  version: number;
  type: 'generate';
  id: string;
  prompt: PromptSpec;
  max_new_tokens: number;
  /** Generation ends when the text contains one of these; the stop string is not part of the output. */
  stop?: string[];
  sampling?: SamplingRequest;
}

/** Stops the generation `id` within one token (or one prompt chunk); a no-op once it has ended. */
export interface CancelRequest {
  version: number;
  type: 'cancel';
  id: string;
}

export interface UnloadRequest {
  version: number;
  type: 'unload';
  id: string;
}

/** Cancels everything, frees the model and exits 0. */
export interface ShutdownRequest {
  version: number;
  type: 'shutdown';
}

export type InferRequest = LoadRequest | GenerateRequest | CancelRequest | UnloadRequest | ShutdownRequest;
export type InferRequestType = InferRequest['type'];

// ---- Events (stdout) ----

/** The worker is up. `inference` is false when the addon is missing or has no inference surface (then every load is an error saying why). */
export interface ReadyEvent {
  version: number;
  type: 'ready';
  pid: number;
  /** The native engine's version, null when the addon did not load. */
  engine_version: string | null;
  inference: boolean;
}

export interface LoadedModel {
  dir: string;
  adapter: string | null;
  architecture: string;
  vocab_size: number;
  context_length: number;
  quant: QuantName;
  /** The matmul kernel the linears run (a device session's names its device, e.g. "cuda: q4_0 weights; ..."). */
  kernel: string;
  lora: boolean;
  /** Where it runs ("cpu", "cuda", "host_ops") and why; absent from an engine without devices. */
  device?: string;
  device_reason?: string;
  /** Where the chat template came from: the load request, the model folder, or Tuner's default. */
  chat_template: 'override' | 'model' | 'default';
  /** Token ids that end a generation (generation_config eos_token_id, tokenizer EOS, the template's end of turn in chat mode). */
  stop_token_ids: number[];
}

export interface LoadedEvent {
  version: number;
  type: 'loaded';
  id: string;
  model: LoadedModel;
  load_ms: number;
  weight_bytes: number;
  kv_cache_bytes: number;
  resident_bytes: number;
}

/** Prompt processing progress, sent after each chunk of a prompt longer than one chunk. */
export interface PrefillEvent {
  version: number;
  type: 'prefill';
  id: string;
  /** Prompt tokens in the cache so far (reused ones included). */
  done: number;
  total: number;
}

/** One generated token (a stop token is not sent as one: it shows in `done`). */
export interface TokenEvent {
  version: number;
  type: 'token';
  id: string;
  /** 0 for the first generated token. */
  index: number;
  token: number;
  /** Text that became visible with this token; "" while bytes of a character or a possible stop string are pending. */
  text: string;
}

export type DoneReason = 'eos' | 'stop' | 'length' | 'cancelled';

export interface GenerationTimings {
  /** Tokens of the rendered prompt. */
  prompt_tokens: number;
  /** Leading prompt tokens already in the KV cache from the previous generation, not computed again. */
  cached_tokens: number;
  prompt_ms: number;
  /** (prompt_tokens - cached_tokens) / prompt time; null when nothing was computed. */
  prompt_tokens_per_s: number | null;
  /** From the request's start (tokenization included) to the first sampled token; null when none was sampled. */
  time_to_first_token_ms: number | null;
  /** Tokens sampled, the stop token included. */
  generated_tokens: number;
  /** From the first sampled token to the last. */
  decode_ms: number;
  /** (generated_tokens - 1) / decode time; null with fewer than two tokens. */
  tokens_per_s: number | null;
  total_ms: number;
  /** For a cancelled generation: from reading the cancel to stopping. */
  cancel_ms?: number;
}

export interface DoneEvent {
  version: number;
  type: 'done';
  id: string;
  reason: DoneReason;
  /** The whole output, cut before a stop string. The token texts are a prefix of it (a tail held back as a possible stop string arrives only here). */
  text: string;
  /** The stop string or stop token (as text) that ended it, null otherwise. */
  stop: string | null;
  timings: GenerationTimings;
}

export interface MemoryEvent {
  version: number;
  type: 'memory';
  /** The request after which it was measured, null when unprompted. */
  id: string | null;
  resident_bytes: number;
  peak_resident_bytes: number;
  /** 0 when no model is loaded. */
  weight_bytes: number;
  kv_cache_bytes: number;
}

export interface UnloadedEvent {
  version: number;
  type: 'unloaded';
  id: string;
}

export interface InferErrorEvent {
  version: number;
  type: 'error';
  /** The request that failed, null when the error is not about one (a line that could not be read, the worker ending). */
  id: string | null;
  code: string;
  message: string;
  hint: string;
}

export type InferEvent =
  | ReadyEvent
  | LoadedEvent
  | PrefillEvent
  | TokenEvent
  | DoneEvent
  | MemoryEvent
  | UnloadedEvent
  | InferErrorEvent;
export type InferEventType = InferEvent['type'];

/** Distributes Omit over a union, so each request or event keeps its own fields. */
type OmitVersion<T> = T extends unknown ? Omit<T, 'version'> : never;
export type InferRequestBody = OmitVersion<InferRequest>;
export type InferEventBody = OmitVersion<InferEvent>;

export class InferProtocolError extends Error {
  constructor(
    message: string,
    readonly line: string,
    /** Error code for the reply: "bad_request", "version_mismatch", "unknown_quant". */
    readonly code = 'bad_request',
    /** The request id, when the line got far enough to have one. */
    readonly id: string | null = null,
  ) {
    super(message);
    this.name = 'InferProtocolError';
  }
}

/** One request as the line the worker reads (newline included). */
export function formatInferRequest(body: InferRequestBody): string {
  return JSON.stringify({ version: INFER_PROTOCOL_VERSION, ...body }) + '\n';
}

/** One event as the line the worker writes (newline included). */
export function formatInferEvent(body: InferEventBody): string {
  return JSON.stringify({ version: INFER_PROTOCOL_VERSION, ...body }) + '\n';
}

// ---- Validation: one shape table per message type ----

/** The field table of one message type: the compiler checks that it lists exactly the type's fields. */
type FieldTable<T> = { [K in Exclude<keyof T, 'version' | 'type'>]-?: Fields[string] };
type TableOf<U extends { type: string }> = { [M in U as M['type']]: FieldTable<M> };

const SAMPLING: FieldTable<SamplingRequest> = {
  temperature: opt('number'),
  top_k: opt('count'),
  top_p: opt('number'),
  min_p: opt('number'),
  repetition_penalty: opt('number'),
  no_repeat_ngram_size: opt('count'),
  seed: opt('count'),
};

const CHAT_PROMPT: FieldTable<ChatPrompt> = {
  messages: req({ array: { object: { role: req({ oneOf: CHAT_ROLES }), content: req('string') } } }),
};
const TEXT_PROMPT: FieldTable<TextPrompt> = { text: req('string'), add_bos: opt('boolean') };

const REQUEST_FIELDS: TableOf<InferRequest> = {
  load: {
    id: req('nonempty'),
    model: req('nonempty'),
    adapter: opt('nonempty'),
    quant: opt({ oneOf: QUANT_NAMES, code: 'unknown_quant' }),
    context_length: opt('count'),
    threads: opt('count'),
    device: opt({ oneOf: INFER_DEVICES }),
    chat_template: opt(orNull('string')),
  },
  generate: {
    id: req('nonempty'),
    prompt: req({ tagged: { chat: CHAT_PROMPT, text: TEXT_PROMPT } }),
    max_new_tokens: req('count'),
    stop: opt({ array: 'nonempty' }),
    sampling: opt({ object: SAMPLING }),
  },
  cancel: { id: req('nonempty') },
  unload: { id: req('nonempty') },
  shutdown: {},
};

const TIMINGS: FieldTable<GenerationTimings> = {
  prompt_tokens: req('count'),
  cached_tokens: req('count'),
  prompt_ms: req('number'),
  prompt_tokens_per_s: req(orNull('number')),
  time_to_first_token_ms: req(orNull('number')),
  generated_tokens: req('count'),
  decode_ms: req('number'),
  tokens_per_s: req(orNull('number')),
  total_ms: req('number'),
  cancel_ms: opt('number'),
};

const LOADED_MODEL: FieldTable<LoadedModel> = {
  dir: req('string'),
  adapter: req(orNull('string')),
  architecture: req('string'),
  vocab_size: req('count'),
  context_length: req('count'),
  quant: req({ oneOf: QUANT_NAMES }),
  kernel: req('string'),
  lora: req('boolean'),
  device: opt('string'),
  device_reason: opt('string'),
  chat_template: req({ oneOf: ['override', 'model', 'default'] }),
  stop_token_ids: req({ array: 'count' }),
};

const EVENT_FIELDS: TableOf<InferEvent> = {
  ready: { pid: req('count'), engine_version: req(orNull('string')), inference: req('boolean') },
  loaded: {
    id: req('nonempty'),
    model: req({ object: LOADED_MODEL }),
    load_ms: req('number'),
    weight_bytes: req('count'),
    kv_cache_bytes: req('count'),
    resident_bytes: req('count'),
  },
  prefill: { id: req('nonempty'), done: req('count'), total: req('count') },
  token: { id: req('nonempty'), index: req('count'), token: req('count'), text: req('string') },
  done: {
    id: req('nonempty'),
    reason: req({ oneOf: ['eos', 'stop', 'length', 'cancelled'] }),
    text: req('string'),
    stop: req(orNull('string')),
    timings: req({ object: TIMINGS }),
  },
  memory: {
    id: req(orNull('nonempty')),
    resident_bytes: req('count'),
    peak_resident_bytes: req('count'),
    weight_bytes: req('count'),
    kv_cache_bytes: req('count'),
  },
  unloaded: { id: req('nonempty') },
  error: { id: req(orNull('nonempty')), code: req('nonempty'), message: req('string'), hint: req('string') },
};

function parseLine(line: string, who: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new InferProtocolError(l10n.t('{0} is not JSON ({1}): {2}', who, (e as Error).message, line.slice(0, 200)), line);
  }
  if (kindOf(value) !== 'object') throw new InferProtocolError(l10n.t('{0} is not a JSON object: {1}', who, line.slice(0, 200)), line);
  return value as Record<string, unknown>;
}

function parseMessage<T>(line: string, who: string, table: Record<string, Fields>, mismatchHint: string): T {
  const obj = parseLine(line, who);
  const id = typeof obj.id === 'string' && obj.id !== '' ? obj.id : null;
  if (obj.version !== INFER_PROTOCOL_VERSION) {
    throw new InferProtocolError(l10n.t('{0} has protocol version {1}, this side speaks {2}; {3}', who, String(JSON.stringify(obj.version)), INFER_PROTOCOL_VERSION, mismatchHint), line, 'version_mismatch', id);
  }
  const type = obj.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(table, type)) {
    throw new InferProtocolError(l10n.t('unknown {0} type {1} (known: {2})', who, String(JSON.stringify(type)), Object.keys(table).join(', ')), line, 'bad_request', id);
  }
  const m = fieldsMismatch(obj, table[type], `"${type}" ${who}`, ['version', 'type']);
  if (m) throw new InferProtocolError(m.message, line, m.code ?? 'bad_request', id);
  return obj as T;
}

/** Parses and validates one line the worker reads. Throws InferProtocolError (with the reply's code and the request id when known). */
export function parseInferRequest(line: string): InferRequest {
  return parseMessage<InferRequest>(line, 'request', REQUEST_FIELDS, l10n.t('send requests of this version'));
}

/** Parses and validates one line the worker writes. Throws InferProtocolError on anything unexpected. */
export function parseInferEvent(line: string): InferEvent {
  return parseMessage<InferEvent>(line, 'event', EVENT_FIELDS, l10n.t('the inference worker and the extension come from different builds; rebuild with `npm run build`'));
}
