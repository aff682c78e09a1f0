// Schema and conversation checks for one parsed record. Field knowledge comes from formats.ts;
// these functions only compare a record with it and report through a RecordSink, which turns
// JSON paths into text ranges only when there is something to report.

import { COMMON_EXTRA_FIELDS, FORMAT_SPECS, SHAREGPT_ROLES, type FieldKind, type FormatId } from './formats';
import type { JsonPath } from './json-scan';
import type { Fix } from './problem';
import * as l10n from '@vscode/l10n';

export type RuleId =
  | 'invalid-json' | 'not-object' | 'trailing-comma' | 'smart-quotes' | 'invalid-utf8' | 'bom'
  | 'mixed-line-endings' | 'blank-line' | 'surrounding-whitespace' | 'json-array-file' | 'empty-file'
  | 'unknown-format' | 'mixed-format' | 'missing-field' | 'unexpected-field' | 'wrong-type' | 'empty-string'
  | 'duplicate-key' | 'deep-nesting'
  | 'unknown-role' | 'role-order' | 'no-assistant-turn' | 'empty-conversation' | 'last-turn-not-assistant'
  | 'duplicate-record' | 'near-duplicate' | 'record-too-long' | 'chosen-equals-rejected'
  | 'placeholder' | 'model-name-placeholder' | 'html' | 'privacy' | 'too-many-problems' | 'control-character';

export interface RecordSink {
  /** Whether a rule is enabled (so checks can skip work for rules that are off). */
  on(rule: RuleId): boolean;
  /** Report at a JSON path of the current record; `key` underlines the property name. */
  reportAt(rule: RuleId, message: string, path: JsonPath, key?: boolean, fixes?: Fix[]): void;
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return l10n.t('an array');
  switch (typeof v) {
    case 'string': return 'text';
    case 'number': return 'a number';
    case 'boolean': return 'a boolean';
    default: return l10n.t('an object');
  }
}

function kindOk(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case 'string': return typeof v === 'string';
    case 'turns': return Array.isArray(v);
    case 'string-or-turns': return typeof v === 'string' || Array.isArray(v);
    case 'any': return true;
  }
}

// Plain phrases: messages put them in parentheses, and parentheses are never nested.
const KIND_WORDS: Record<FieldKind, string> = {
  get string() { return l10n.t('a JSON string'); },
  get turns() { return l10n.t('a list of turns'); },
  get 'string-or-turns'() { return l10n.t('a JSON string or a list of messages'); },
  get any() { return l10n.t('any value'); },
};

function isBlank(s: string): boolean {
  if (s.length === 0) return true;
  const c0 = s.charCodeAt(0);
  const cl = s.charCodeAt(s.length - 1);
  // Only strings that start and end with whitespace can be all whitespace.
  if (c0 > 32 && c0 !== 160 && cl > 32 && cl !== 160) return false;
  return s.trim().length === 0;
}

const ALLOWED_KEYS: Record<FormatId, Set<string>> = Object.fromEntries(
  Object.values(FORMAT_SPECS).map((spec) => [spec.id, new Set([...spec.fields.map((f) => f.name), ...COMMON_EXTRA_FIELDS])]),
) as Record<FormatId, Set<string>>;

/** Field presence, types, empty text and unexpected fields against `format`. */
export function checkFields(sink: RecordSink, rec: Record<string, unknown>, format: FormatId): void {
  const spec = FORMAT_SPECS[format];
  for (const f of spec.fields) {
    const v = rec[f.name];
    if (v === undefined) {
      if (f.required && sink.on('missing-field')) {
        sink.reportAt('missing-field', l10n.t('Missing field "{0}" ({1}) required by the {2} format.', f.name, KIND_WORDS[f.kind], format), []);
      }
      continue;
    }
    if (!kindOk(f.kind, v)) {
      sink.reportAt('wrong-type', l10n.t('Field "{0}" must be {1}, not {2}.', f.name, KIND_WORDS[f.kind], jsonType(v)), [f.name]);
      continue;
    }
    if (typeof v === 'string' && !f.emptyAllowed && isBlank(v) && sink.on('empty-string')) {
      sink.reportAt('empty-string', l10n.t('Field "{0}" is empty: the example teaches nothing; fill it in or remove the record.', f.name), [f.name]);
    }
    if (f.kind === 'string-or-turns' && Array.isArray(v)) checkTurnList(sink, v, 'messages', [f.name], false);
  }
  if (sink.on('unexpected-field')) {
    const allowed = ALLOWED_KEYS[format];
    for (const k in rec) {
      if (!allowed.has(k)) {
        sink.reportAt('unexpected-field', l10n.t('Unexpected field {0} for the {1} format: training ignores it (expected {2}).', String(JSON.stringify(k)), format, spec.fields.map((f) => `"${f.name}"`).join(', ')), [k], true);
      }
    }
  }
}

