import * as l10n from '@vscode/l10n';
// Content scans over a record's raw line: placeholders left unreplaced, leftover HTML, and
// personal data hints. They run on the line text itself (not the parsed values) so every hit
// maps to an exact column, and each regex runs only after a cheap indexOf says it could match.
//
// The line is whatever a dataset file holds, so every pattern is bounded: each quantifier has
// a maximum (the lengths the standards allow, or less), so a failed match attempt costs a
// constant number of steps and a scan is linear in the line whatever it contains
// (test/security/unit/lint-patterns.test.ts holds 1 MB lines built to defeat each pattern).

export interface ContentHit {
  rule: 'placeholder' | 'model-name-placeholder' | 'html' | 'privacy' | 'control-character';
  start: number;
  end: number;
  message: string;
  /** A replacement for [start, end) offered as a quick fix. */
  fix?: { title: string; newText: string };
}

/** More hits on one line say nothing new: the scan stops there (the linter caps problems per file too). */
export const MAX_HITS_PER_LINE = 100;

const HTML_TAG = /<\/?(?:a|abbr|b|br|div|em|font|h[1-6]|hr|i|img|li|ol|p|pre|script|span|strong|style|sub|sup|table|tbody|td|th|tr|u|ul|code|blockquote|html|body|head|meta|link|iframe|section|article|nav|footer|header)\b[^<>]{0,200}>/gi;
const HTML_ENTITY = /&(?:nbsp|amp|lt|gt|quot|apos|#\d{1,6}|#x[0-9a-fA-F]{1,6});/g;
// A host label is at most 63 characters (RFC 1035); the rest of a URL is cut at 2,048.
const URL = /\b(?:https?|ftp):\/\/[^\s"\\<>]{1,2048}|\bwww\.[a-z0-9-]{1,63}\.[^\s"\\<>]{1,2048}/gi;
// E-mail addresses are found from each "@" by hand, not by a regex retried at every position:
// the local part is read backwards from it (at most 64 characters, RFC 5321), the domain
// forwards: 1 to 8 labels of 1 to 63 characters (RFC 1035), each followed by a dot, then a
// top-level domain of 2 to 24 letters. Reading stops at the next "@", so the whole line is read
// a bounded number of times.
const EMAIL_LOCAL_MAX = 64;
const LABEL_MAX = 63;
const LABELS_MAX = 8;
const TLD_MAX = 24;
// Grouped digits with separators (e.g. +39 06 1234 5678, (555) 123-4567): plain long numbers
// such as ids or years do not match, which keeps the hint quiet on numeric data.
const PHONE = /(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]\d{3,5}\b/g;
// Placeholders found without being listed: LMTuner's identity convention and template markers
// ({{name}}, {{ user.name }}) left by a generator that did not fill them in.
const MODEL_NAME_MARKERS = ['[MODEL NAME]', '[MODEL_NAME]'];
const TEMPLATE_MARKER = /\{\{[^{}"\\]{1,100}\}\}/g;

function scan(re: RegExp, text: string, from: number, hits: ContentHit[], hit: (start: number, end: number, match: string) => ContentHit): void {
  re.lastIndex = from;
  for (let m = re.exec(text); m && hits.length < MAX_HITS_PER_LINE; m = re.exec(text)) {
    hits.push(hit(m.index, m.index + m[0].length, m[0]));
    if (m[0].length === 0) re.lastIndex++;
  }
}

const isLetter = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** Characters of an e-mail local part as the hint understands it: letters, digits and . _ % + - */
const isLocalChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
const isLabelChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 45;

/**
 * The end of the e-mail domain starting at `from`, or -1. Like the pattern
 * (?:[A-Za-z0-9-]{1,63}\.){1,8}[A-Za-z]{2,24} matched there: as many labels as fit, then the
 * letters of the top-level domain.
 */
function emailDomainEnd(text: string, from: number): number {
  let end = -1;
  let i = from;
  for (let labels = 0; labels < LABELS_MAX; labels++) {
    const start = i;
    while (i < text.length && i - start <= LABEL_MAX && isLabelChar(text.charCodeAt(i))) i++;
    const len = i - start;
    if (len === 0 || len > LABEL_MAX || text.charCodeAt(i) !== 46) break;
    i++; // the dot
    let t = i;
    while (t < text.length && t - i < TLD_MAX && isLetter(text.charCodeAt(t))) t++;
    if (t - i >= 2) end = t;
  }
  return end;
}

function scanEmails(text: string, at: number, hits: ContentHit[]): void {
  let floor = 0; // the end of the previous address: a local part never reaches into it
  for (; at >= 0 && hits.length < MAX_HITS_PER_LINE; at = text.indexOf('@', at + 1)) {
    let start = at;
    const stop = Math.max(floor, at - EMAIL_LOCAL_MAX);
    while (start > stop && isLocalChar(text.charCodeAt(start - 1))) start--;
    if (start === at) continue;
    const end = emailDomainEnd(text, at + 1);
    if (end < 0) continue;
    hits.push({ rule: 'privacy', start, end, message: l10n.t('E-mail address in the text: remove or anonymise personal data.') });
    floor = end;
    at = end - 1;
  }
}

export interface ContentOptions {
  /** Placeholders listed in the settings, found besides the built-in markers. */
  placeholders: readonly string[];
  /** The built-in markers: [MODEL NAME] and {{…}}. */
  templateMarkers: boolean;
  /** ARGS.json's model_name: the replacement offered for [MODEL NAME]. */
  modelName?: string;
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
  if (opts.templateMarkers) out.push({ bit: TRIGGER.placeholder, needle: '[MODEL' }, { bit: TRIGGER.placeholder, needle: '{{' });
  return out;
}

/** Appends the content hits of one line to `hits` (at most MAX_HITS_PER_LINE); `mask` says which triggers may be present. */
export function scanContent(text: string, opts: ContentOptions, hits: ContentHit[], mask = ALL_TRIGGERS): void {
  if (mask & TRIGGER.placeholder) scanPlaceholders(text, opts, hits);
  if (opts.html) {
    const lt = mask & TRIGGER.lt ? text.indexOf('<') : -1;
    if (lt >= 0) scan(HTML_TAG, text, lt, hits, (start, end, m) => ({ rule: 'html', start, end, message: l10n.t('Leftover HTML tag {0}: strip markup from scraped text.', m.length > 40 ? m.slice(0, 37) + '...' : m) }));
    const amp = mask & TRIGGER.amp ? text.indexOf('&') : -1;
    if (amp >= 0) scan(HTML_ENTITY, text, amp, hits, (start, end, m) => ({ rule: 'html', start, end, message: l10n.t('HTML entity {0}: decode it to the character it stands for.', m) }));
  }
  if (opts.privacy) {
    if ((mask & TRIGGER.scheme && text.indexOf('://') >= 0) || (mask & TRIGGER.www && text.indexOf('www.') >= 0)) {
      scan(URL, text, 0, hits, (start, end) => ({ rule: 'privacy', start, end, message: l10n.t('URL in the text: check it may be used for training (privacy, licensing).') }));
    }
    const at = mask & TRIGGER.at ? text.indexOf('@') : -1;
    if (at >= 0) scanEmails(text, at, hits);
    scan(PHONE, text, 0, hits, (start, end) => ({ rule: 'privacy', start, end, message: l10n.t('Possible phone number in the text: remove or anonymise personal data.') }));
  }
}

function scanPlaceholders(text: string, opts: ContentOptions, hits: ContentHit[]): void {
  const first = hits.length;
  const found = (start: number): boolean => {
    for (let k = first; k < hits.length; k++) if (hits[k].start === start) return true;
    return false;
  };
  const modelFix = opts.modelName ? { title: l10n.t('Replace with "{0}", the model_name of ARGS.json', opts.modelName), newText: JSON.stringify(opts.modelName).slice(1, -1) } : undefined;
  const literals = opts.templateMarkers ? [...MODEL_NAME_MARKERS, ...opts.placeholders] : opts.placeholders;
  for (const p of literals) {
    if (p === '') continue;
    const isModelName = MODEL_NAME_MARKERS.includes(p);
    // With model_name set, preparation fills [MODEL NAME] in: not a leftover, but the name can be written in now.
    const rule = isModelName && opts.modelName ? 'model-name-placeholder' : 'placeholder';
    const message = !isModelName
      ? l10n.t('Placeholder {0} is still in the text: replace it with the real value.', p)
      : opts.modelName
        ? l10n.t('{0} becomes "{1}", the model_name of ARGS.json, when the data is prepared.', p, opts.modelName)
        : l10n.t('Placeholder {0} is still in the text: set model_name in ARGS.json to have it replaced when the data is prepared, or write the model\'s name here.', p);
    for (let at = text.indexOf(p); at >= 0 && hits.length < MAX_HITS_PER_LINE; at = text.indexOf(p, at + p.length)) {
      if (!found(at)) hits.push({ rule, start: at, end: at + p.length, message, fix: isModelName ? modelFix : undefined });
    }
  }
  if (opts.templateMarkers && text.indexOf('{{') >= 0) {
    TEMPLATE_MARKER.lastIndex = 0;
    for (let m = TEMPLATE_MARKER.exec(text); m && hits.length < MAX_HITS_PER_LINE; m = TEMPLATE_MARKER.exec(text)) {
      if (found(m.index)) continue;
      const shown = m[0].length > 40 ? `${m[0].slice(0, 37)}...` : m[0];
      hits.push({ rule: 'placeholder', start: m.index, end: m.index + m[0].length, message: l10n.t('Template marker {0} is still in the text: the generator did not fill it in; replace it with the real value.', shown) });
    }
  }
}

const CONTROL_NAMES: Record<number, string> = { 0: 'NUL', get 7() { return l10n.t('bell'); }, get 8() { return l10n.t('backspace'); }, get 11() { return l10n.t('vertical tab'); }, get 12() { return l10n.t('form feed'); }, get 27() { return l10n.t('escape, as in terminal colour codes'); } };

/**
 * Escaped control characters in a line JSON.parse accepted (raw ones cannot be there): \u0000
 * to \u001f other than tab, line feed and carriage return, and \b, \f. Each backslash starts
 * an escape, so walking from one to the next never mistakes an escaped backslash for one.
 */
export function scanControlEscapes(text: string, hits: ContentHit[]): void {
  for (let at = text.indexOf('\\'); at >= 0 && hits.length < MAX_HITS_PER_LINE; at = text.indexOf('\\', at + 2)) {
    const e = text.charCodeAt(at + 1);
    let code = -1;
    let len = 2;
    if (e === 98) code = 8; // \b
    else if (e === 102) code = 12; // \f
    else if (e === 117 && text.charCodeAt(at + 2) === 48 && text.charCodeAt(at + 3) === 48) {
      const v = parseInt(text.slice(at + 4, at + 6), 16);
      if (v < 32 && v !== 9 && v !== 10 && v !== 13) code = v;
      len = 6;
    }
    if (code < 0) continue;
    // A terminal colour code (ESC [ ... m) goes as a whole.
    let end = at + len;
    if (code === 27) {
      const csi = /^\[[0-9;]{0,20}[A-Za-z]/.exec(text.slice(end, end + 24));
      if (csi) end += csi[0].length;
    }
    const name = CONTROL_NAMES[code] ?? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    hits.push({
      rule: 'control-character',
      start: at,
      end,
      message: l10n.t('Escaped control character {0}, {1}: the model would learn to produce it; remove it.', text.slice(at, at + len), name),
      fix: { title: end > at + len ? l10n.t('Remove the terminal colour code') : l10n.t('Remove the control character'), newText: '' },
    });
    at += len - 2;
  }
}
