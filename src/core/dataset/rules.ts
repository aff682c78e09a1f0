// The catalogue of lint rules. Codes are stable (users put them in settings and search for
// them); docs/lint-rules.md documents each one, and a unit test keeps the two in step.

import type { Severity } from './problem';
import * as l10n from '@vscode/l10n';

export interface RuleInfo {
  code: string;
  id: string;
  defaultSeverity: Severity | 'off';
  title: string;
  description: string;
}

export const RULES: readonly RuleInfo[] = [
  // Syntax and encoding
  { code: 'TUN101', id: 'invalid-json', defaultSeverity: 'error', get title() { return l10n.t('Invalid JSON'); }, get description() { return l10n.t('The line is not valid JSON; the range points at the first character the parser could not accept.'); } },
  { code: 'TUN102', id: 'not-object', defaultSeverity: 'error', get title() { return l10n.t('Record is not an object'); }, get description() { return l10n.t('Each line must be one JSON object ({...}); arrays, strings, numbers and null are not records.'); } },
  { code: 'TUN103', id: 'trailing-comma', defaultSeverity: 'error', get title() { return l10n.t('Trailing comma'); }, get description() { return l10n.t('A comma before } or ] makes the line invalid JSON.'); } },
  { code: 'TUN104', id: 'smart-quotes', defaultSeverity: 'error', get title() { return l10n.t('Typographic quotes instead of JSON quotes'); }, get description() { return l10n.t('Curly quotes (“ ”) were used where JSON needs straight double quotes.'); } },
  { code: 'TUN105', id: 'invalid-utf8', defaultSeverity: 'error', get title() { return l10n.t('Invalid UTF-8'); }, get description() { return l10n.t('The file contains bytes that are not valid UTF-8 (they read as �), or a � replacement character left by an earlier faulty conversion; from the editor\'s text alone, every � is reported.'); } },
  { code: 'TUN106', id: 'bom', defaultSeverity: 'warning', get title() { return l10n.t('Byte order mark'); }, get description() { return l10n.t('The file starts with a UTF-8 byte order mark, which many JSON lines readers reject.'); } },
  { code: 'TUN107', id: 'mixed-line-endings', defaultSeverity: 'warning', get title() { return l10n.t('Mixed line endings'); }, get description() { return l10n.t('Some lines end with CRLF and others with LF.'); } },
  { code: 'TUN108', id: 'blank-line', defaultSeverity: 'warning', get title() { return l10n.t('Blank line'); }, get description() { return l10n.t('An empty or whitespace-only line between records; some readers fail on it.'); } },
  { code: 'TUN109', id: 'surrounding-whitespace', defaultSeverity: 'hint', get title() { return l10n.t('Whitespace around the record'); }, get description() { return l10n.t('Spaces or tabs before or after the JSON object on a line.'); } },
  { code: 'TUN110', id: 'json-array-file', defaultSeverity: 'error', get title() { return l10n.t('JSON array instead of JSON lines'); }, get description() { return l10n.t('The file is one JSON array (or a pretty-printed object) rather than one object per line.'); } },
  { code: 'TUN111', id: 'empty-file', defaultSeverity: 'warning', get title() { return l10n.t('No records'); }, get description() { return l10n.t('The file contains no records.'); } },
  // Schema
  { code: 'TUN201', id: 'unknown-format', defaultSeverity: 'error', get title() { return l10n.t('Record matches no known format'); }, get description() { return l10n.t('The record has none of the fields of a supported format (input/output, question/answer, alpaca, messages, ShareGPT, text, preference).'); } },
  { code: 'TUN202', id: 'mixed-format', defaultSeverity: 'warning', get title() { return l10n.t('Record in a different format'); }, get description() { return l10n.t('This record is in a different format from the rest of the file (or from the format set in the settings).'); } },
  { code: 'TUN203', id: 'missing-field', defaultSeverity: 'error', get title() { return l10n.t('Missing field'); }, get description() { return l10n.t('A field the format requires is absent.'); } },
  { code: 'TUN204', id: 'unexpected-field', defaultSeverity: 'warning', get title() { return l10n.t('Unexpected field'); }, get description() { return l10n.t('A field that the format does not define; it is ignored by training.'); } },
  { code: 'TUN205', id: 'wrong-type', defaultSeverity: 'error', get title() { return l10n.t('Field has the wrong type'); }, get description() { return l10n.t('A field has a JSON type the format does not allow (e.g. a number where text is expected).'); } },
  { code: 'TUN206', id: 'empty-string', defaultSeverity: 'warning', get title() { return l10n.t('Empty text'); }, get description() { return l10n.t('A text field is empty or whitespace only, so the example teaches nothing.'); } },
  { code: 'TUN207', id: 'duplicate-key', defaultSeverity: 'warning', get title() { return l10n.t('Duplicate key'); }, get description() { return l10n.t('A key appears twice in one object; JSON readers silently keep the last value, so training sees data you may not have meant.'); } },
  { code: 'TUN208', id: 'deep-nesting', defaultSeverity: 'warning', get title() { return l10n.t('Deeply nested value'); }, get description() { return l10n.t('A field nests more than 64 levels of objects or arrays: no format has such data, so it is junk (extra fields are allowed, but not this).'); } },
  // Conversations
  { code: 'TUN301', id: 'unknown-role', defaultSeverity: 'error', get title() { return l10n.t('Unknown role'); }, get description() { return l10n.t('A turn has a role (or ShareGPT "from") that is not one of the known roles.'); } },
  { code: 'TUN302', id: 'role-order', defaultSeverity: 'warning', get title() { return l10n.t('Unusual role order'); }, get description() { return l10n.t('Turns in an order a trainer can still use but that is likely a mistake: two user or two assistant turns in a row, assistant first, a system turn after the start, or a tool result without a preceding assistant tool call.'); } },
  { code: 'TUN303', id: 'no-assistant-turn', defaultSeverity: 'error', get title() { return l10n.t('No assistant turn'); }, get description() { return l10n.t('The conversation has no assistant turn at all, so there is nothing to train on.'); } },
  { code: 'TUN304', id: 'empty-conversation', defaultSeverity: 'error', get title() { return l10n.t('Empty conversation'); }, get description() { return l10n.t('The list of turns is empty.'); } },
  { code: 'TUN305', id: 'last-turn-not-assistant', defaultSeverity: 'warning', get title() { return l10n.t('Conversation ends without an answer'); }, get description() { return l10n.t('The conversation ends with a user or tool turn: the assistant turns before it train, the last turn teaches nothing.'); } },
  // Duplicates and size
  { code: 'TUN401', id: 'duplicate-record', defaultSeverity: 'warning', get title() { return l10n.t('Duplicate record'); }, get description() { return l10n.t('The same record appears earlier in the file.'); } },
  { code: 'TUN402', id: 'near-duplicate', defaultSeverity: 'info', get title() { return l10n.t('Near-duplicate record'); }, get description() { return l10n.t('Each field of the record equals the same field of an earlier record once runs of whitespace are made one space and letters lower case (the near-duplicates setting turns the check off).'); } },
  { code: 'TUN403', id: 'record-too-long', defaultSeverity: 'warning', get title() { return l10n.t('Record too long'); }, get description() { return l10n.t('The record has more characters than the configured maximum; it will be truncated or use a lot of memory in training.'); } },
  { code: 'TUN404', id: 'chosen-equals-rejected', defaultSeverity: 'warning', get title() { return l10n.t('Chosen equals rejected'); }, get description() { return l10n.t('A preference pair whose chosen and rejected answers are the same teaches nothing.'); } },
  // Content
  { code: 'TUN501', id: 'placeholder', defaultSeverity: 'warning', get title() { return l10n.t('Placeholder left in text'); }, get description() { return l10n.t('A placeholder meant to be replaced is still in the text: the identity convention [MODEL NAME] with no model_name in ARGS.json, a template marker such as {{name}}, or one listed in the placeholders setting.'); } },
  { code: 'TUN502', id: 'html', defaultSeverity: 'info', get title() { return l10n.t('Leftover HTML'); }, get description() { return l10n.t('HTML tags or entities in the text, often left over from scraping.'); } },
  { code: 'TUN503', id: 'privacy', defaultSeverity: 'info', get title() { return l10n.t('Possible personal data'); }, get description() { return l10n.t('A URL, e-mail address or phone number: check that the data may be used for training.'); } },
  { code: 'TUN504', id: 'too-many-problems', defaultSeverity: 'info', get title() { return l10n.t('More problems not shown'); }, get description() { return l10n.t('The problem list was cut at the configured limit; the statistics still count everything.'); } },
  { code: 'TUN505', id: 'control-character', defaultSeverity: 'warning', get title() { return l10n.t('Control character in text'); }, get description() { return l10n.t('An escaped control character (\\u0000 to \\u001f other than tab, line feed and carriage return, or \\b, \\f), such as a terminal colour code, that the model would learn to produce.'); } },
  { code: 'TUN506', id: 'model-name-placeholder', defaultSeverity: 'hint', get title() { return l10n.t('Model name placeholder'); }, get description() { return l10n.t('[MODEL NAME] where ARGS.json sets model_name: preparation replaces it; the quick fix writes the name into the data now.'); } },
];

const BY_ID = new Map(RULES.map((r) => [r.id, r]));
const BY_CODE = new Map(RULES.map((r) => [r.code, r]));

export function ruleById(id: string): RuleInfo {
  const rule = BY_ID.get(id);
  if (!rule) throw new Error(l10n.t('Unknown lint rule id "{0}"', id));
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
