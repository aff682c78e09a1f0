// Stop strings over streamed text. Text arrives in pieces (one per token) and a stop string may
// span several of them, so the end of the text that could still become a stop string is held
// back: it is released once it cannot match any more, and never released when a stop string
// completes (the stop string and everything after it are cut from the output).

import * as l10n from '@vscode/l10n';
export interface StopScan {
  /** Text that can be shown now. */
  text: string;
  /** The stop string that completed, if one did; generation ends here. */
  stop: string | null;
}

export class StopStringMatcher {
  private readonly stops: string[];
  private held = '';
  private stopped: string | null = null;

  constructor(stops: readonly string[]) {
    for (const s of stops) if (s === '') throw new RangeError(l10n.t('a stop string must not be empty'));
    this.stops = [...new Set(stops)];
  }

  /** The text held back as a possible start of a stop string. */
  get pending(): string {
    return this.held;
  }

  /** Adds the next piece of text; returns what may be shown and whether a stop string completed. */
  push(piece: string): StopScan {
    if (this.stopped !== null) return { text: '', stop: this.stopped };
    const buf = this.held + piece;
    // Every earlier text was released only when no stop string could start in it, so a match
    // lies inside held + piece. The earliest start wins; at the same start the shortest string
    // (it completed first).
    let at = -1;
    let stop: string | null = null;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at || (i === at && s.length < (stop as string).length))) {
        at = i;
        stop = s;
      }
    }
    if (stop !== null) {
      this.held = '';
      this.stopped = stop;
      return { text: buf.slice(0, at), stop };
    }
    const keep = this.partialMatchLength(buf);
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stop: null };
  }

  /** At the end of generation: the held text, which no stop string completed. */
  flush(): string {
    const rest = this.stopped === null ? this.held : '';
    this.held = '';
    return rest;
  }

  /** Length of the longest end of `buf` that is the beginning of some stop string. */
  private partialMatchLength(buf: string): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, buf.length); n > best; n--) {
        if (buf.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