function pathOf(base: JsonPath, i: number, key?: string): JsonPath {
  return key === undefined ? [...base, i] : [...base, i, key];
}

const MESSAGE_KEYS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'weight', 'function_call', 'refusal']);
const SHAREGPT_KEYS = new Set(['from', 'value', 'weight', 'name']);
const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'tool']);

export interface RoleCounter {
  countRole(role: string): void;
}

/**
 * Checks a list of turns ('messages' = OpenAI role/content, 'sharegpt' = from/value): each turn's
 * shape, known roles, and the order a chat template can render. `complete` = the list is a whole
 * conversation that must end with an assistant turn (false for a preference prompt).
 */
export function checkTurnList(sink: RecordSink, turns: unknown[], style: 'messages' | 'sharegpt', base: JsonPath, complete = true, roles?: RoleCounter): void {
  if (turns.length === 0) {
    if (complete) sink.reportAt('empty-conversation', l10n.t('"{0}" is an empty list: add at least a user and an assistant turn.', base[base.length - 1]), base);
    return;
  }
  const roleKey = style === 'messages' ? 'role' : 'from';
  const textKey = style === 'messages' ? 'content' : 'value';
  const keys = style === 'messages' ? MESSAGE_KEYS : SHAREGPT_KEYS;
  let prev: string | undefined; // previous normalised role
  let prevHadToolCall = false;
  let assistantTurns = 0;
  let unreadable = false; // a turn whose role is missing or unknown (already reported)
  let started = false; // a non-system turn has been seen
  for (let i = 0; i < turns.length; i++) {
    const t = turns[i];
    if (t === null || typeof t !== 'object' || Array.isArray(t)) {
      sink.reportAt('wrong-type', l10n.t('Turn {0} must be an object with "{1}" and "{2}", not {3}.', i + 1, roleKey, textKey, jsonType(t)), pathOf(base, i));
      prev = undefined;
      unreadable = true;
      continue;
    }
    const turn = t as Record<string, unknown>;
    const rawRole = turn[roleKey];
    let role: string | undefined;
    let toolCall = false;
    if (rawRole === undefined) {
      sink.reportAt('missing-field', l10n.t('Turn {0} has no "{1}".', i + 1, roleKey), pathOf(base, i));
    } else if (typeof rawRole !== 'string') {
      sink.reportAt('wrong-type', l10n.t('"{0}" of turn {1} must be text, not {2}.', roleKey, i + 1, jsonType(rawRole)), pathOf(base, i, roleKey));
    } else if (style === 'messages') {
      if (CHAT_ROLES.has(rawRole)) role = rawRole;
      else sink.reportAt('unknown-role', l10n.t('Unknown role {0} in turn {1}: use system, user, assistant or tool.', String(JSON.stringify(rawRole)), i + 1), pathOf(base, i, roleKey));
      toolCall = role === 'assistant' && (Array.isArray(turn.tool_calls) && turn.tool_calls.length > 0 || turn.function_call !== undefined);
    } else {
      role = SHAREGPT_ROLES[rawRole];
      if (role === undefined) sink.reportAt('unknown-role', l10n.t('Unknown speaker {0} in turn {1}: use human, gpt, system, function_call or observation.', String(JSON.stringify(rawRole)), i + 1), pathOf(base, i, roleKey));
      toolCall = rawRole === 'function_call';
    }
    if (role) roles?.countRole(role);
    else unreadable = true;
    if (role === 'assistant') assistantTurns++;

    const text = turn[textKey];
    if (text === undefined) {
      if (!toolCall) sink.reportAt('missing-field', l10n.t('Turn {0} has no "{1}".', i + 1, textKey), pathOf(base, i));
    } else if (typeof text === 'string') {
      if (!toolCall && isBlank(text) && sink.on('empty-string')) sink.reportAt('empty-string', l10n.t('"{0}" of turn {1} ({2}) is empty.', textKey, i + 1, String(rawRole)), pathOf(base, i, textKey));
    } else if (!(text === null && toolCall) && !(style === 'messages' && Array.isArray(text))) {
      sink.reportAt('wrong-type', l10n.t('"{0}" of turn {1} must be text, not {2}.', textKey, i + 1, jsonType(text)), pathOf(base, i, textKey));
    }
    if (sink.on('unexpected-field')) {
      for (const k in turn) {
        if (!keys.has(k)) sink.reportAt('unexpected-field', l10n.t('Unexpected field {0} in turn {1}: training ignores it.', String(JSON.stringify(k)), i + 1), pathOf(base, i, k), true);
      }
    }

    if (role && sink.on('role-order')) {
      if (role === 'system') {
        if (started) sink.reportAt('role-order', l10n.t('System turn {0} comes after the conversation started: move it to the beginning.', i + 1), pathOf(base, i, roleKey));
      } else if (role === 'assistant' && !started && complete) {
        sink.reportAt('role-order', l10n.t('The conversation starts with an assistant turn: the first turn after the system prompt must be from the user.'), pathOf(base, i, roleKey));
      } else if (role === 'user' && prev === 'user') {
        sink.reportAt('role-order', l10n.t('Two user turns in a row (turns {0} and {1}): merge them or add the assistant\'s reply between them.', i, i + 1), pathOf(base, i, roleKey));
      } else if (role === 'assistant' && prev === 'assistant' && !prevHadToolCall) {
        sink.reportAt('role-order', l10n.t('Two assistant turns in a row (turns {0} and {1}): merge them or add the user\'s turn between them.', i, i + 1), pathOf(base, i, roleKey));
      } else if (role === 'tool' && !(prev === 'tool' || (prev === 'assistant' && prevHadToolCall))) {
        sink.reportAt('role-order', l10n.t('Tool result in turn {0} without a preceding assistant tool call.', i + 1), pathOf(base, i, roleKey));
      }
    }
    // A turn whose role is broken still counts as the start, so one error does not cascade.
    if (role !== 'system') started = true;
    prev = role;
    prevHadToolCall = toolCall;
  }
  // Severity follows what a trainer can still use: without any assistant turn nothing trains
  // (an error); a last turn that is not the assistant's only teaches nothing itself (a warning).
  if (!complete) return;
  if (assistantTurns === 0) {
    if (unreadable) return; // the turn at fault is reported; it may be the answer
    sink.reportAt('no-assistant-turn', l10n.t('The conversation has no assistant turn: there is nothing to train on; add the assistant\'s answer.'), base);
  } else if (prev !== undefined && prev !== 'assistant') {
    sink.reportAt('last-turn-not-assistant', l10n.t('The conversation ends with a {0} turn: add the assistant\'s answer, or that last turn teaches nothing.', prev), [...base, turns.length - 1]);
  }
}

