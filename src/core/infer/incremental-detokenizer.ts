// Text deltas from a stream of token ids. Decoding token by token is wrong twice over: a
// character may be split across tokens (byte-level BPE pieces of an emoji, sentencepiece
// <0xE2> byte-fallback tokens), and sentencepiece decoders treat a word's leading "▁" by its
// position (a Strip decoder drops it at the start of the text). So each step decodes a short
// window of recent ids and emits only what the window gained over its shorter self, and only
// once the result no longer ends in U+FFFD (an incomplete UTF-8 sequence). The window starts a
// few prompt tokens back, so the first generated word keeps its leading space as it would in
// the whole text. This is the prefix/read-offset scheme of Hugging Face's TextStreamer and vLLM.

/** Decodes ids to text without clean-up of spaces (a rewrite of shown text could not be undone). */
export type DecodeIds = (ids: readonly number[]) => string;

/** Prompt tokens decoded along with the output, for the first token's leading space. */
const CONTEXT_TOKENS = 4;
/**
 * A character is at most 4 bytes, so more ids than this still ending in an incomplete
 * sequence means invalid bytes (a model can sample any byte token): the window then moves on
 * and the bytes show as U+FFFD, keeping each decode short.
 */
const MAX_PENDING_TOKENS = 16;
const REPLACEMENT = '\uFFFD';

export class IncrementalDetokenizer {
  private readonly ids: number[];
  /** Start of the decode window. */
  private prefixOffset: number;
  /** Ids in [prefixOffset, readOffset) are settled text, `base` is their decode. */
  private readOffset: number;
  private base: string;
  /** Characters already emitted past `base`. */
  private shown = 0;
  private readonly outputStart: number;

  constructor(
    private readonly decode: DecodeIds,
    promptIds: readonly number[] = [],
  ) {
    const context = promptIds.slice(Math.max(0, promptIds.length - CONTEXT_TOKENS));
    this.ids = [...context];
    this.prefixOffset = 0;
    this.readOffset = context.length;
    this.base = decode(context);
    this.outputStart = context.length;
  }

  /** Output ids pushed so far. */
  get tokens(): readonly number[] {
    return this.ids.slice(this.outputStart);
  }

  /** Adds one id; returns the text it completes ("" while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    return this.advance(false);
  }

  /** At the end: whatever is left undecided (an incomplete character at the very end shows as U+FFFD, as a full decode would). */
  flush(): string {
    return this.advance(true);
  }

  private advance(final: boolean): string {
    if (this.readOffset === this.ids.length) return '';
    const text = this.decode(this.ids.slice(this.prefixOffset));
    // Characters before an incomplete sequence at the end are final (UTF-8 resynchronises), so
    // they are shown now; the incomplete end waits for the next ids.
    let end = text.length;
    const settled = final || this.ids.length - this.readOffset > MAX_PENDING_TOKENS;
    if (!settled) while (end > 0 && text[end - 1] === REPLACEMENT) end--;
    // A decoder that rewrote the settled text (it cannot once offsets start at a token
    // boundary, but a custom decoder might) must not make us repeat or drop text: emit only
    // past what was shown.
    if (!settled && !text.startsWith(this.base)) return '';
    const from = this.base.length + this.shown;
    const delta = end > from ? text.slice(from, end) : '';
    this.shown += delta.length;
    if (end === text.length) {
      // A clean boundary: the window restarts at the ids just settled.
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      this.base = this.decode(this.ids.slice(this.prefixOffset, this.readOffset));
      this.shown = 0;
    }
    return delta;
  }
}
