// Format conversion through the neutral conversation. A conversion is offered only when it is
// lossless for training: the converted record renders to the same conversation and no field
// of the original (tool calls, names, unknown keys) is dropped.

import { COMMON_EXTRA_FIELDS, FORMAT_SPECS, detectRecordFormat, fromConversation, toConversation, type Conversation, type FormatId } from './formats';
import type { TextEdit } from './problem';

const TURN_KEYS: Record<'messages' | 'sharegpt', ReadonlySet<string>> = {
  messages: new Set(['role', 'content']),
  sharegpt: new Set(['from', 'value']),
};

/** True when every key of the record (and of each turn) is one the conversation carries. */
function fullyRepresented(r: Record<string, unknown>, from: FormatId): boolean {
  const spec = FORMAT_SPECS[from];
  const names = new Set(spec.fields.filter((f) => f.kind !== 'any').map((f) => f.name));
  for (const k of Object.keys(r)) {
    if (!names.has(k) && !COMMON_EXTRA_FIELDS.has(k)) return false;
  }
  const turnLists: unknown[] = [];
  if (spec.turnsField) turnLists.push(r[spec.turnsField]);
  if (from === 'preference') turnLists.push(r.prompt, r.chosen, r.rejected);
  for (const list of turnLists) {
    if (!Array.isArray(list)) continue;
    const allowed = TURN_KEYS[from === 'sharegpt' ? 'sharegpt' : 'messages'];
    for (const t of list) {
      if (t === null || typeof t !== 'object') return false;
      for (const k of Object.keys(t)) if (!allowed.has(k)) return false;
    }
  }
  return true;
}

function sameConversation(a: Conversation, b: Conversation): boolean {
  if (a.turns.length !== b.turns.length || !!a.pretraining !== !!b.pretraining || a.rejected !== b.rejected) return false;
  return a.turns.every((t, i) => t.role === b.turns[i].role && t.content === b.turns[i].content);
}

/**
 * Converts one record from one format to another; undefined when that would lose anything
 * (the target cannot hold the conversation, or the record has fields the target lacks).
 * Bookkeeping fields (id, metadata, ...) are carried over unchanged.
 */
export function convertRecord(record: unknown, from: FormatId, to: FormatId): unknown | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  if (from === to) return record;
  if (!fullyRepresented(r, from)) return undefined;
  const conv = toConversation(r, from);
  if (!conv) return undefined;
  const out = fromConversation(conv, to);
  if (!out) return undefined;
  const back = toConversation(out, to);
  if (!back || !sameConversation(conv, back)) return undefined;
  for (const k of Object.keys(r)) if (COMMON_EXTRA_FIELDS.has(k)) out[k] = r[k];
  return out;
}

/**
 * Edits converting every record of the document that can be converted losslessly to `to`;
 * lines that are invalid, already in `to`, or not convertible are left as they are (the
 * linter keeps reporting them).
 */
export function convertDocumentEdits(text: string, to: FormatId): TextEdit[] {
  const edits: TextEdit[] = [];
  let start = 0;
  for (let line = 0; start <= text.length; line++) {
    let end = text.indexOf('\n', start);
    const next = end < 0 ? text.length + 1 : end + 1;
    if (end < 0) end = text.length;
    let lineText = text.slice(start, end);
    if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
    if (line === 0 && lineText.charCodeAt(0) === 0xfeff) lineText = ' ' + lineText.slice(1);
    const edit = convertLineEdit(lineText, line, to);
    if (edit) edits.push(edit);
    start = next;
  }
  return edits;
}

/** The edit converting one line's record to `to`, or undefined if it cannot or need not be. */
export function convertLineEdit(lineText: string, line: number, to: FormatId, from?: FormatId): TextEdit | undefined {
  const first = lineText.search(/\S/);
  if (first < 0 || lineText[first] !== '{') return undefined;
  let rec: unknown;
  try {
    rec = JSON.parse(lineText);
  } catch {
    return undefined;
  }
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return undefined;
  const src = from ?? detectRecordFormat(rec as Record<string, unknown>);
  if (!src || src === to) return undefined;
  const out = convertRecord(rec, src, to);
  if (out === undefined) return undefined;
  const last = lineText.trimEnd().length;
  return { range: { line, col: first, endLine: line, endCol: last }, newText: JSON.stringify(out) };
}
