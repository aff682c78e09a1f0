// The per-text operations of the cleaning steps: each rewrites one string (and counts what it
// changed) or measures it for a filter. They know nothing of records or files, so the unit tests
// feed them strings. Libraries made for the job do the hard parts: html-to-text for markup,
// franc-min for the language.
import { convert } from 'html-to-text';
import { franc } from 'franc-min';
import { DEFAULT_IDENTITY_PLACEHOLDERS, replacePlaceholders } from '../../dataset/conversation';

// ---- Unicode and whitespace ----

/** Zero-width and other invisible characters, and C0/C1 controls other than tab and newline. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u200b-\u200d\u2060\ufeff\u00ad\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
/** Spaces other than the plain one (no-break, en/em, ideographic...), tabs kept for indentation. */
const ODD_SPACES = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;

/**
 * NFC, invisible characters removed, Windows line ends made \n, odd spaces made plain, runs of
 * spaces inside a line made one (the indentation at the start of a line is kept, for code),
 * trailing spaces dropped, at most one blank line in a row, and the text trimmed.
 */
export function normalizeText(s: string): string {
  let t = s.normalize('NFC').replace(/\r\n?/g, '\n').replace(INVISIBLE, '').replace(ODD_SPACES, ' ');
  t = t.split('\n').map((line) => {
    const indent = /^[ \t]*/.exec(line)![0];
    return indent + line.slice(indent.length).replace(/[ \t]+/g, ' ').trimEnd();
  }).join('\n');
  return t.replace(/\n{3,}/g, '\n\n').trim();
}

// ---- HTML ----

const HTML_TAG = /<\/?[a-z][a-z0-9]*(?:\s[^<>]*)?\/?>|&(?:[a-z]+|#\d+|#x[0-9a-f]+);/i;

export function looksLikeHtml(s: string): boolean {
  return HTML_TAG.test(s);
}

/** Markup to plain text: no line wrapping, links as their text, images and scripts dropped. */
export function htmlToText(s: string): string {
  if (!looksLikeHtml(s)) return s;
  return convert(s, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'script', format: 'skip' },
      { selector: 'style', format: 'skip' },
    ],
  }).trim();
}

// ---- Boilerplate lines ----

/** The key a line is counted under: trimmed, inner whitespace collapsed, lower case. Short lines ("Yes.", "}") are never boilerplate. */
export function boilerplateKey(line: string): string | undefined {
  const k = line.trim().replace(/\s+/g, ' ').toLowerCase();
  return k.length >= 12 ? k : undefined;
}

/** The lines of a multi-line text; single-line texts are never boilerplate (removing the line would remove the text). */
export function candidateLines(s: string): string[] {
  return s.includes('\n') ? s.split('\n') : [];
}

/** Drops the lines `isBoilerplate` picks from a multi-line text; returns the text and how many went. */
export function dropLines(s: string, isBoilerplate: (key: string) => boolean): { text: string; removed: number } {
  const lines = candidateLines(s);
  if (lines.length === 0) return { text: s, removed: 0 };
  let removed = 0;
  const kept = lines.filter((line) => {
    const k = boilerplateKey(line);
    if (k !== undefined && isBoilerplate(k)) {
      removed++;
      return false;
    }
    return true;
  });
  // A text made only of repeated lines is content (a duplicate record is the dedupe steps' to judge), not boilerplate.
  if (removed === 0 || kept.every((line) => line.trim() === '')) return { text: s, removed: 0 };
  return { text: kept.join('\n').replace(/\n{3,}/g, '\n\n').trim(), removed };
}

// ---- Identity ----

/** LMTuner's identity data: [MODEL NAME] (and [MODEL_NAME], <MODEL_NAME>) becomes the name. */
export function replaceIdentity(s: string, name: string): { text: string; replaced: number } {
  let replaced = 0;
  for (const p of DEFAULT_IDENTITY_PLACEHOLDERS) replaced += s.split(p).length - 1;
  return replaced === 0 ? { text: s, replaced } : { text: replacePlaceholders(s, name, DEFAULT_IDENTITY_PLACEHOLDERS), replaced };
}

