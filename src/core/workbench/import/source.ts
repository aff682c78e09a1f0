// What every importer gives the import pipeline: the records of one source, read lazily with
// bounded memory, plus the rows it could not read (with the reason) and how far it has got.
import type { SetAsideRecord, SourceRecord } from '../records';
import * as l10n from '@vscode/l10n';

export interface ReadOptions {
  /** A row that could not be read: it goes to the side file, never silently away. */
  onSkip(row: SetAsideRecord): void;
  /** Fraction of the source read so far (bytes, rows or files), 0..1. */
  onProgress?(fraction: number): void;
  signal?: AbortSignal;
}

/** Reads one source; records come one by one, each with its file and row. */
export type RecordReader = (options: ReadOptions) => AsyncGenerator<SourceRecord, void, undefined>;

/** A failure that stops the whole import (unreadable file, wrong password, cut-short file). */
export class ImportError extends Error {
  override name = 'ImportError';
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const e = new Error(l10n.t('import cancelled'));
    e.name = 'AbortError';
    throw e;
  }
}

/**
 * Turns a value from a columnar file into plain JSON: 64-bit integers become numbers when exact
 * (strings otherwise), dates ISO strings, bytes base64, nested rows and lists plain objects.
 */
export function toPlainJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, toPlainJson);
  if (Array.isArray(v)) return v.map(toPlainJson);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function' && !(Symbol.iterator in v)) return toPlainJson((v as { toJSON(): unknown }).toJSON());
  if (Symbol.iterator in v && typeof (v as { toArray?: unknown }).toArray === 'function') return toPlainJson((v as unknown as { toArray(): unknown }).toArray());
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = toPlainJson(x);
  return out;
}
