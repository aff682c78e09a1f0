// CSV and TSV through papaparse, streamed: the file is read in chunks, each chunk's rows are
// handed out before the next is parsed (pause/resume), so memory stays at one chunk. The header
// row names the fields. A row papaparse cannot read whole (a quote never closed, too few or too
// many fields) is set aside with "file row N: why" and the import goes on.
import { createReadStream, statSync } from 'node:fs';
import * as path from 'node:path';
import Papa from 'papaparse';
import type { SourceRecord } from '../records';
import { throwIfAborted, type ReadOptions } from './source';
import * as l10n from '@vscode/l10n';

export interface CsvOptions {
  /** Field separator; by default tab for .tsv/.tab files and guessed otherwise. */
  delimiter?: string;
}

function describeError(e: Papa.ParseError): string {
  switch (e.code) {
    case 'TooFewFields': return l10n.t('{0}: a field is missing (check the separators of this row)', e.message);
    case 'TooManyFields': return l10n.t('{0}: a value holds the separator without quotes around it (quote the value)', e.message);
    case 'MissingQuotes': return l10n.t('{0}: a quoted value is never closed (add the closing " or double the " inside the value)', e.message);
    case 'InvalidQuotes': return l10n.t('{0}: a quote inside a quoted value is not doubled (write "" for a literal quote)', e.message);
    default: return e.message;
  }
}

export function csvDelimiterFor(file: string): string | undefined {
  return /\.(tsv|tab)$/i.test(file) ? '\t' : undefined;
}

export async function* readCsv(file: string, options: ReadOptions, csv: CsvOptions = {}): AsyncGenerator<SourceRecord, void, undefined> {
  const name = path.basename(file);
  const size = statSync(file).size || 1;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
  type Chunk = { rows: Record<string, unknown>[]; errors: Papa.ParseError[] };
  const queue: Chunk[] = [];
  let parser: Papa.Parser | undefined;
  let done = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => { const w = wake; wake = undefined; w?.(); };
  Papa.parse<Record<string, unknown>>(stream as unknown as File, {
    header: true,
    delimiter: csv.delimiter ?? csvDelimiterFor(file) ?? '',
    skipEmptyLines: 'greedy',
    transformHeader: (h) => h.replace(/^\uFEFF/, '').trim(),
    chunk: (results, p) => {
      parser = p;
      queue.push({ rows: results.data, errors: results.errors });
      p.pause();
      notify();
    },
    complete: () => { done = true; notify(); },
    error: (e: Error) => { failure = e; done = true; notify(); },
  });
  let row = 1; // the header is row 1, as a spreadsheet counts
  try {
    for (;;) {
      throwIfAborted(options.signal);
      const chunk = queue.shift();
      if (!chunk) {
        if (failure) throw new Error(`${name}: ${failure.message}`);
        if (done) return;
        // Resuming may hand over the next chunk at once: listen before resuming.
        await new Promise<void>((resolve) => {
          wake = resolve;
          parser?.resume();
        });
        continue;
      }
      const errorsByRow = new Map<number, Papa.ParseError[]>();
      for (const e of chunk.errors) {
        if (e.row !== undefined) errorsByRow.set(e.row, [...(errorsByRow.get(e.row) ?? []), e]);
      }
      for (let i = 0; i < chunk.rows.length; i++) {
        row++;
        const value = chunk.rows[i];
        const errs = errorsByRow.get(i);
        if (errs) options.onSkip({ file: name, row, reason: `${name} row ${row}: ${errs.map(describeError).join('; ')}`, value });
        else yield { file: name, row, value };
      }
      options.onProgress?.(Math.min(1, stream.bytesRead / size));
    }
  } finally {
    if (!done) parser?.abort();
    stream.destroy();
  }
}