// ---- Personal data ----

export type PiiKind = 'email' | 'phone' | 'url';

export const PII_PLACEHOLDERS: Readonly<Record<PiiKind, string>> = { email: '<EMAIL>', phone: '<PHONE>', url: '<URL>' };

const PII_PATTERNS: Readonly<Record<PiiKind, RegExp>> = {
  email: /(?<![\w.+-])[\w.+-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}(?![\w-])/gi,
  // http(s)/ftp URLs and bare www. addresses; a trailing sentence mark stays outside.
  url: /\b(?:(?:https?|ftp):\/\/|www\.)[^\s<>"'`]+[^\s<>"'`.,;:!?)\]}]/gi,
  // An optional +country code, then groups of digits split by spaces, dots, dashes or a
  // parenthesised area code: 9 to 15 digits in all. Years, prices and decimals do not match.
  phone: /(?<![\w+.,/-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w.,/-]?\d)/g,
};

function digitCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) n++;
  return n;
}

/** Replaces the chosen kinds of personal data with placeholders; counts per kind. E-mails go first, so an address is never half a URL. */
export function redactPii(s: string, kinds: Readonly<Record<PiiKind, boolean>>): { text: string; counts: Record<PiiKind, number> } {
  const counts: Record<PiiKind, number> = { email: 0, phone: 0, url: 0 };
  let t = s;
  for (const kind of ['email', 'url', 'phone'] as const) {
    if (!kinds[kind]) continue;
    t = t.replace(PII_PATTERNS[kind], (m) => {
      if (kind === 'phone') {
        const d = digitCount(m);
        // Phone numbers have 9 to 15 digits and at least one separator or a + (a bare run of digits is an id or an amount).
        if (d < 9 || d > 15 || !/[ .()+-]/.test(m)) return m;
      }
      counts[kind]++;
      return PII_PLACEHOLDERS[kind];
    });
  }
  return { text: t, counts };
}

// ---- Quality measures ----

/** Words: runs of letters and digits, lower case. */
export function words(s: string): string[] {
  return s.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}]+)?/gu) ?? [];
}

/** The share of word n-grams that repeat an earlier n-gram of the same text; 0 for a text too short to judge (fewer than n + 1 words). */
export function repeatedNgramRatio(s: string, n: number): number {
  const w = words(s);
  const total = w.length - n + 1;
  if (total < 2) return 0;
  const seen = new Set<string>();
  let repeats = 0;
  for (let i = 0; i < total; i++) {
    const g = w.slice(i, i + n).join(' ');
    if (seen.has(g)) repeats++;
    else seen.add(g);
  }
  return repeats / total;
}

/** Sentence punctuation that ordinary prose is full of; everything else that is not a letter, digit, mark or space counts as a symbol. */
const PROSE_PUNCTUATION = new Set(".,;:!?'\"()-–—’‘“”«»…¿¡、。，！？：；（）".split(''));

/** The share of visible characters that are symbols (#, |, {, =, emoji, box drawing...); 0 for an empty text. */
export function symbolRatio(s: string): number {
  let visible = 0, symbols = 0;
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c < 128) {
      if (c <= 32) continue;
      visible++;
      const alnum = (c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122);
      if (!alnum && !PROSE_PUNCTUATION.has(ch)) symbols++;
      continue;
    }
    if (/\s/.test(ch)) continue;
    visible++;
    if (!/[\p{L}\p{N}\p{M}]/u.test(ch) && !PROSE_PUNCTUATION.has(ch)) symbols++;
  }
  return visible === 0 ? 0 : symbols / visible;
}

/** The text's language as an ISO 639-3 code, or 'und' when it is too short or unclear to tell. */
export function detectLanguage(s: string): string {
  return franc(s, { minLength: 20 });
}
