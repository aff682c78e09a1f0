// Arrow IPC files and streams through apache-arrow's RecordBatchReader, one record batch at a
// time from an open file handle (the datasets library caches its tables as Arrow streams).
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import type { SourceRecord } from '../records';
import { ImportError, throwIfAborted, toPlainJson, type ReadOptions } from './source';
import * as l10n from '@vscode/l10n';

export async function* readArrow(file: string, options: ReadOptions, firstRow = 1): AsyncGenerator<SourceRecord, void, undefined> {
  const name = path.basename(file);
  const handle = await open(file, 'r');
  const size = (await handle.stat()).size || 1;
  let row = firstRow - 1;
  let batchNumber = 0;
  try {
    let reader;
    try {
      reader = await RecordBatchReader.from(handle);
      await reader.open();
    } catch (e) {
      throw new ImportError(l10n.t('{0}: not an Arrow IPC file or stream ({1})', name, (e as Error).message));
    }
    const batches = reader[Symbol.asyncIterator]();
    for (;;) {
      throwIfAborted(options.signal);
      let next;
      try {
        next = await batches.next();
      } catch (e) {
        throw new ImportError(l10n.t('{0} record batch {1} (after row {2}): cannot be read ({3}); the file is damaged or cut short', name, batchNumber + 1, row, (e as Error).message));
      }
      if (next.done) break;
      batchNumber++;
      const batch = next.value;
      const names = batch.schema.fields.map((f) => f.name);
      const columns = names.map((_, c) => batch.getChildAt(c));
      for (let i = 0; i < batch.numRows; i++) {
        const value: Record<string, unknown> = {};
        names.forEach((n, c) => { value[n] = toPlainJson(columns[c]?.get(i)); });
        yield { file: name, row: ++row, value };
      }
      const position = (handle as unknown as { position?: number }).position;
      options.onProgress?.(position ? position / size : 0);
    }
  } finally {
    await handle.close();
  }
}

/** Rows in an Arrow file or stream, counted batch by batch (for listings without dataset_info.json). */
export async function countArrowRows(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const reader = await RecordBatchReader.from(handle);
    let rows = 0;
    for await (const batch of reader) rows += batch.numRows;
    return rows;
  } finally {
    await handle.close();
  }
}
