// Checks ARGS.json text against the field table and returns problems with positions and quick
// fixes (plain edits the editor applies as one undoable change). Every message names the field,
// what is wrong and how to fix it; nothing here throws on bad input.
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import type { Fix, Problem, Range, Severity, TextEdit } from '../dataset/problem';
import { ARGS_FIELD_NAMES, fieldDef, isArgsFieldName, type Args, type ArgsFieldName, type FieldDef } from './fields';
import { lmtunerKey, LMTUNER_KEYS, toBoolean, toNumber } from './lmtuner';
import { looksLikeSecret, SECRET_KEYS } from './secrets';
import * as l10n from '@vscode/l10n';

export const ARGS_CODES = {
  invalidJson: 'ARG001',
  notObject: 'ARG002',
  unknownKey: 'ARG101',
  lmtunerKey: 'ARG102',
  missing: 'ARG103',
  wrongType: 'ARG104',
  outOfRange: 'ARG105',
  notAllowed: 'ARG106',
  secret: 'ARG107',
  duplicate: 'ARG108',
  conflict: 'ARG201',
  ignored: 'ARG202',
} as const;

export interface ArgsCheck {
  /** The parsed object (even with problems), for hover and estimates. */
  value: Record<string, unknown> | undefined;
  /** Set when there are no errors: the object typed as Args. */
  args: Args | undefined;
  problems: Problem[];
  /** Where each top-level key and value sits, for diagnostics that later checks add. */
  locations: Map<string, { key: Range; value: Range; property: Range }>;
}

/** Maps text offsets to 0-based line / UTF-16 column (vscode.Position units). */
export class LineIndex {
  private starts: number[] = [0];
  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  position(offset: number): { line: number; col: number } {
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, col: offset - this.starts[lo] };
  }
  range(offset: number, length: number): Range {
    const a = this.position(offset), b = this.position(offset + length);
    return { line: a.line, col: a.col, endLine: b.line, endCol: b.col };
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return l10n.t('an array');
  if (typeof v === 'string') return l10n.t('the string {0}', String(JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)));
  if (typeof v === 'object') return l10n.t('an object');
  return `${typeof v} ${JSON.stringify(v)}`;
}

function expected(def: FieldDef): string {
  switch (def.kind) {
    case 'string': return 'a string';
    case 'boolean': return l10n.t('true or false');
    case 'number': return 'a number';
    case 'integer': return l10n.t('a whole number');
    case 'enum': return l10n.t('one of {0}', def.values.map((v) => JSON.stringify(v)).join(', '));
    case 'enum-array': return l10n.t('a list of {0}', def.values.map((v) => JSON.stringify(v)).join(', '));
    case 'string-array': return l10n.t('a list of {0} to {1} non-empty strings', def.minItems ?? 0, def.maxItems ?? l10n.t('any number of'));
  }
}

/** A value of the right type for `def` derived from a mistyped one ("1e-5" -> 1e-5), if obvious. */
function coerce(def: FieldDef, v: unknown): unknown {
  switch (def.kind) {
    case 'number': return toNumber(v);
    case 'integer': {
      const n = toNumber(v);
      return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
    }
    case 'boolean': return toBoolean(v);
    case 'string': return typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    case 'enum': {
      if (typeof v !== 'string') return undefined;
      const lower = v.trim().toLowerCase();
      return def.values.find((x) => x.toLowerCase() === lower);
    }
    case 'enum-array': {
      if (typeof v === 'string') {
        const parts = v.split(/[,\s]+/).filter(Boolean);
        return parts.length > 0 && parts.every((p) => def.values.includes(p)) ? parts : undefined;
      }
      return undefined;
    }
    case 'string-array': return typeof v === 'string' && v.trim() !== '' ? [v] : undefined;
  }
}

function typeOk(def: FieldDef, v: unknown): boolean {
  if (v === null) return def.nullable === true;
  switch (def.kind) {
    case 'string': return typeof v === 'string';
    case 'boolean': return typeof v === 'boolean';
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'enum': return typeof v === 'string' && def.values.includes(v);
    case 'enum-array': return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && def.values.includes(x)) && new Set(v).size === v.length;
    case 'string-array':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' && x.trim() !== '') && v.length >= (def.minItems ?? 0) && v.length <= (def.maxItems ?? Infinity);
  }
}