/** Everything record-level except the content scans: fields, then turns for chat formats. */
export function checkRecord(sink: RecordSink, rec: Record<string, unknown>, format: FormatId, roles?: RoleCounter): void {
  checkFields(sink, rec, format);
  if (format === 'preference') checkPreferencePair(sink, rec);
  const spec = FORMAT_SPECS[format];
  if (spec.turnsField) {
    const list = rec[spec.turnsField];
    if (Array.isArray(list)) checkTurnList(sink, list, format === 'messages' ? 'messages' : 'sharegpt', [spec.turnsField], true, roles);
  } else if (roles) {
    for (const [field, role] of FLAT_TURNS[format] ?? []) if (hasTurnText(rec[field])) roles.countRole(role);
  }
}

/**
 * The turns of a flat record, by field: a turn is counted only when its field has text, so a
 * record without an output counts no assistant turn (the lint reports the missing field).
 */
const FLAT_TURNS: Partial<Record<FormatId, readonly (readonly [field: string, role: string])[]>> = {
  text: [['text', 'assistant']],
  'input-output': [['input', 'user'], ['output', 'assistant']],
  'question-answer': [['question', 'user'], ['answer', 'assistant']],
  alpaca: [['system', 'system'], ['instruction', 'user'], ['output', 'assistant']],
  preference: [['prompt', 'user'], ['chosen', 'assistant']],
};

function hasTurnText(v: unknown): boolean {
  return typeof v === 'string' ? v.trim() !== '' : Array.isArray(v) && v.length > 0;
}

/** A pair whose answers are the same teaches the preference nothing. */
function checkPreferencePair(sink: RecordSink, rec: Record<string, unknown>): void {
  const { chosen, rejected } = rec;
  if (chosen === undefined || rejected === undefined || !sink.on('chosen-equals-rejected')) return;
  const same = typeof chosen === 'string' ? chosen === rejected : sameValue(chosen, rejected, 0);
  if (same) sink.reportAt('chosen-equals-rejected', l10n.t('The rejected answer is the same as the chosen one: the pair teaches nothing; write a worse answer or remove the record.'), ['rejected'], true);
}

/** Deep equality of parsed JSON values, bounded in depth (a record nested deeper is reported as such). */
function sameValue(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || depth > 64) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}
