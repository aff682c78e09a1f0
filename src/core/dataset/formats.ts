import * as l10n from '@vscode/l10n';
// Everything Tuner knows about the shapes of fine-tuning records lives here: which fields each
// format has, how a record's format is recognised, and how a record maps to one neutral
// conversation (and back). The linter, the converter and data preparation all read this table,
// so adding a format means editing this file only.

export type FormatId = 'input-output' | 'question-answer' | 'alpaca' | 'messages' | 'sharegpt' | 'text' | 'preference';

export const FORMATS: readonly { id: FormatId; label: string; example: string }[] = [
  { id: 'input-output', get label() { return l10n.t('Input / output'); }, example: '{"input": "What is LoRA?", "output": "A low-rank adapter method."}' },
  { id: 'question-answer', get label() { return l10n.t('Question / answer'); }, example: '{"question": "What is LoRA?", "answer": "A low-rank adapter method."}' },
  { id: 'alpaca', get label() { return l10n.t('Alpaca (instruction / input / output)'); }, example: '{"instruction": "Summarise the text.", "input": "LoRA freezes the base model...", "output": "LoRA trains small adapters."}' },
  { id: 'messages', get label() { return l10n.t('Chat messages (OpenAI)'); }, get example() { return l10n.t('{"messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'); } },
  { id: 'sharegpt', get label() { return l10n.t('ShareGPT conversations'); }, get example() { return l10n.t('{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}]}'); } },
  { id: 'text', get label() { return l10n.t('Plain text'); }, example: '{"text": "Raw pretraining text."}' },
  { id: 'preference', get label() { return l10n.t('Preference pairs (prompt / chosen / rejected)'); }, example: '{"prompt": "Say hi", "chosen": "Hello!", "rejected": "Go away."}' },
];

export const FORMAT_IDS: readonly FormatId[] = FORMATS.map((f) => f.id);

export function isFormatId(value: unknown): value is FormatId {
  return typeof value === 'string' && (FORMAT_IDS as readonly string[]).includes(value);
}

/** The JSON type a field must have; 'turns' is an array of role/content objects. */
export type FieldKind = 'string' | 'turns' | 'string-or-turns' | 'any';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** An empty string here is normal (e.g. input "" = pretraining text), so it is not flagged. */
  emptyAllowed?: boolean;
}

export interface FormatSpec {
  id: FormatId;
  fields: readonly FieldSpec[];
  /** The field holding the turn list, for the chat formats. */
  turnsField?: 'messages' | 'conversations';
}

/** Bookkeeping fields many datasets carry on every record; they never count as unexpected. */
export const COMMON_EXTRA_FIELDS: ReadonlySet<string> = new Set(['id', 'metadata', 'meta', 'source']);

export const FORMAT_SPECS: Readonly<Record<FormatId, FormatSpec>> = {
  'input-output': {
    id: 'input-output',
    fields: [
      { name: 'input', kind: 'string', required: true, emptyAllowed: true },
      { name: 'output', kind: 'string', required: true },
    ],
  },
  'question-answer': {
    id: 'question-answer',
    fields: [
      { name: 'question', kind: 'string', required: true },
      { name: 'answer', kind: 'string', required: true },
    ],
  },
  alpaca: {
    id: 'alpaca',
    fields: [
      { name: 'instruction', kind: 'string', required: true },
      { name: 'input', kind: 'string', required: false, emptyAllowed: true },
      { name: 'output', kind: 'string', required: true },
      { name: 'system', kind: 'string', required: false, emptyAllowed: true },
    ],
  },
  messages: {
    id: 'messages',
    turnsField: 'messages',
    fields: [
      { name: 'messages', kind: 'turns', required: true },
      { name: 'tools', kind: 'any', required: false },
      { name: 'parallel_tool_calls', kind: 'any', required: false },
    ],
  },
  sharegpt: {
    id: 'sharegpt',
    turnsField: 'conversations',
    fields: [
      { name: 'conversations', kind: 'turns', required: true },
      { name: 'system', kind: 'string', required: false, emptyAllowed: true },
      { name: 'tools', kind: 'any', required: false },
    ],
  },
  text: {
    id: 'text',
    fields: [{ name: 'text', kind: 'string', required: true }],
  },
  preference: {
    id: 'preference',
    fields: [
      { name: 'prompt', kind: 'string-or-turns', required: true },
      { name: 'chosen', kind: 'string-or-turns', required: true },
      { name: 'rejected', kind: 'string-or-turns', required: true },
      { name: 'system', kind: 'string', required: false, emptyAllowed: true },
    ],
  },
};

