// Which words of two answers differ, for the side-by-side view: a longest common subsequence
// over words (whitespace kept with the word before it), so the page can mark what only one
// side said. Pure and bounded: past MAX_CELLS word pairs it marks nothing rather than stall.

export interface DiffSegment {
  text: string;
  /** True when this piece is not in the other answer's common subsequence. */
  changed: boolean;
}

export const MAX_CELLS = 4_000_000;

/** Words with their trailing whitespace: "a  b\nc" -> ["a  ", "b\n", "c"]; leading space is its own piece. */
export function splitWords(text: string): string[] {
  return text.match(/\s+|\S+\s*/g) ?? [];
}

function merge(pieces: string[], changed: boolean[]): DiffSegment[] {
  const out: DiffSegment[] = [];
  pieces.forEach((text, i) => {
    const last = out.at(-1);
    if (last && last.changed === changed[i]) last.text += text;
    else out.push({ text, changed: changed[i] });
  });
  return out;
}

/** The two texts cut into unchanged and changed runs; words compare without their whitespace. */
export function diffWords(a: string, b: string): { a: DiffSegment[]; b: DiffSegment[] } {
  const wa = splitWords(a);
  const wb = splitWords(b);
  const ka = wa.map((w) => w.trim());
  const kb = wb.map((w) => w.trim());
  const n = wa.length;
  const m = wb.length;
  if (n * m > MAX_CELLS) return { a: merge(wa, wa.map(() => false)), b: merge(wb, wb.map(() => false)) };
  // lcs[i][j]: common words of wa[i..] and wb[j..], one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = ka[i] === kb[j] ? lcs[at(i + 1, j + 1)] + 1 : Math.max(lcs[at(i + 1, j)], lcs[at(i, j + 1)]);
    }
  }
  const ca = wa.map(() => true);
  const cb = wb.map(() => true);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (ka[i] === kb[j]) {
      ca[i++] = false;
      cb[j++] = false;
    } else if (lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) i++;
    else j++;
  }
  // Whitespace alone is never a difference worth marking.
  wa.forEach((w, k) => (ca[k] &&= w.trim() !== ''));
  wb.forEach((w, k) => (cb[k] &&= w.trim() !== ''));
  return { a: merge(wa, ca), b: merge(wb, cb) };
}
