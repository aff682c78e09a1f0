// One JSONL record to the neutral conversation preparation renders: format detection and
// mapping come from formats.ts; here the identity placeholders are filled in and records that
// cannot be trained on get a reason naming the field.
import { detectRecordFormat, FORMAT_SPECS, toConversation, type Conversation, type FormatId } from './formats';
import * as l10n from '@vscode/l10n';

/** Placeholders replaced by ARGS "model_name" (the LMTuner paper's identity data uses the first). */
export const DEFAULT_IDENTITY_PLACEHOLDERS: readonly string[] = ['[MODEL NAME]', '[MODEL_NAME]', '<MODEL_NAME>'];

export interface ConversationOptions {
  /** Forced format; undefined or 'auto' detects each record's format. */
  format?: FormatId | 'auto';
  modelName?: string;
  placeholders?: readonly string[];
}

export type RecordResult = { ok: true; conversation: Conversation; format: FormatId } | { ok: false; reason: string };

export function replacePlaceholders(text: string, name: string | undefined, placeholders: readonly string[]): string {
  if (!name) return text;
  let out = text;
  for (const p of placeholders) if (out.includes(p)) out = out.split(p).join(name);
  return out;
}

function describeFields(format: FormatId): string {
  return FORMAT_SPECS[format].fields.filter((f) => f.required).map((f) => `"${f.name}"`).join(' and ');
}

/** Parses one JSONL line into a conversation, or a reason it cannot be trained on. */
export function recordToConversation(line: string, opts: ConversationOptions = {}): RecordResult {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (e) {
    return { ok: false, reason: l10n.t('not valid JSON ({0}); run "Tuner: Lint Dataset Now" to see and fix it', (e as Error).message) };
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return { ok: false, reason: l10n.t('not a JSON object') };
  const format = opts.format && opts.format !== 'auto' ? opts.format : detectRecordFormat(record as Record<string, unknown>);
  if (!format) return { ok: false, reason: l10n.t('matches no known format (no "messages", "conversations", "instruction", "input"/"output", "question"/"answer" or "text" field)') };
  const conv = toConversation(record, format);
  if (!conv) return { ok: false, reason: l10n.t('is not a valid {0} record: it needs {1} with the documented types', format, describeFields(format)) };
  if (conv.turns.length === 0) return { ok: false, reason: l10n.t('has an empty conversation') };
  if (!conv.pretraining && !conv.turns.some((t) => t.role === 'assistant')) return { ok: false, reason: l10n.t('has no assistant turn, so there is nothing to train on') };
  const placeholders = opts.placeholders ?? DEFAULT_IDENTITY_PLACEHOLDERS;
  if (opts.modelName) {
    for (const t of conv.turns) t.content = replacePlaceholders(t.content, opts.modelName, placeholders);
  }
  return { ok: true, conversation: conv, format };
}
