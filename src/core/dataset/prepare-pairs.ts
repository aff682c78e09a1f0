// Preference pairs for DPO: one record (prompt, chosen, rejected; the prompt a string or turns)
// becomes two token sequences rendered with the model's chat template, prompt + chosen answer
// and prompt + rejected answer, whose loss masks cover the final answer only (with the
// template's end-of-turn token), so the trainer's sequence log-probs are those of the responses.
// The shards hold them as documents 2i and 2i+1 (layout "preference-pairs").
import type { ChatRenderer, Segment } from './chat-template';
import { replacePlaceholders, DEFAULT_IDENTITY_PLACEHOLDERS, type ConversationOptions } from './conversation';
import { toConversation, type Conversation } from './formats';
import { tokenizeSegments, trainedCount, type TokenizedExample } from './tokenize';
import * as l10n from '@vscode/l10n';

export interface TokenizedPair {
  chosen: TokenizedExample;
  rejected: TokenizedExample;
  eosAppended: boolean;
}

/** A record that cannot be a pair: the message names the field and the fix (the caller adds file and line). */
export class PairRecordError extends Error {}

function turnsProblem(v: unknown, field: string): string | undefined {
  if (typeof v === 'string') return undefined;
  if (!Array.isArray(v)) return l10n.t('field "{0}" must be a string or a list of {1} turns, got {2}', field, '{"role", "content"}', v === null ? 'null' : typeof v);
  for (const [i, t] of v.entries()) {
    const turn = t as Record<string, unknown> | null;
    if (turn === null || typeof turn !== 'object' || typeof turn.content !== 'string' || typeof turn.role !== 'string') {
      return l10n.t('field "{0}"[{1}] must be a {2} turn with string values', field, i, '{"role", "content"}');
    }
  }
  return undefined;
}

/** The preference record of a JSONL line as a conversation whose last turn is the chosen answer and `rejected` the other. */
export function pairConversation(line: string, opts: ConversationOptions = {}): Conversation & { rejected: string } {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (e) {
    throw new PairRecordError(l10n.t('not valid JSON ({0}); run "Tuner: Lint Dataset Now" to see and fix it', (e as Error).message));
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) throw new PairRecordError(l10n.t('not a JSON object'));
  const r = record as Record<string, unknown>;
  for (const field of ['prompt', 'chosen', 'rejected']) {
    if (r[field] === undefined) {
      throw new PairRecordError(l10n.t('field "{0}" is missing: stage "dpo" trains on preference pairs, records with "prompt", "chosen" and "rejected" (add "{1}", or set "stage" to "sft" in ARGS.json to tune on answers alone)', field, field));
    }
    const problem = turnsProblem(r[field], field);
    if (problem) throw new PairRecordError(problem);
  }
  const conv = toConversation(record, 'preference');
  if (!conv || conv.rejected === undefined) {
    throw new PairRecordError(l10n.t('field "rejected" must be one assistant answer (a string, or a single turn with role "assistant"), and "chosen" must end with one'));
  }
  const last = conv.turns[conv.turns.length - 1];
  if (last.role !== 'assistant') throw new PairRecordError(l10n.t('field "chosen" must end with an assistant turn'));
  if (last.content === '' || conv.rejected === '') throw new PairRecordError(l10n.t('field "{0}" is empty: a pair compares two answers', last.content === '' ? 'chosen' : 'rejected'));
  if (opts.modelName) {
    const placeholders = opts.placeholders ?? DEFAULT_IDENTITY_PLACEHOLDERS;
    for (const t of conv.turns) t.content = replacePlaceholders(t.content, opts.modelName, placeholders);
    conv.rejected = replacePlaceholders(conv.rejected, opts.modelName, placeholders);
  }
  return conv as Conversation & { rejected: string };
}

/**
 * Only the last answer stays trained (its text and end-of-turn token): earlier assistant turns of
 * a conversation prompt are context, which DPO does not score.
 */
export function keepLastAnswer(segments: readonly Segment[]): Segment[] {
  let end = segments.length - 1;
  while (end >= 0 && !segments[end].trained) end--;
  let begin = end;
  while (begin > 0 && segments[begin - 1].trained) begin--;
  return segments.map((s, i) => ({ text: s.text, trained: s.trained && i >= begin && i <= end }));
}

/** Both sequences of a pair, tokenized. */
export function tokenizePair(conv: Conversation & { rejected: string }, renderer: ChatRenderer, tokenizer: { encode(text: string): number[] }): TokenizedPair {
  const rejectedConv: Conversation = { turns: [...conv.turns.slice(0, -1), { role: 'assistant', content: conv.rejected }] };
  const a = renderer.render({ turns: conv.turns }, false);
  const b = renderer.render(rejectedConv, false);
  return {
    chosen: tokenizeSegments(keepLastAnswer(a.segments), tokenizer),
    rejected: tokenizeSegments(keepLastAnswer(b.segments), tokenizer),
    eosAppended: a.eosAppended || b.eosAppended,
  };
}

/**
 * max_length for a pair: "drop" leaves the pair out when either sequence is longer; "truncate"
 * cuts each, and drops the pair when a cut leaves one answer without a token. Returns the pair
 * (cut) and what happened, or the reason it is dropped.
 */
export function fitPair(pair: TokenizedPair, maxLength: number, truncation: 'truncate' | 'drop'): { pair?: TokenizedPair; truncated?: string; dropped?: string } {
  const n = Math.max(pair.chosen.ids.length, pair.rejected.ids.length);
  if (n <= maxLength) return { pair };
  if (truncation === 'drop') return { dropped: l10n.t('pair of {0} + {1} tokens, over max_length {2} (truncation "drop")', pair.chosen.ids.length, pair.rejected.ids.length, maxLength) };
  const cut = (ex: TokenizedExample): TokenizedExample => ({ ids: ex.ids.slice(0, maxLength), mask: ex.mask.slice(0, maxLength) });
  const chosen = cut(pair.chosen), rejected = cut(pair.rejected);
  if (trainedCount(chosen.mask) === 0 || trainedCount(rejected.mask) === 0) {
    return { dropped: l10n.t('{0} tokens; cut to max_length {1} the {2} answer has no token left', n, maxLength, trainedCount(chosen.mask) === 0 ? 'chosen' : 'rejected') };
  }
  return { pair: { chosen, rejected, eosAppended: pair.eosAppended }, truncated: l10n.t('{0} tokens, cut to {1}', n, maxLength) };
}
