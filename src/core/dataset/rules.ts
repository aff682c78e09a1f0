// The catalogue of lint rules. Codes are stable (users put them in settings and search for
// them); docs/lint-rules.md documents each one, and a unit test keeps the two in step.

import type { Severity } from './problem';

export interface RuleInfo {
  code: string;
  id: string;
  defaultSeverity: Severity | 'off';
  title: string;
  description: string;
}

export const RULES: readonly RuleInfo[] = [
  // Syntax and encoding
  { code: 'TUN101', id: 'invalid-json', defaultSeverity: 'error', title: 'Invalid JSON', description: 'The line is not valid JSON; the range points at the first character the parser could not accept.' },
  { code: 'TUN102', id: 'not-object', defaultSeverity: 'error', title: 'Record is not an object', description: 'Each line must be one JSON object ({...}); arrays, strings, numbers and null are not records.' },
  { code: 'TUN103', id: 'trailing-comma', defaultSeverity: 'error', title: 'Trailing comma', description: 'A comma before } or ] makes the line invalid JSON.' },
  { code: 'TUN104', id: 'smart-quotes', defaultSeverity: 'error', title: 'Typographic quotes instead of JSON quotes', description: 'Curly quotes (\u201c \u201d) were used where JSON needs straight double quotes.' },
  { code: 'TUN105', id: 'invalid-utf8', defaultSeverity: 'error', title: 'Invalid UTF-8', description: 'The file contains bytes that are not valid UTF-8 (they read as \uFFFD), or a \uFFFD replacement character left by an earlier faulty conversion; from the editor\'s text alone, every \uFFFD is reported.' },
  { code: 'TUN106', id: 'bom', defaultSeverity: 'warning', title: 'Byte order mark', description: 'The file starts with a UTF-8 byte order mark, which many JSON lines readers reject.' },
  { code: 'TUN107', id: 'mixed-line-endings', defaultSeverity: 'warning', title: 'Mixed line endings', description: 'Some lines end with CRLF and others with LF.' },
  { code: 'TUN108', id: 'blank-line', defaultSeverity: 'warning', title: 'Blank line', description: 'An empty or whitespace-only line between records; some readers fail on it.' },
  { code: 'TUN109', id: 'surrounding-whitespace', defaultSeverity: 'hint', title: 'Whitespace around the record', description: 'Spaces or tabs before or after the JSON object on a line.' },
  { code: 'TUN110', id: 'json-array-file', defaultSeverity: 'error', title: 'JSON array instead of JSON lines', description: 'The file is one JSON array (or a pretty-printed object) rather than one object per line.' },
  { code: 'TUN111', id: 'empty-file', defaultSeverity: 'warning', title: 'No records', description: 'The file contains no records.' },
  // Schema
  { code: 'TUN201', id: 'unknown-format', defaultSeverity: 'error', title: 'Record matches no known format', description: 'The record has none of the fields of a supported format (input/output, question/answer, alpaca, messages, ShareGPT, text, preference).' },
  { code: 'TUN202', id: 'mixed-format', defaultSeverity: 'warning', title: 'Record in a different format', description: 'This record is in a different format from the rest of the file (or from the format set in the settings).' },
  { code: 'TUN203', id: 'missing-field', defaultSeverity: 'error', title: 'Missing field', description: 'A field the format requires is absent.' },
  { code: 'TUN204', id: 'unexpected-field', defaultSeverity: 'warning', title: 'Unexpected field', description: 'A field that the format does not define; it is ignored by training.' },
  { code: 'TUN205', id: 'wrong-type', defaultSeverity: 'error', title: 'Field has the wrong type', description: 'A field has a JSON type the format does not allow (e.g. a number where text is expected).' },
  { code: 'TUN206', id: 'empty-string', defaultSeverity: 'warning', title: 'Empty text', description: 'A text field is empty or whitespace only, so the example teaches nothing.' },
  { code: 'TUN207', id: 'duplicate-key', defaultSeverity: 'warning', title: 'Duplicate key', description: 'A key appears twice in one object; JSON readers silently keep the last value, so training sees data you may not have meant.' },
  { code: 'TUN208', id: 'deep-nesting', defaultSeverity: 'warning', title: 'Deeply nested value', description: 'A field nests more than 64 levels of objects or arrays: no format has such data, so it is junk (extra fields are allowed, but not this).' },
  // Conversations
  { code: 'TUN301', id: 'unknown-role', defaultSeverity: 'error', title: 'Unknown role', description: 'A turn has a role (or ShareGPT "from") that is not one of the known roles.' },
  { code: 'TUN302', id: 'role-order', defaultSeverity: 'warning', title: 'Unusual role order', description: 'Turns in an order a trainer can still use but that is likely a mistake: two user or two assistant turns in a row, assistant first, a system turn after the start, or a tool result without a preceding assistant tool call.' },
  { code: 'TUN303', id: 'no-assistant-turn', defaultSeverity: 'error', title: 'No assistant turn', description: 'The conversation has no assistant turn at all, so there is nothing to train on.' },
  { code: 'TUN304', id: 'empty-conversation', defaultSeverity: 'error', title: 'Empty conversation', description: 'The list of turns is empty.' },
  { code: 'TUN305', id: 'last-turn-not-assistant', defaultSeverity: 'warning', title: 'Conversation ends without an answer', description: 'The conversation ends with a user or tool turn: the assistant turns before it train, the last turn teaches nothing.' },
  // Duplicates and size
  { code: 'TUN401', id: 'duplicate-record', defaultSeverity: 'warning', title: 'Duplicate record', description: 'The same record appears earlier in the file.' },
  { code: 'TUN402', id: 'near-duplicate', defaultSeverity: 'info', title: 'Near-duplicate record', description: 'Each field of the record equals the same field of an earlier record once runs of whitespace are made one space and letters lower case (the near-duplicates setting turns the check off).' },
  { code: 'TUN403', id: 'record-too-long', defaultSeverity: 'warning', title: 'Record too long', description: 'The record has more characters than the configured maximum; it will be truncated or use a lot of memory in training.' },
  { code: 'TUN404', id: 'chosen-equals-rejected', defaultSeverity: 'warning', title: 'Chosen equals rejected', description: 'A preference pair whose chosen and rejected answers are the same teaches nothing.' },
  // Content
  { code: 'TUN501', id: 'placeholder', defaultSeverity: 'warning', title: 'Placeholder left in text', description: 'A placeholder meant to be replaced is still in the text: the identity convention [MODEL NAME] with no model_name in ARGS.json, a template marker such as {{name}}, or one listed in the placeholders setting.' },
  { code: 'TUN502', id: 'html', defaultSeverity: 'info', title: 'Leftover HTML', description: 'HTML tags or entities in the text, often left over from scraping.' },
  { code: 'TUN503', id: 'privacy', defaultSeverity: 'info', title: 'Possible personal data', description: 'A URL, e-mail address or phone number: check that the data may be used for training.' },
  { code: 'TUN504', id: 'too-many-problems', defaultSeverity: 'info', title: 'More problems not shown', description: 'The problem list was cut at the configured limit; the statistics still count everything.' },
  { code: 'TUN505', id: 'control-character', defaultSeverity: 'warning', title: 'Control character in text', description: 'An escaped control character (\\u0000 to \\u001f other than tab, line feed and carriage return, or \\b, \\f), such as a terminal colour code, that the model would learn to produce.' },
  { code: 'TUN506', id: 'model-name-placeholder', defaultSeverity: 'hint', title: 'Model name placeholder', description: '[MODEL NAME] where ARGS.json sets model_name: preparation replaces it; the quick fix writes the name into the data now.' },
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));
const BY_CODE = new Map(RULES.map((r) => [r.code, r]));

export function ruleById(id: string): RuleInfo {
  const rule = BY_ID.get(id);
  if (!rule) throw new Error(`Unknown lint rule id "${id}"`);
  return rule;
}

export function ruleByCode(code: string): RuleInfo | undefined {
  return BY_CODE.get(code);
}

/** Rule id → effective severity, from defaults overridden by settings keyed by id or code. */
export function resolveSeverities(overrides?: Record<string, Severity | 'off'>): Map<string, Severity | 'off'> {
  const out = new Map<string, Severity | 'off'>();
  for (const r of RULES) out.set(r.id, r.defaultSeverity);
  if (overrides) {
    for (const [key, sev] of Object.entries(overrides)) {
      const rule = BY_ID.get(key) ?? BY_CODE.get(key);
      if (rule) out.set(rule.id, sev);
    }
  }
  return out;
}
