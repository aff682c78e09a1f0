// Content scans over a record's raw line: placeholders left unreplaced, leftover HTML, and
// personal data hints. They run on the line text itself (not the parsed values) so every hit
// maps to an exact column, and each regex runs only after a cheap indexOf says it could match.

export interface ContentHit {
  rule: 'placeholder' | 'html' | 'privacy';
  start: number;
  end: number;
  message: string;
}

const HTML_TAG = /<\/?(?:a|abbr|b|br|div|em|font|h[1-6]|hr|i|img|li|ol|p|pre|script|span|strong|style|sub|sup|table|tbody|td|th|tr|u|ul|code|blockquote|html|body|head|meta|link|iframe|section|article|nav|footer|header)\b[^<>]{0,200}>/gi;
const HTML_ENTITY = /&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,6}|#x[0-9a-fA-F]{1,6});/g;
const URL = /\b(?:https?|ftp):\/\/[^\s"\\<>]+|\bwww\.[a-z0-9-]+\.[^\s"\\<>]+/gi;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
// Grouped digits with separators (e.g. +39 06 1234 5678, (555) 123-4567): plain long numbers
// such as ids or years do not match, which keeps the hint quiet on numeric data.
const PHONE = /(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]\d{3,5}\b/g;

function scan(re: RegExp, text: string, from: number, out: (start: number, end: number, match: string) => void): void {
  re.lastIndex = from;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out(m.index, m.index + m[0].length, m[0]);
    if (m[0].length === 0) re.lastIndex++;
  }
}

export interface ContentOptions {
  placeholders: readonly string[];
  html: boolean;
  privacy: boolean;
}

/**
 * Bits of a prefilter mask: which trigger strings a line contains. A caller that can find them
 * faster than per-line string search (memchr over the file's bytes) passes the mask; without
 * one every trigger is looked for here.
 */
export const TRIGGER = { lt: 1, amp: 2, at: 4, scheme: 8, www: 16, placeholder: 32 } as const;
export const ALL_TRIGGERS = 63;

/** The trigger strings, in TRIGGER bit order, for byte-level prefilters. */
export function triggerNeedles(opts: ContentOptions): { bit: number; needle: string }[] {
  const out: { bit: number; needle: string }[] = [];
  if (opts.html) out.push({ bit: TRIGGER.lt, needle: '<' }, { bit: TRIGGER.amp, needle: '&' });
  if (opts.privacy) out.push({ bit: TRIGGER.at, needle: '@' }, { bit: TRIGGER.scheme, needle: '://' }, { bit: TRIGGER.www, needle: 'www.' });
  for (const p of opts.placeholders) out.push({ bit: TRIGGER.placeholder, needle: p });
  return out;
}

/** Appends the content hits of one line to `hits`; `mask` says which triggers may be present. */
export function scanContent(text: string, opts: ContentOptions, hits: ContentHit[], mask = ALL_TRIGGERS): void {
  if (mask & TRIGGER.placeholder) {
    for (const p of opts.placeholders) {
      if (p === '') continue;
      for (let at = text.indexOf(p); at >= 0; at = text.indexOf(p, at + p.length)) {
        hits.push({ rule: 'placeholder', start: at, end: at + p.length, message: `Placeholder ${p} is still in the text: replace it with the real value (e.g. the model's name).` });
      }
    }
  }
  if (opts.html) {
    const lt = mask & TRIGGER.lt ? text.indexOf('<') : -1;
    if (lt >= 0) scan(HTML_TAG, text, lt, (s, e, m) => hits.push({ rule: 'html', start: s, end: e, message: `Leftover HTML tag ${m.length > 40 ? m.slice(0, 37) + '...' : m}: strip markup from scraped text.` }));
    const amp = mask & TRIGGER.amp ? text.indexOf('&') : -1;
    if (amp >= 0) scan(HTML_ENTITY, text, amp, (s, e, m) => hits.push({ rule: 'html', start: s, end: e, message: `HTML entity ${m}: decode it to the character it stands for.` }));
  }
  if (opts.privacy) {
    if ((mask & TRIGGER.scheme && text.indexOf('://') >= 0) || (mask & TRIGGER.www && text.indexOf('www.') >= 0)) {
      scan(URL, text, 0, (s, e) => hits.push({ rule: 'privacy', start: s, end: e, message: 'URL in the text: check it may be used for training (privacy, licensing).' }));
    }
    const at = mask & TRIGGER.at ? text.indexOf('@') : -1;
    if (at >= 0) {
      scan(EMAIL, text, Math.max(0, at - 64), (s, e) => hits.push({ rule: 'privacy', start: s, end: e, message: 'E-mail address in the text: remove or anonymise personal data.' }));
    }
    scan(PHONE, text, 0, (s, e) => hits.push({ rule: 'privacy', start: s, end: e, message: 'Possible phone number in the text: remove or anonymise personal data.' }));
  }
}
