// Mapping source columns onto a target format's fields: a guess from the column names, which
// the user can change, applied record by record. The formats, their fields and the conversation
// every format maps to come from src/core/dataset/formats.ts; chat formats can also be built
// from separate system/user/assistant columns (through the neutral conversation) and a column
// already holding turns in the other chat layout is converted the same way.
import { COMMON_EXTRA_FIELDS, FORMAT_SPECS, detectRecordFormat, fromConversation, toConversation, type Conversation, type FormatId, type Turn } from '../../dataset/formats';
import * as l10n from '@vscode/l10n';

/** Target field (or "system"/"user"/"assistant" for chat formats) -> source column. */
export type FieldMapping = Record<string, string | undefined>;

export interface MappingPlan {
  format: FormatId;
  fields: FieldMapping;
}

export interface TargetSlot {
  name: string;
  required: boolean;
  /** A chat format's turn list may instead come from separate role columns. */
  alternativeTo?: string;
}

const ROLE_SLOTS = ['system', 'user', 'assistant'] as const;

/** The fields a user maps for `format`: its own fields (not tool/extra ones), plus role columns for chat formats. */
export function targetSlots(format: FormatId): TargetSlot[] {
  const spec = FORMAT_SPECS[format];
  const slots: TargetSlot[] = spec.fields.filter((f) => f.kind !== 'any').map((f) => ({ name: f.name, required: f.required && !spec.turnsField }));
  if (spec.turnsField) {
    for (const role of ROLE_SLOTS) if (!slots.some((s) => s.name === role)) slots.push({ name: role, required: false, alternativeTo: spec.turnsField });
  }
  return slots;
}

const OUTPUT_NAMES = ['output', 'response', 'answer', 'completion', 'target', 'reply', 'assistant'];
const PROMPT_NAMES = ['prompt', 'question', 'instruction', 'query', 'input', 'user'];
const TURN_NAMES = ['messages', 'conversations', 'conversation', 'chat', 'dialog', 'dialogue', 'turns'];

/** Column names that fit each slot, best first; a format may order them its own way. */
const SLOT_NAMES: Record<string, readonly string[]> = {
  input: ['input', ...PROMPT_NAMES, 'context'],
  output: OUTPUT_NAMES,
  question: ['question', ...PROMPT_NAMES],
  answer: ['answer', ...OUTPUT_NAMES],
  instruction: ['instruction', ...PROMPT_NAMES.filter((n) => n !== 'input')],
  text: ['text', 'content', 'body', 'document', 'article', 'passage', 'markdown'],
  prompt: PROMPT_NAMES,
  chosen: ['chosen', 'preferred', 'accepted', 'good', 'response_chosen'],
  rejected: ['rejected', 'dispreferred', 'bad', 'response_rejected'],
  system: ['system', 'system_prompt', 'systemprompt'],
  messages: TURN_NAMES,
  conversations: ['conversations', ...TURN_NAMES],
  user: PROMPT_NAMES,
  assistant: OUTPUT_NAMES,
};
const ALPACA_INPUT = ['input', 'context'];

