// One generation: prompt ids into the KV cache in chunks, then one token per native call until
// a stop token, a stop string, max_new_tokens, a full context or a cancel. Every native call is
// bounded (one chunk, one token) and the loop yields to the event loop after each, so a cancel
// line read from stdin takes effect within one chunk or one token.
import type { InferSession, SamplerSettings } from '../engine/infer-addon';
import type { DoneReason, GenerateRequest, GenerationTimings, InferEventBody, SamplingRequest } from '../engine/infer-protocol';
import type { BuiltPrompt } from './chat-prompt';
import { InferFailure } from './errors';
import { IncrementalDetokenizer, type DecodeIds } from './incremental-detokenizer';
import type { KvCache } from './kv-cache';
import { StopStringMatcher } from './stop-strings';
import * as l10n from '@vscode/l10n';

/**
 * Prompt tokens per native call. Larger chunks run the blocked GEMMs faster (512 tokens at once
 * reach about twice the tokens/s of 64 on a CPU), smaller ones let a cancel in sooner, so each
 * chunk is sized from the last one's time to take about PREFILL_TARGET_MS, between 64 and 512
 * tokens: a slow machine keeps 64-token steps, a fast one (or a GPU) takes 512 at a time.
 */
export const PREFILL_CHUNK = 64;
export const PREFILL_CHUNK_MAX = 512;
export const PREFILL_TARGET_MS = 50;

/** The next chunk size after `tokens` took `ms`: the largest power-of-two multiple of PREFILL_CHUNK that fits the target time. */
export function nextPrefillChunk(tokens: number, ms: number): number {
  const perToken = ms / Math.max(1, tokens);
  let n = PREFILL_CHUNK;
  while (n * 2 <= PREFILL_CHUNK_MAX && perToken * n * 2 <= PREFILL_TARGET_MS) n *= 2;
  return n;
}

export interface GenerationModel {
  session: Pick<InferSession, 'setSampler' | 'sample'>;
  cache: KvCache;
  contextLength: number;
  /** Decodes without clean-up of spaces. */
  decode: DecodeIds;
  /** Text of a stop token, for `done.stop`. */
  tokenText(id: number): string;
}

export interface GenerationHooks {
  emit(event: InferEventBody): void;
  /** When the cancel for this request was read (performance.now()), undefined while it runs on. */
  cancelledAt(): number | undefined;
  /** Lets queued stdin lines (a cancel) be read. */
  pause(): Promise<void>;
  now(): number;
}

function range(name: string, v: number, ok: boolean, want: string): void {
  if (!ok) throw new InferFailure('bad_request', l10n.t('sampling.{0} is {1}; it must be {2}', name, v, want), l10n.t('Set sampling.{0} to {1}, or leave it out.', name, want));
}

/** The request's sampling with Hugging Face's neutral defaults (greedy), range-checked. */
export function samplerSettings(s: SamplingRequest = {}): SamplerSettings {
  const out: SamplerSettings = {
    temperature: s.temperature ?? 0,
    topK: s.top_k ?? 0,
    topP: s.top_p ?? 1,
    minP: s.min_p ?? 0,
    repetitionPenalty: s.repetition_penalty ?? 1,
    noRepeatNgramSize: s.no_repeat_ngram_size ?? 0,
    seed: s.seed ?? 0,
  };
  range('temperature', out.temperature, out.temperature >= 0, l10n.t('0 (greedy) or more'));
  range('top_p', out.topP, out.topP > 0 && out.topP <= 1, 'in (0, 1]');
  range('min_p', out.minP, out.minP >= 0 && out.minP <= 1, 'in [0, 1]');
  range('repetition_penalty', out.repetitionPenalty, out.repetitionPenalty > 0, l10n.t('greater than 0 (1 = off)'));
  return out;
}

/** The prompt must leave room for at least one generated token. */
export function checkPromptFits(promptTokens: number, contextLength: number): void {
  if (promptTokens < contextLength) return;
  throw new InferFailure(
    'prompt_too_long',
    l10n.t('the prompt is {0} tokens, but the model was loaded with a context of {1} tokens (the prompt and the answer must fit in it)', promptTokens, contextLength),
    l10n.t('Shorten the prompt or drop early turns of the conversation, or load the model again with a larger context_length.'),
  );
}

