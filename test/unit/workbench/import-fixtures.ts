// Source files for the import tests, each written by its format's own library: hyparquet-writer
// (Parquet, also in the layout the Hugging Face datasets library writes, its features under the
// "huggingface" key of the schema metadata), apache-arrow (IPC streams as the datasets cache
// stores them, and IPC files), docx (Word) and pdf-lib (PDF). Text formats are written as text.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Int64, RecordBatch, RecordBatchFileWriter, RecordBatchStreamWriter, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { Document, HeadingLevel, Packer, Paragraph } from 'docx';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PDFDocument, StandardFonts } from 'pdf-lib';

export const FIXTURE_DIR = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'workbench');

export function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'tuner-import-'));
}

export const PAIRS = Array.from({ length: 25 }, (_, i) => ({ instruction: `Question ${i + 1}: what is ${i} + ${i}?`, response: `${2 * i}`, id: i + 1 }));

/** The features block the datasets library stores in the schema metadata under "huggingface". */
export const HF_FEATURES = JSON.stringify({ info: { features: { instruction: { dtype: 'string', _type: 'Value' }, response: { dtype: 'string', _type: 'Value' }, id: { dtype: 'int64', _type: 'Value' } } } });

/** Parquet with three row groups (10, 10, 5 rows), int64 ids, and the datasets library's metadata. */
export function writePairsParquet(file: string, rowGroupSize = 10): void {
  writeFileSync(file, new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: 'instruction', data: PAIRS.map((p) => p.instruction), type: 'STRING' },
      { name: 'response', data: PAIRS.map((p) => p.response), type: 'STRING' },
      { name: 'id', data: PAIRS.map((p) => BigInt(p.id)), type: 'INT64' },
    ],
    rowGroupSize,
    kvMetadata: [{ key: 'huggingface', value: HF_FEATURES }],
  })));
}

function pairsTable(): Table {
  // Plain utf8 and int64 columns, as the datasets library writes string and int64 features.
  const parts = [PAIRS.slice(0, 12), PAIRS.slice(12)].map((rows) => new Table({
    instruction: vectorFromArray(rows.map((p) => p.instruction), new Utf8()),
    response: vectorFromArray(rows.map((p) => p.response), new Utf8()),
    id: vectorFromArray(rows.map((p) => BigInt(p.id)), new Int64()),
  }));
  const schema = new Schema(parts[0].schema.fields, new Map([['huggingface', HF_FEATURES]]));
  return new Table(schema, parts.flatMap((p) => p.batches).map((b) => new RecordBatch(schema, b.data)));
}

/** An Arrow IPC stream of two record batches, as the datasets library caches a split. */
export function writePairsArrowStream(file: string): void {
  writeFileSync(file, RecordBatchStreamWriter.writeAll(pairsTable()).toUint8Array(true));
}

export function writePairsArrowFile(file: string): void {
  writeFileSync(file, RecordBatchFileWriter.writeAll(pairsTable()).toUint8Array(true));
}

/** A datasets cache (<root>/owner___name/default/0.0.0/<hash>/name-train.arrow + dataset_info.json) and a hub cache with one Parquet split. */
export function writeHfCaches(root: string): { datasets: string; hub: string } {
  const datasets = path.join(root, 'datasets');
  const hub = path.join(root, 'hub');
  const dir = path.join(datasets, 'tuner___pairs', 'default', '0.0.0', 'abc123');
  mkdirSync(dir, { recursive: true });
  writePairsArrowStream(path.join(dir, 'pairs-train.arrow'));
  writeFileSync(path.join(dir, 'dataset_info.json'), JSON.stringify({ dataset_name: 'pairs', splits: { train: { name: 'train', num_examples: PAIRS.length, dataset_name: 'pairs' } } }));
  const snap = path.join(hub, 'datasets--tuner--pairs-hub', 'snapshots', '0123abcd', 'data');
  mkdirSync(snap, { recursive: true });
  writePairsParquet(path.join(snap, 'train-00000-of-00002.parquet'));
  writePairsParquet(path.join(snap, 'train-00001-of-00002.parquet'));
  writePairsParquet(path.join(snap, 'test-00000-of-00001.parquet'));
  return { datasets, hub };
}

export async function writeDocx(file: string): Promise<void> {
  const doc = new Document({
    sections: [{
      children: [
        new Paragraph({ text: 'Adapters', heading: HeadingLevel.HEADING_1 }),
        new Paragraph('LoRA trains two small matrices beside each frozen weight.'),
        new Paragraph({ text: 'Quantisation', heading: HeadingLevel.HEADING_1 }),
        new Paragraph('QLoRA keeps the base weights in four bits.'),
      ],
    }],
  });
  writeFileSync(file, await Packer.toBuffer(doc));
}

export async function writePdf(file: string, pages: string[]): Promise<void> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const text of pages) doc.addPage([400, 200]).drawText(text, { x: 20, y: 150, size: 12, font });
  writeFileSync(file, await doc.save());
}