const normalise = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** Which format the columns look like (the linter's own key detection), input/output if none. */
export function guessFormat(columns: readonly string[]): FormatId {
  const names = new Set(columns.map(normalise));
  const byKey = detectRecordFormat(Object.fromEntries([...names].map((c) => [c, true])));
  // A "prompt" column alone is a prompt, not half a preference pair.
  if (byKey && (byKey !== 'preference' || names.has('chosen') || names.has('rejected'))) return byKey;
  if (TURN_NAMES.some((n) => names.has(n))) return 'messages';
  if (OUTPUT_NAMES.some((n) => names.has(n))) return 'input-output';
  return SLOT_NAMES.text.some((n) => names.has(n)) || columns.length === 1 ? 'text' : 'input-output';
}

/** The guessed column for each slot: each column used once, the best-named match first. */
export function guessMapping(format: FormatId, columns: readonly string[]): FieldMapping {
  const byNorm = new Map(columns.map((c) => [normalise(c), c]));
  const used = new Set<string>();
  const fields: FieldMapping = {};
  const slots = targetSlots(format);
  const pick = (slot: TargetSlot) => {
    const names = format === 'alpaca' && slot.name === 'input' ? ALPACA_INPUT : SLOT_NAMES[slot.name] ?? [slot.name];
    for (const n of names) {
      const col = byNorm.get(normalise(n));
      if (col !== undefined && !used.has(col)) {
        used.add(col);
        fields[slot.name] = col;
        return;
      }
    }
  };
  // Own fields first, then the role columns only if no turn-list column was found.
  for (const slot of slots.filter((s) => !s.alternativeTo)) pick(slot);
  const turns = FORMAT_SPECS[format].turnsField;
  if (turns && fields[turns] === undefined) for (const slot of slots.filter((s) => s.alternativeTo)) pick(slot);
  // A one-column source maps onto the only required field.
  const required = slots.filter((s) => s.required);
  if (columns.length === 1 && required.length === 1 && Object.keys(fields).length === 0) fields[required[0].name] = columns[0];
  return fields;
}

export type MappedRecord = { record: Record<string, unknown> } | { reason: string };

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function describe(v: unknown): string {
  return v === null || v === undefined ? 'empty' : Array.isArray(v) ? 'a list' : `a ${typeof v}`;
}

/** A turn list in either chat layout (role/content or from/value) as turns. */
function turnsOf(v: unknown): Turn[] | undefined {
  return toConversation({ messages: v }, 'messages')?.turns ?? toConversation({ conversations: v }, 'sharegpt')?.turns;
}

/** Applies the mapping to one source record: the record in the target format, or why it cannot be. */
export function mapRecord(source: Record<string, unknown>, plan: MappingPlan): MappedRecord {
  const spec = FORMAT_SPECS[plan.format];
  const column = (slot: string) => plan.fields[slot];
  let record: Record<string, unknown> | undefined;
  const turnsColumn = spec.turnsField ? column(spec.turnsField) : undefined;
  if (spec.turnsField && turnsColumn === undefined) {
    // Chat record from role columns.
    const turns: Turn[] = [];
    for (const role of ROLE_SLOTS) {
      const col = column(role);
      if (col === undefined) continue;
      const text = asText(source[col]);
      if (text === undefined && role === 'system' && (source[col] === null || source[col] === undefined)) continue;
      if (text === undefined) return { reason: l10n.t('column "{0}" ({1}) is {2}, not text', col, role, describe(source[col])) };
      if (role !== 'system' || text !== '') turns.push({ role, content: text });
    }
    if (!turns.some((t) => t.role === 'user') || !turns.some((t) => t.role === 'assistant')) return { reason: l10n.t('map a column holding the turns ({0}) or both a user and an assistant column', spec.turnsField) };
    record = fromConversation({ turns }, plan.format);
  } else {
    record = {};
    for (const slot of targetSlots(plan.format).filter((s) => !s.alternativeTo)) {
      const col = column(slot.name);
      if (col === undefined) continue;
      const v = source[col];
      const field = spec.fields.find((f) => f.name === slot.name)!;
      if (field.kind === 'string') {
        const text = asText(v);
        if (text === undefined) {
          if ((v === null || v === undefined) && !field.required) continue;
          return { reason: l10n.t('column "{0}" ({1}) is {2}, not text', col, slot.name, describe(v)) };
        }
        record[slot.name] = text;
      } else if (field.kind === 'turns') {
        const turns = turnsOf(v);
        if (!turns) return { reason: l10n.t('column "{0}" ({1}) does not hold a list of turns with a role and a text each', col, slot.name) };
        const conv: Conversation = { turns };
        const converted = fromConversation(conv, plan.format);
        if (!converted) return { reason: l10n.t('the turns of column "{0}" do not fit {1}', col, plan.format) };
        Object.assign(record, converted);
      } else {
        record[slot.name] = typeof v === 'string' ? v : turnsOf(v)?.map((t) => ({ role: t.role, content: t.content })) ?? asText(v);
        if (record[slot.name] === undefined) return { reason: l10n.t('column "{0}" ({1}) is {2}, neither text nor turns', col, slot.name, describe(v)) };
      }
    }
  }
  if (!record) return { reason: l10n.t('the record does not fit {0}', plan.format) };
  for (const f of spec.fields) {
    if (!f.required) continue;
    if (record[f.name] === undefined) return { reason: l10n.t('no column is mapped to {0}, or it is missing', f.name) };
    if (record[f.name] === '' && !f.emptyAllowed) return { reason: l10n.t('{0} (column "{1}") is empty', f.name, String(column(f.name))) };
  }
  if (!toConversation(record, plan.format)) return { reason: l10n.t('the record does not fit {0}', plan.format) };
  // Bookkeeping columns (id, source, metadata) travel along unchanged.
  const mapped = new Set(Object.values(plan.fields));
  for (const [k, v] of Object.entries(source)) {
    if (COMMON_EXTRA_FIELDS.has(k) && !mapped.has(k) && record[k] === undefined && v !== null && v !== undefined) record[k] = v;
  }
  return { record };
}
