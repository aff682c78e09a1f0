// Parquet through hyparquet, one row group at a time. The file is an AsyncBuffer that reads the
// byte ranges hyparquet asks for from an open file handle (the footer, then each row group's
// column chunks), so memory holds one row group, never the whole file. Compressed pages
// (zstd, gzip, brotli, lz4, snappy) are decoded by hyparquet-compressors.
import { open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { SourceRecord } from '../records';
import { ImportError, throwIfAborted, toPlainJson, type ReadOptions } from './source';
import * as l10n from '@vscode/l10n';

/** An AsyncBuffer over an open file: each slice is one positioned read. */
export function fileRangeBuffer(handle: FileHandle, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? byteLength, byteLength);
      const out = new Uint8Array(Math.max(0, stop - start));
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.buffer;
    },
  };
}

export interface ParquetInfo {
  rows: number;
  rowGroups: number;
  columns: string[];
  /** The key-value metadata of the schema (the datasets library writes its features under "huggingface"). */
  keyValue: Record<string, string>;
}

/** Opens a Parquet file and reads its footer; the caller closes the handle. */
async function openParquet(file: string): Promise<{ handle: FileHandle; buffer: AsyncBuffer; metadata: FileMetaData }> {
  const handle = await open(file, 'r');
  try {
    const buffer = fileRangeBuffer(handle, (await handle.stat()).size);
    return { handle, buffer, metadata: await parquetMetadataAsync(buffer) };
  } catch (e) {
    await handle.close();
    throw new ImportError(l10n.t('{0}: not a readable Parquet file ({1}); a file cut short (an interrupted download or copy) loses its footer: download or copy it again', path.basename(file), (e as Error).message));
  }
}

export async function parquetInfo(file: string): Promise<ParquetInfo> {
  const { handle, metadata } = await openParquet(file);
  await handle.close();
  return {
    rows: Number(metadata.num_rows),
    rowGroups: metadata.row_groups.length,
    columns: parquetSchema(metadata).children.map((c) => c.element.name),
    keyValue: Object.fromEntries((metadata.key_value_metadata ?? []).map((kv) => [kv.key, kv.value ?? ''])),
  };
}

export async function* readParquet(file: string, options: ReadOptions): AsyncGenerator<SourceRecord, void, undefined> {
  const name = path.basename(file);
  const { handle, buffer, metadata } = await openParquet(file);
  try {
    const total = Number(metadata.num_rows) || 1;
    let rowStart = 0;
    for (const [g, group] of metadata.row_groups.entries()) {
      throwIfAborted(options.signal);
      const rowEnd = rowStart + Number(group.num_rows);
      let rows: Record<string, unknown>[];
      try {
        rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd, compressors });
      } catch (e) {
        throw new ImportError(l10n.t('{0} row group {1} (rows {2}-{3}): cannot be read ({4}); the file is damaged or cut short: download or copy it again', name, g + 1, rowStart + 1, rowEnd, (e as Error).message));
      }
      for (let i = 0; i < rows.length; i++) {
        const value: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(rows[i])) value[k] = toPlainJson(v);
        yield { file: name, row: rowStart + i + 1, value };
      }
      rowStart = rowEnd;
      options.onProgress?.(rowStart / total);
    }
  } finally {
    await handle.close();
  }
}
