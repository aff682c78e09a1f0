// Where a record's text is, by format (formats.ts's field table): the cleaning steps rewrite
// exactly the strings a model is trained on (prompts, answers, turn contents), never ids,
// metadata, roles or tool definitions.
import { FORMAT_SPECS, type FormatId } from '../../dataset/formats';

type Rec = Record<string, unknown>;

function mapTurns(list: unknown, key: 'content' | 'value', fn: (s: string) => string): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((t) => {
    if (t === null || typeof t !== 'object' || typeof (t as Rec)[key] !== 'string') return t;
    return { ...(t as Rec), [key]: fn((t as Rec)[key] as string) };
  });
}

/** A copy of the record with `fn` applied to every trained text field; other fields are shared. */
export function mapRecordText(record: Rec, format: FormatId, fn: (s: string) => string): Rec {
  const spec = FORMAT_SPECS[format];
  const out: Rec = { ...record };
  const turnKey = format === 'sharegpt' ? 'value' : 'content';
  for (const f of spec.fields) {
    const v = record[f.name];
    if (f.kind === 'any' || v === undefined) continue;
    if (typeof v === 'string' && f.kind !== 'turns') out[f.name] = fn(v);
    else if (f.kind !== 'string') out[f.name] = mapTurns(v, turnKey, fn);
  }
  return out;
}

/** The trained text fields of a record, in field order. */
export function recordTexts(record: Rec, format: FormatId): string[] {
  const texts: string[] = [];
  mapRecordText(record, format, (s) => {
    texts.push(s);
    return s;
  });
  return texts;
}

/** The record's source for a stratified split: "source", else metadata.source / meta.source; '' when none. */
export function recordSource(record: Rec): string {
  if (typeof record.source === 'string') return record.source;
  for (const k of ['metadata', 'meta']) {
    const m = record[k];
    if (m && typeof m === 'object' && typeof (m as Rec).source === 'string') return (m as Rec).source as string;
  }
  return '';
}
