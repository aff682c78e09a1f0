// Turns rendered segments into token ids and the loss mask the shards carry. Each segment is
// tokenized on its own: segment borders fall on template text around special tokens, where the
// tokenizers' pre-tokenizers split anyway, so the ids equal those of the whole string (the unit
// tests check this for every tokenizer family) while the mask stays exact.
import type { ModelTokenizer } from '../model/tokenizer';
import type { Segment } from './chat-template';

export interface TokenizedExample {
  ids: number[];
  /** mask[j] = 1 when token j is a training target; the first token is never one. */
  mask: number[];
}

export function tokenizeSegments(segments: readonly Segment[], tok: Pick<ModelTokenizer, 'encode'>): TokenizedExample {
  const ids: number[] = [];
  const mask: number[] = [];
  for (const s of segments) {
    const part = tok.encode(s.text);
    for (const id of part) {
      ids.push(id);
      mask.push(s.trained ? 1 : 0);
    }
  }
  if (mask.length > 0) mask[0] = 0;
  return { ids, mask };
}

export function trainedCount(mask: readonly number[]): number {
  let n = 0;
  for (const m of mask) n += m;
  return n;
}
