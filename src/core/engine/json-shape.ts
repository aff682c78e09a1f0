// A small checker for the shape of parsed JSON messages: field tables with required and
// optional fields, enumerations, arrays, nested and tagged objects. Unknown fields are
// mismatches, so a typo is reported instead of silently becoming a default. Each mismatch
// names the path that failed ("\"generate\" request.sampling.top_k should be ...").

import * as l10n from '@vscode/l10n';
export type Shape =
  | 'string'
  | 'nonempty'
  | 'number'
  | 'count'
  | 'boolean'
  | { oneOf: readonly string[]; code?: string }
  | { array: Shape }
  | { object: Fields }
  /** An object whose "type" field picks its fields. */
  | { tagged: Record<string, Fields> }
  | { nullable: Shape };
export type Fields = Record<string, { shape: Shape; optional?: boolean }>;

export const req = (shape: Shape) => ({ shape });
export const opt = (shape: Shape) => ({ shape, optional: true });
export const orNull = (shape: Shape): Shape => ({ nullable: shape });

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function describe(shape: Shape): string {
  if (typeof shape === 'string') return shape === 'count' ? l10n.t('a non-negative integer') : shape === 'nonempty' ? l10n.t('a non-empty string') : `a ${shape}`;
  if ('oneOf' in shape) return l10n.t('one of {0}', shape.oneOf.map((s) => JSON.stringify(s)).join(', '));
  if ('array' in shape) return l10n.t('an array of {0}', describe(shape.array));
  if ('nullable' in shape) return l10n.t('{0} or null', describe(shape.nullable));
  if ('tagged' in shape) return l10n.t('an object with "type" {0}', Object.keys(shape.tagged).map((t) => JSON.stringify(t)).join(' or '));
  return l10n.t('an object');
}

export interface Mismatch {
  message: string;
  code?: string;
}

function got(v: unknown): string {
  return JSON.stringify(v)?.slice(0, 80) ?? 'nothing';
}

/** Null when `v` has the shape, else why not (naming the path that failed). */
export function mismatch(v: unknown, shape: Shape, where: string): Mismatch | null {
  if (typeof shape === 'string') {
    const ok =
      shape === 'nonempty' ? typeof v === 'string' && v !== ''
      : shape === 'number' ? typeof v === 'number' && Number.isFinite(v)
      : shape === 'count' ? Number.isSafeInteger(v) && (v as number) >= 0
      : kindOf(v) === shape;
    return ok ? null : { message: l10n.t('{0} should be {1}, got {2}', where, describe(shape), got(v)) };
  }
  if ('oneOf' in shape) {
    return typeof v === 'string' && shape.oneOf.includes(v) ? null : { message: l10n.t('{0} should be {1}, got {2}', where, describe(shape), got(v)), code: shape.code };
  }
  if ('nullable' in shape) return v === null ? null : mismatch(v, shape.nullable, where);
  if ('array' in shape) {
    if (!Array.isArray(v)) return { message: l10n.t('{0} should be {1}, got {2}', where, describe(shape), got(v)) };
    for (let i = 0; i < v.length; i++) {
      const m = mismatch(v[i], shape.array, `${where}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if ('tagged' in shape) {
    const type = kindOf(v) === 'object' ? (v as Record<string, unknown>).type : undefined;
    if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(shape.tagged, type)) {
      return { message: l10n.t('{0} should be {1}, got {2}', where, describe(shape), got(v)) };
    }
    return fieldsMismatch(v, shape.tagged[type], where, ['type']);
  }
  return fieldsMismatch(v, shape.object, where);
}

/** Checks an object's fields against the table; `checked` keys (the message's "version", a tagged object's "type") are the caller's. */
export function fieldsMismatch(v: unknown, fields: Fields, where: string, checked: readonly string[] = []): Mismatch | null {
  if (kindOf(v) !== 'object') return { message: l10n.t('{0} should be an object, got {1}', where, got(v)) };
  const obj = v as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (checked.includes(key) || Object.prototype.hasOwnProperty.call(fields, key)) continue;
    return { message: l10n.t('{0}: unknown field "{1}" (known: {2})', where, key, Object.keys(fields).join(', ') || 'none') };
  }
  for (const [key, f] of Object.entries(fields)) {
    if (obj[key] === undefined) {
      if (f.optional) continue;
      return { message: l10n.t('{0}: field "{1}" is missing; it should be {2}', where, key, describe(f.shape)) };
    }
    const m = mismatch(obj[key], f.shape, `${where}.${key}`);
    if (m) return m;
  }
  return null;
}