/**
 * Recognises a record's format from its keys, most specific key first, so a half-written
 * record (e.g. only "instruction") is still checked against the format it is meant to be.
 * Returns undefined when no key of any format is present.
 */
export function detectRecordFormat(record: Record<string, unknown>): FormatId | undefined {
  if (record.messages !== undefined) return 'messages';
  if (record.conversations !== undefined) return 'sharegpt';
  if (record.chosen !== undefined || record.rejected !== undefined) return 'preference';
  if (record.instruction !== undefined) return 'alpaca';
  if (record.question !== undefined || record.answer !== undefined) return 'question-answer';
  if (record.input !== undefined || record.output !== undefined) return 'input-output';
  if (record.text !== undefined) return 'text';
  if (record.prompt !== undefined) return 'preference';
  return undefined;
}

// ---- The neutral conversation every format maps to ----

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export interface Turn {
  role: Role;
  content: string;
}

/**
 * One training example as turns. `pretraining` marks raw text (format "text", or input-output
 * with an empty input): the whole text is the target, no prompt.
 */
export interface Conversation {
  turns: Turn[];
  pretraining?: boolean;
  /** For preference pairs: the rejected answer (the chosen one is the last assistant turn). */
  rejected?: string;
}

/** ShareGPT speaker names mapped onto chat roles. */
export const SHAREGPT_ROLES: Readonly<Record<string, Role>> = {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  system: 'system',
  function_call: 'assistant',
  observation: 'tool',
  tool: 'tool',
};

const ROLE_TO_SHAREGPT: Readonly<Record<Role, string>> = { system: 'system', user: 'human', assistant: 'gpt', tool: 'observation' };

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function turnsFromMessages(list: unknown): Turn[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const turns: Turn[] = [];
  for (const m of list) {
    if (m === null || typeof m !== 'object') return undefined;
    const { role, content } = m as Record<string, unknown>;
    if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') return undefined;
    const text = str(content);
    if (text === undefined) return undefined;
    turns.push({ role, content: text });
  }
  return turns;
}

function stringOrTurns(v: unknown, role: Role): Turn[] | undefined {
  if (typeof v === 'string') return [{ role, content: v }];
  return turnsFromMessages(v);
}

/**
 * Maps a record of a known format to the neutral conversation; undefined when the record does
 * not have the fields its format needs (the linter reports why).
 */
export function toConversation(record: unknown, format: FormatId): Conversation | undefined {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  switch (format) {
    case 'input-output': {
      const input = str(r.input), output = str(r.output);
      if (input === undefined || output === undefined) return undefined;
      if (input === '') return { turns: [{ role: 'assistant', content: output }], pretraining: true };
      return { turns: [{ role: 'user', content: input }, { role: 'assistant', content: output }] };
    }
    case 'question-answer': {
      const q = str(r.question), a = str(r.answer);
      if (q === undefined || a === undefined) return undefined;
      return { turns: [{ role: 'user', content: q }, { role: 'assistant', content: a }] };
    }
    case 'alpaca': {
      const instruction = str(r.instruction), output = str(r.output);
      const input = r.input === undefined ? '' : str(r.input);
      const system = r.system === undefined ? '' : str(r.system);
      if (instruction === undefined || output === undefined || input === undefined || system === undefined) return undefined;
      const prompt = input === '' ? instruction : `${instruction}\n\n${input}`;
      const turns: Turn[] = system ? [{ role: 'system', content: system }] : [];
      turns.push({ role: 'user', content: prompt }, { role: 'assistant', content: output });
      return { turns };
    }
    case 'messages': {
      const turns = turnsFromMessages(r.messages);
      return turns ? { turns } : undefined;
    }
    case 'sharegpt': {
      if (!Array.isArray(r.conversations)) return undefined;
      const turns: Turn[] = [];
      const system = r.system === undefined ? '' : str(r.system);
      if (system === undefined) return undefined;
      if (system) turns.push({ role: 'system', content: system });
      for (const c of r.conversations) {
        if (c === null || typeof c !== 'object') return undefined;
        const { from, value } = c as Record<string, unknown>;
        const role = typeof from === 'string' ? SHAREGPT_ROLES[from] : undefined;
        const text = str(value);
        if (!role || text === undefined) return undefined;
        turns.push({ role, content: text });
      }
      return { turns };
    }
    case 'text': {
      const text = str(r.text);
      return text === undefined ? undefined : { turns: [{ role: 'assistant', content: text }], pretraining: true };
    }
    case 'preference': {
      const prompt = stringOrTurns(r.prompt, 'user');
      const chosen = stringOrTurns(r.chosen, 'assistant');
      const rejected = stringOrTurns(r.rejected, 'assistant');
      const system = r.system === undefined ? '' : str(r.system);
      if (!prompt || !chosen || !rejected || system === undefined) return undefined;
      if (rejected.length !== 1 || rejected[0].role !== 'assistant') return undefined;
      const turns: Turn[] = system ? [{ role: 'system', content: system }] : [];
      turns.push(...prompt, ...chosen);
      return { turns, rejected: rejected[0].content };
    }
  }
}

