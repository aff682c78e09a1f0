// What JSON.parse does not tell about a line it accepted: a key that appears twice in one
// object (it silently keeps the last value) and how deep values nest. One pass over the text's
// structure finds both: strings are skipped with indexOf (native), and only the characters
// between strings are looked at, so the cost follows the number of strings and brackets, not
// the length of the text. The walk is a loop with an explicit stack, so no depth overflows it.

import type { JsonPath } from './json-scan';

/** Values nested deeper than this (the record itself is level 1) are reported. */
export const MAX_NESTING = 64;

export interface DuplicateKey {
  /** Path of the object holding the key twice. */
  path: JsonPath;
  key: string;
  /** The second occurrence's name, with its quotes (UTF-16 offsets in the line). */
  keyStart: number;
  keyEnd: number;
}

export interface KeyScan {
  duplicate?: DuplicateKey;
  /** The deepest nesting level (the record is level 1). */
  depth: number;
  /** When depth > MAX_NESTING: the record's field whose value nests that deep (undefined: the record is not an object). */
  deepField?: string;
}

interface Frame {
  object: boolean;
  /** Keys seen so far in an object (kept only while no duplicate was found). */
  keys: string[] | undefined;
  /** The current key (object) or element index (array): the step to the next frame. */
  step: string | number;
}

/** Scans a line that JSON.parse accepted. */
export function scanKeys(s: string): KeyScan {
  const stack: Frame[] = [];
  const out: KeyScan = { depth: 0 };
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 34) {
      const end = stringEnd(s, i);
      const top = stack[stack.length - 1];
      if (top?.object) {
        let k = end + 1;
        while (k < n && isSpace(s.charCodeAt(k))) k++;
        if (s.charCodeAt(k) === 58) {
          const raw = s.slice(i + 1, end);
          const key = raw.includes('\\') ? (JSON.parse(s.slice(i, end + 1)) as string) : raw;
          if (!out.duplicate && top.keys) {
            if (top.keys.includes(key)) {
              out.duplicate = { path: stack.slice(0, -1).map((f) => f.step), key, keyStart: i, keyEnd: end + 1 };
            } else if (top.keys.length < 256) {
              top.keys.push(key);
            }
          }
          top.step = key;
          i = k + 1;
          continue;
        }
      }
      i = end + 1;
      continue;
    }
    if (c === 123 || c === 91) {
      stack.push({ object: c === 123, keys: c === 123 ? [] : undefined, step: 0 });
      if (stack.length > out.depth) {
        out.depth = stack.length;
        if (out.depth === MAX_NESTING + 1 && stack[0].object) out.deepField = String(stack[0].step);
      }
    } else if (c === 125 || c === 93) {
      stack.pop();
    } else if (c === 44) {
      const top = stack[stack.length - 1];
      if (top && !top.object) top.step = (top.step as number) + 1;
    }
    i++;
  }
  return out;
}

/** The offset of the quote closing the string that opens at `start` (the text is valid JSON). */
export function stringEnd(s: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const q = s.indexOf('"', from);
    if (q < 0) return s.length - 1;
    let b = q - 1;
    while (s.charCodeAt(b) === 92) b--;
    if ((q - 1 - b) % 2 === 0) return q; // an even number of backslashes: the quote is not escaped
    from = q + 1;
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 13 || c === 10;
}