interface Clock {
  start: number;
  firstToken?: number;
  lastToken?: number;
  promptStart: number;
  promptEnd?: number;
}

function timings(clock: Clock, end: number, promptTokens: number, cached: number, generated: number, cancelledAt: number | undefined): GenerationTimings {
  const promptMs = (clock.promptEnd ?? end) - clock.promptStart;
  const computed = promptTokens - cached;
  const decodeMs = clock.firstToken !== undefined && clock.lastToken !== undefined ? clock.lastToken - clock.firstToken : 0;
  const t: GenerationTimings = {
    prompt_tokens: promptTokens,
    cached_tokens: cached,
    prompt_ms: promptMs,
    prompt_tokens_per_s: computed > 0 && promptMs > 0 && clock.promptEnd !== undefined ? (computed * 1000) / promptMs : null,
    time_to_first_token_ms: clock.firstToken !== undefined ? clock.firstToken - clock.start : null,
    generated_tokens: generated,
    decode_ms: decodeMs,
    tokens_per_s: generated > 1 && decodeMs > 0 ? ((generated - 1) * 1000) / decodeMs : null,
    total_ms: end - clock.start,
  };
  if (cancelledAt !== undefined) t.cancel_ms = Math.max(0, end - cancelledAt);
  return t;
}

/**
 * Runs one generate request to its `done` event. Native errors are thrown to the caller (the
 * KV cache is then in an unknown state and must be cleared); `startedAt` is when the request
 * was taken up, before its prompt was rendered.
 */
export async function generate(model: GenerationModel, req: GenerateRequest, prompt: BuiltPrompt, hooks: GenerationHooks, startedAt: number): Promise<void> {
  const settings = samplerSettings(req.sampling);
  const ids = prompt.ids;
  checkPromptFits(ids.length, model.contextLength);
  const stops = new StopStringMatcher(req.stop ?? []);
  const detok = new IncrementalDetokenizer(model.decode, ids);
  const clock: Clock = { start: startedAt, promptStart: hooks.now() };
  const cached = model.cache.reuse(ids);
  let text = '';
  let generated = 0;
  let stopText: string | null = null;

  const finish = (reason: DoneReason): void => {
    if (reason !== 'stop') text += stops.push(detok.flush()).text + stops.flush();
    const end = hooks.now();
    const t = timings(clock, end, ids.length, cached, generated, reason === 'cancelled' ? hooks.cancelledAt() : undefined);
    hooks.emit({ type: 'done', id: req.id, reason, text, stop: stopText, timings: t });
  };

  // Prefill, chunk by chunk.
  for (let at = cached, chunk = PREFILL_CHUNK; at < ids.length; ) {
    if (hooks.cancelledAt() !== undefined) return finish('cancelled');
    const part = ids.slice(at, at + chunk);
    const t = hooks.now();
    model.cache.append(part);
    at += part.length;
    chunk = nextPrefillChunk(part.length, hooks.now() - t);
    if (ids.length - cached > PREFILL_CHUNK) hooks.emit({ type: 'prefill', id: req.id, done: model.cache.length, total: ids.length });
    await hooks.pause();
  }
  clock.promptEnd = hooks.now();
  if (req.max_new_tokens === 0) return finish('length'); // prefill only: warms the cache for the next request
  model.session.setSampler(settings);

  // Decode, token by token.
  for (;;) {
    if (hooks.cancelledAt() !== undefined) return finish('cancelled');
    const token = model.session.sample();
    generated++;
    clock.lastToken = hooks.now();
    clock.firstToken ??= clock.lastToken;
    if (prompt.stopTokenIds.has(token)) {
      stopText = model.tokenText(token);
      return finish('eos');
    }
    const scan = stops.push(detok.push(token));
    text += scan.text;
    hooks.emit({ type: 'token', id: req.id, index: generated - 1, token, text: scan.text });
    if (scan.stop !== null) {
      stopText = scan.stop;
      return finish('stop');
    }
    if (generated >= req.max_new_tokens || model.cache.length >= model.contextLength) return finish('length');
    model.cache.append([token]);
    await hooks.pause();
  }
}