function isPlainExchange(turns: Turn[]): turns is [Turn, Turn] {
  return turns.length === 2 && turns[0].role === 'user' && turns[1].role === 'assistant';
}

/**
 * Writes a conversation as a record of `format`; undefined when that format cannot hold it
 * (e.g. a multi-turn chat as question/answer, or a system prompt as input/output).
 */
export function fromConversation(conv: Conversation, format: FormatId): Record<string, unknown> | undefined {
  const { turns } = conv;
  if (conv.rejected !== undefined && format !== 'preference') return undefined;
  if (conv.pretraining) {
    const text = turns.length === 1 && turns[0].role === 'assistant' ? turns[0].content : undefined;
    if (text === undefined) return undefined;
    if (format === 'text') return { text };
    if (format === 'input-output') return { input: '', output: text };
    return undefined;
  }
  switch (format) {
    case 'input-output':
      return isPlainExchange(turns) ? { input: turns[0].content, output: turns[1].content } : undefined;
    case 'question-answer':
      return isPlainExchange(turns) ? { question: turns[0].content, answer: turns[1].content } : undefined;
    case 'alpaca': {
      const hasSystem = turns.length === 3 && turns[0].role === 'system';
      const pair = hasSystem ? turns.slice(1) : turns;
      if (!isPlainExchange(pair)) return undefined;
      // The instruction/input split is not recoverable from one prompt, so the prompt becomes
      // the instruction (converting back gives the same conversation).
      const rec: Record<string, unknown> = { instruction: pair[0].content, input: '', output: pair[1].content };
      if (hasSystem) rec.system = turns[0].content;
      return rec;
    }
    case 'messages':
      return { messages: turns.map((t) => ({ role: t.role, content: t.content })) };
    case 'sharegpt': {
      const hasSystem = turns.length > 0 && turns[0].role === 'system';
      const rest = hasSystem ? turns.slice(1) : turns;
      if (rest.some((t) => t.role === 'system')) return undefined;
      const rec: Record<string, unknown> = {};
      if (hasSystem) rec.system = turns[0].content;
      rec.conversations = rest.map((t) => ({ from: ROLE_TO_SHAREGPT[t.role], value: t.content }));
      return rec;
    }
    case 'text':
      return undefined;
    case 'preference': {
      if (conv.rejected === undefined || turns.length < 2) return undefined;
      const last = turns[turns.length - 1];
      if (last.role !== 'assistant') return undefined;
      const hasSystem = turns[0].role === 'system';
      const promptTurns = turns.slice(hasSystem ? 1 : 0, -1);
      const prompt = promptTurns.length === 1 && promptTurns[0].role === 'user'
        ? promptTurns[0].content
        : promptTurns.map((t) => ({ role: t.role, content: t.content }));
      const rec: Record<string, unknown> = { prompt, chosen: last.content, rejected: conv.rejected };
      if (hasSystem) rec.system = turns[0].content;
      return rec;
    }
  }
}