function rangeProblem(def: FieldDef, v: number): string | undefined {
  if (def.kind !== 'number' && def.kind !== 'integer') return undefined;
  if (def.minimum !== undefined && v < def.minimum) return l10n.t('at least {0}', def.minimum);
  if (def.maximum !== undefined && v > def.maximum) return l10n.t('at most {0}', def.maximum);
  if (def.kind === 'number' && def.exclusiveMinimum !== undefined && v <= def.exclusiveMinimum) return l10n.t('greater than {0}', def.exclusiveMinimum);
  return undefined;
}

/** Edit distance, to suggest the intended key for a typo. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

export function closestField(key: string): ArgsFieldName | undefined {
  const k = key.toLowerCase().replace(/[\s-]+/g, '_');
  let best: ArgsFieldName | undefined, bestD = Infinity;
  for (const name of ARGS_FIELD_NAMES) {
    const dd = distance(k, name);
    if (dd < bestD) [best, bestD] = [name, dd];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 4)) ? best : undefined;
}

export function validateArgsText(text: string): ArgsCheck {
  const lines = new LineIndex(text);
  const problems: Problem[] = [];
  const locations: ArgsCheck['locations'] = new Map();
  const add = (r: Range, severity: Severity, code: string, message: string, fixes?: Fix[]) => problems.push({ range: r, severity, code, message, fixes });

  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: false });
  for (const e of errors) {
    add(lines.range(e.offset, Math.max(1, e.length)), 'error', ARGS_CODES.invalidJson, l10n.t('ARGS.json is not valid JSON: {0} here. Fix the syntax; VS Code\'s JSON support marks the spot as well.', printParseErrorCode(e.error)));
  }
  if (!root || root.type !== 'object') {
    if (errors.length === 0) add(lines.range(root?.offset ?? 0, root?.length ?? 0), 'error', ARGS_CODES.notObject, l10n.t('ARGS.json must be one JSON object, e.g. {"model": "./my-model", "data": "./train.jsonl"}.'));
    return { value: undefined, args: undefined, problems, locations };
  }

  const value: Record<string, unknown> = {};
  const props = (root.children ?? []).filter((p): p is Node & { children: [Node, Node] } => p.type === 'property' && (p.children?.length ?? 0) === 2);
  // Where a fixed property goes: replacing key and value keeps the user's layout and comments.
  const propertyEdit = (p: Node, newKey: string, newValue: unknown): TextEdit => ({
    range: lines.range(p.offset, p.length),
    newText: `${JSON.stringify(newKey)}: ${JSON.stringify(newValue)}`,
  });
  const removeEdit = (p: Node): TextEdit => {
    // Remove the property with its comma so the object stays valid.
    const siblings = props;
    const i = siblings.indexOf(p as Node & { children: [Node, Node] });
    let start = p.offset, end = p.offset + p.length;
    if (i < siblings.length - 1) end = siblings[i + 1].offset;
    else if (i > 0) start = siblings[i - 1].offset + siblings[i - 1].length;
    return { range: lines.range(start, end - start), newText: '' };
  };
  const lmtunerFixEdits: TextEdit[] = [];
  const present = new Set(props.map((p) => String(p.children[0].value)));

  for (const p of props) {
    const [k, v] = p.children;
    const key = String(k.value);
    const val = nodeValue(v);
    const keyRange = lines.range(k.offset, k.length);
    const valueRange = lines.range(v.offset, v.length);
    if (locations.has(key)) {
      add(keyRange, 'error', ARGS_CODES.duplicate, l10n.t('"{0}" appears twice in ARGS.json; only the last one would count. Remove one of them.', key), [{ title: l10n.t('Remove this "{0}"', key), edits: [removeEdit(p)], preferred: true }]);
    }
    locations.set(key, { key: keyRange, value: valueRange, property: lines.range(p.offset, p.length) });
    value[key] = val;

    if (SECRET_KEYS.has(key.toLowerCase()) || (typeof val === 'string' && looksLikeSecret(val) && key !== 'chat_template')) {
      add(valueRange, 'error', ARGS_CODES.secret, l10n.t('"{0}" holds what looks like an API key or token. Secrets never go in ARGS.json (it is shared and committed): remove it; Tuner keeps keys such as the Weights & Biases key in VS Code\'s secret storage.', key), [{ title: l10n.t('Remove "{0}" from ARGS.json', key), edits: [removeEdit(p)], preferred: true }]);
      continue;
    }
    if (!isArgsFieldName(key)) {
      const old = lmtunerKey(key);
      if (old) {
        if (old.to === null) {
          const edit = removeEdit(p);
          lmtunerFixEdits.push(edit);
          add(keyRange, 'warning', ARGS_CODES.lmtunerKey, l10n.t('"{0}" is an LMTuner setting with no Tuner counterpart ({1}). Remove it.', key, String(old.note)), [{ title: l10n.t('Remove "{0}"', key), edits: [edit], preferred: true }]);
        } else {
          const converted = old.convert ? old.convert(val) : val;
          const newValue = converted === undefined ? val : converted;
          const edit = present.has(old.to) ? removeEdit(p) : propertyEdit(p, old.to, newValue);
          lmtunerFixEdits.push(edit);
          const what = present.has(old.to) ? l10n.t('; "{0}" is already set, so the fix removes this one', old.to) : converted !== undefined && JSON.stringify(converted) !== JSON.stringify(val) ? l10n.t(' with the value {0}', String(JSON.stringify(converted))) : '';
          add(keyRange, 'warning', ARGS_CODES.lmtunerKey, l10n.t('"{0}" is the LMTuner name of "{1}": rename it to "{2}"{3}.', key, old.to, old.to, what), [{ title: l10n.t('Rename "{0}" to "{1}"', key, old.to), edits: [edit], preferred: true }]);
        }
        continue;
      }
      const near = closestField(key);
      const fixes: Fix[] = near && !present.has(near) ? [{ title: l10n.t('Rename to "{0}"', near), edits: [{ range: keyRange, newText: JSON.stringify(near) }], preferred: true }] : [];
      fixes.push({ title: l10n.t('Remove "{0}"', key), edits: [removeEdit(p)] });
      add(keyRange, 'error', ARGS_CODES.unknownKey, l10n.t('Unknown key "{0}" in ARGS.json{1}', key, near ? l10n.t(': did you mean "{0}"?', near) : l10n.t('; see docs/args.md for the keys Tuner reads.')), fixes);
      continue;
    }
    checkValue(key, fieldDef(key), val, valueRange, add);
  }

  for (const name of ARGS_FIELD_NAMES) {
    if (fieldDef(name).required && !present.has(name)) {
      const lmt = Object.entries(LMTUNER_KEYS).some(([, m]) => m.to === name && props.some((p) => lmtunerKey(String(p.children[0].value))?.to === name));
      if (lmt) continue;
      add(lines.range(root.offset, 1), 'error', ARGS_CODES.missing, l10n.t('ARGS.json needs "{0}": {1}', name, fieldDef(name).description));
    }
  }
  checkCombinations(value, locations, add, lines.range(root.offset, 1));
  if (lmtunerFixEdits.length > 1) {
    for (const p of problems) {
      if (p.code === ARGS_CODES.lmtunerKey) p.fixes?.push({ title: l10n.t('Convert every LMTuner key to Tuner\'s names'), edits: lmtunerFixEdits });
    }
  }
  const hasError = problems.some((p) => p.severity === 'error');
  return { value, args: hasError ? undefined : (value as unknown as Args), problems, locations };
}

function nodeValue(n: Node): unknown {
  switch (n.type) {
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const p of n.children ?? []) if (p.children?.length === 2) o[String(p.children[0].value)] = nodeValue(p.children[1]);
      return o;
    }
    case 'array': return (n.children ?? []).map(nodeValue);
    default: return n.value;
  }
}

type Add = (r: Range, severity: Severity, code: string, message: string, fixes?: Fix[]) => void;

function checkValue(key: ArgsFieldName, def: FieldDef, val: unknown, r: Range, add: Add): void {
  if (!typeOk(def, val)) {
    const fixed = coerce(def, val) ?? (lmtunerKey(key)?.convert?.(val));
    const fixes: Fix[] = fixed !== undefined && typeOk(def, fixed) ? [{ title: l10n.t('Change to {0}', String(JSON.stringify(fixed))), edits: [{ range: r, newText: JSON.stringify(fixed) }], preferred: true }] : [];
    const code = def.kind === 'enum' && typeof val === 'string' ? ARGS_CODES.notAllowed : ARGS_CODES.wrongType;
    add(r, 'error', code, l10n.t('"{0}" must be {1}{2}, not {3}{4}.', key, expected(def), def.nullable ? l10n.t(' or null') : '', describe(val), fixes.length ? `: use ${JSON.stringify(fixed)}` : ''), fixes);
    return;
  }
  if (typeof val === 'number') {
    const bound = rangeProblem(def, val);
    if (bound) add(r, 'error', ARGS_CODES.outOfRange, l10n.t('"{0}" must be {1}, not {2}.', key, bound, val));
  }
}

function checkCombinations(v: Record<string, unknown>, loc: ArgsCheck['locations'], add: Add, top: Range): void {
  const at = (k: string) => loc.get(k)?.key ?? top;
  if (v.epochs !== undefined && v.max_steps !== undefined) {
    add(at('max_steps'), 'error', ARGS_CODES.conflict, l10n.t('Set either "epochs" or "max_steps", not both: max_steps decides when training stops, so remove "epochs".'));
  }
  const method = v.method ?? 'lora';
  if (method === 'qlora' && v.quantization !== undefined && v.quantization !== 'int4' && v.quantization !== 'nf4' && v.quantization !== 'int8') {
    add(loc.get('quantization')?.value ?? top, 'error', ARGS_CODES.conflict, l10n.t('method "qlora" trains adapters on a quantized base: "quantization" must be "nf4", "int8" or "int4", not {0}.', String(JSON.stringify(v.quantization))), loc.get('quantization') ? [{ title: l10n.t('Use "nf4"'), edits: [{ range: loc.get('quantization')!.value, newText: '"nf4"' }], preferred: true }] : undefined);
  }
  if ((method === 'full' || method === 'lomo') && typeof v.quantization === 'string' && v.quantization !== 'none') {
    add(loc.get('quantization')?.value ?? top, 'error', ARGS_CODES.conflict, l10n.t('method "{0}" updates every weight, which cannot be stored quantized: set "quantization" to "none" or use method "qlora".', method));
  }
  if (method === 'lomo' && typeof v.gradient_accumulation === 'number' && v.gradient_accumulation > 1) {
    const r = loc.get('gradient_accumulation')?.value;
    add(r ?? top, 'error', ARGS_CODES.conflict, l10n.t('method "lomo" updates every weight during backward, so there is no gradient to accumulate: set "gradient_accumulation" to 1 (raise "batch_size" instead).'), r ? [{ title: l10n.t('Set gradient_accumulation to 1'), edits: [{ range: r, newText: '1' }], preferred: true }] : undefined);
  }
  if (method === 'full' || method === 'lomo') {
    for (const k of ['lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target_modules']) {
      if (v[k] !== undefined) add(at(k), 'warning', ARGS_CODES.ignored, l10n.t('"{0}" is ignored with method "{1}" (no adapters): remove it or use method "lora".', k, method));
    }
  }
  if (v.eval_data !== undefined && typeof v.eval_split === 'number' && v.eval_split > 0) {
    add(at('eval_split'), 'warning', ARGS_CODES.ignored, l10n.t('"eval_split" is ignored because "eval_data" is given.'));
  }
  if (v.stage === 'dpo' && v.packing === true) {
    add(at('packing'), 'error', ARGS_CODES.conflict, l10n.t('"packing" joins records into one sequence, but stage "dpo" scores each answer as a sequence of its own: set "packing" to false.'));
  }
  if (v.pref_beta !== undefined && v.stage !== 'dpo') {
    add(at('pref_beta'), 'warning', ARGS_CODES.ignored, l10n.t('"pref_beta" is ignored unless "stage" is "dpo" (preference pairs): remove it or set "stage" to "dpo".'));
  }
  const sampling = typeof v.sample_interval === 'number' && v.sample_interval > 0;
  if (sampling && v.sample_prompts === undefined) {
    add(at('sample_interval'), 'error', ARGS_CODES.conflict, l10n.t('"sample_interval" is set but "sample_prompts" is not: list the prompts to answer, e.g. ["What is the capital of France?"], or set "sample_interval" to 0.'));
  }
  if (!sampling && v.sample_prompts !== undefined) {
    add(at('sample_prompts'), 'warning', ARGS_CODES.ignored, l10n.t('"sample_prompts" is ignored while "sample_interval" is 0: set it to the steps between samples, e.g. 50.'));
  }
  if (v.rope_scaling !== undefined && v.rope_scaling !== 'none' && v.rope_scaling !== 'xpos' && v.rope_scaling_factor === undefined) {
    add(at('rope_scaling'), 'warning', ARGS_CODES.conflict, l10n.t('"rope_scaling" is "{0}" but "rope_scaling_factor" is not set (1 = no extension): set it, e.g. 2 to double the context.', String(v.rope_scaling)));
  }
}
