// The token ids held in the native session's KV cache, mirrored in TypeScript so that a new
// prompt which extends the previous one (the next turn of a chat: the same rendered history
// plus one answer and one question) computes only its new tokens.
import type { InferSession } from '../engine/infer-addon';

export class KvCache {
  private held: number[] = [];

  constructor(private readonly session: Pick<InferSession, 'append' | 'truncate' | 'position'>) {}

  get ids(): readonly number[] {
    return this.held;
  }

  get length(): number {
    return this.held.length;
  }

  /**
   * Keeps the longest cached prefix of `prompt`, leaving at least its last token to compute
   * (the next token's logits come from it), and drops the rest. Returns how many prompt tokens
   * are reused.
   */
  reuse(prompt: readonly number[]): number {
    if (this.session.position() !== this.held.length) this.clear(); // out of step: trust nothing
    let n = 0;
    const max = Math.min(this.held.length, prompt.length - 1);
    while (n < max && this.held[n] === prompt[n]) n++;
    if (n < this.held.length) {
      this.session.truncate(n);
      this.held.length = n;
    }
    return n;
  }

  /** Computes `ids` into the cache (one bounded native call). */
  append(ids: readonly number[]): void {
    this.session.append(Uint32Array.from(ids));
    for (const id of ids) this.held.push(id);
  }

  /** Empties the cache, e.g. after a failed call left it in an unknown state. */
  clear(): void {
    this.held = [];
    try {
      this.session.truncate(0);
    } catch {
      // A session that cannot even truncate is reported by the next call that needs it.
    }
  }
}

