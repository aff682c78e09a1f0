// "Tuner: Import Dataset…": a CSV/TSV, JSON, JSONL, Parquet or Arrow file, a folder or file of
// documents (text, Markdown, HTML, PDF, Word) or a split from the Hugging Face caches becomes a
// JSON Lines file in one of the formats the linter knows. Steps: source → (array path in a JSON
// file / cache entry / one record per file or per section) → target format → the column mapping,
// with a live preview of the first records beside it → a cancellable progress notification →
// the result opens (and is linted). The import code is its own bundle, loaded on first use; the
// readers run in a worker thread (dist/import-worker.js): the first records for the mapping step,
// the JSON array scan and the import itself, so decoding never blocks the host.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { withCancellableProgress } from './cancellable-progress';
import { FORMATS, isFormatId, type FormatId } from '../core/dataset/formats';
import { formatBytes, formatCount } from '../core/units';
import { l10nBundle } from '../core/l10n-bundle';
import { showImportPreview, type ImportPreview } from './workbench-import-preview';
import { log } from './output';
import type * as Import from '../core/workbench/import/index';

let loaded: typeof Import | undefined;
/** The import bundle; its own copy of @vscode/l10n gets the display language's messages. */
function importer(): typeof Import {
  if (!loaded) {
    loaded = require('../core/workbench/import/index') as typeof Import; // eslint-disable-line @typescript-eslint/no-require-imports
    loaded.useL10nBundle(l10nBundle());
  }
  return loaded;
}

/** Command arguments (for keybindings and tests); each one given skips its question. */
export interface ImportDatasetOptions {
  /** JSON: the keys from the root to the array of records ([] = a top-level array). */
  jsonPath?: string[];
  /** A Hugging Face cache entry, by dataset name and split (and config when several). */
  hf?: { dataset: string; split: string; config?: string; roots?: Import.HfCacheRoots };
  unit?: Import.DocumentUnit;
  format?: FormatId;
  /** Target field -> source column; given, the mapping step is skipped. */
  fields?: Record<string, string>;
  /** Where to write (default: beside the source, <name>.<format>.jsonl). */
  output?: string;
}

type Picked<T> = vscode.QuickPickItem & { value: T };

async function pick<T>(title: string, items: Picked<T>[], placeHolder?: string): Promise<T | undefined> {
  return (await vscode.window.showQuickPick(items, { title, placeHolder, matchOnDescription: true, ignoreFocusOut: true }))?.value;
}

/** The import worker bundle (dist/import-worker.js). */
interface ImportContext { workerPath: string }

async function chooseSource(ctx: ImportContext, uri: unknown, options: ImportDatasetOptions): Promise<Import.ImportSource | undefined> {
  const imp = importer();
  if (options.hf) return chooseHfEntry(options);
  let target = uri instanceof vscode.Uri ? uri : undefined;
  if (!target) {
    const how = await pick(vscode.l10n.t('Import Dataset: what to import'), [
      { label: vscode.l10n.t('$(file) A file or a folder…'), detail: vscode.l10n.t('CSV, TSV, JSON, JSONL, Parquet, Arrow; a text, Markdown, HTML, PDF or Word document, or a folder of them'), value: 'file' as const },
      { label: vscode.l10n.t('$(database) A dataset in the Hugging Face cache…'), detail: vscode.l10n.t('Splits the datasets library or the hub downloaded to this machine'), value: 'hf' as const },
    ]);
    if (how === undefined) return undefined;
    if (how === 'hf') return chooseHfEntry(options);
    const chosen = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: vscode.l10n.t('Import'), title: vscode.l10n.t('Import Dataset') });
    target = chosen?.[0];
    if (!target) return undefined;
  }
  if (target.scheme !== 'file') throw new Error(vscode.l10n.t('{0}: only files on this machine can be imported', target.toString()));
  const file = target.fsPath;
  const kind = imp.sourceKindOf(file);
  if (!kind) throw new Error(vscode.l10n.t('{0}: Tuner imports .csv, .tsv, .json, .jsonl, .parquet, .arrow, .txt, .md, .html, .pdf and .docx files, and folders of documents', path.basename(file)));
  const source: Import.ImportSource = { kind, path: file };
  if (kind === 'json') {
    const jsonPath = options.jsonPath ?? await chooseJsonPath(ctx, file);
    if (jsonPath === undefined) return undefined;
    source.jsonPath = jsonPath;
  }
  if (kind === 'documents') {
    const unit = options.unit ?? await pick(vscode.l10n.t('Import {0}: one record per…', path.basename(file)), [
      { label: vscode.l10n.t('Section'), detail: vscode.l10n.t('Split at headings (Markdown #, HTML h1–h6, Word headings); a PDF per page'), value: 'section' as const },
      { label: vscode.l10n.t('Document'), detail: vscode.l10n.t('The whole text of each file as one record'), value: 'file' as const },
    ]);
    if (unit === undefined) return undefined;
    source.unit = unit;
  }
  return source;
}

async function chooseJsonPath(ctx: ImportContext, file: string): Promise<string[] | undefined> {
  const imp = importer();
  const candidates = (await imp.jsonArraysInWorker(ctx.workerPath, file)).filter((c) => c.objects > 0);
  if (candidates.length === 0) throw new Error(vscode.l10n.t('{0}: no array of objects in this JSON file; a dataset is an array of records ({1}), at the top or under a key', path.basename(file), '{"field": value, …}'));
  if (candidates.length === 1) return [...candidates[0].path];
  return pick(vscode.l10n.t('Import {0}: which array holds the records?', path.basename(file)), candidates.map((c) => ({
    label: imp.formatJsonPath(c.path),
    description: vscode.l10n.t('{0} records', formatCount(c.objects)),
    value: [...c.path],
  })));
}

async function chooseHfEntry(options: ImportDatasetOptions): Promise<Import.ImportSource | undefined> {
  const imp = importer();
  const roots = options.hf?.roots ?? imp.defaultHfCacheRoots();
  const entries = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Reading the Hugging Face cache') }, () => imp.listHfCache(roots));
  if (entries.length === 0) throw new Error(vscode.l10n.t('no datasets in the Hugging Face caches ({0}, {1}); download one with datasets.load_dataset(…) or huggingface-cli download --repo-type dataset …, or set HF_HOME', roots.datasets, roots.hub));
  let entry: Import.HfCacheEntry | undefined;
  if (options.hf) {
    const { dataset, split, config } = options.hf;
    entry = entries.find((e) => e.dataset === dataset && e.split === split && (config === undefined || e.config === config));
    if (!entry) throw new Error(vscode.l10n.t('{0} ({1}) is not in the Hugging Face caches; cached: {2}', dataset, split, entries.map((e) => `${e.dataset} ${e.config} ${e.split}`).join(', ')));
  } else {
    entry = await pick(vscode.l10n.t('Import from the Hugging Face cache'), entries.map((e) => ({
      label: e.dataset,
      description: `${e.config} · ${e.split}`,
      detail: vscode.l10n.t('{0} rows · {1} · {2} {3} file(s)', formatCount(e.rows), formatBytes(e.bytes), e.files.length, e.format === 'arrow' ? 'Arrow' : 'Parquet'),
      value: e,
    })));
  }
  return entry && { kind: 'hf-cache', path: entry.files[0], hfEntry: entry };
}

async function chooseFormat(source: Import.ImportSource, guessed: FormatId): Promise<FormatId | undefined> {
  const items = [...FORMATS].sort((a, b) => Number(b.id === guessed) - Number(a.id === guessed)).map((f) => ({
    label: f.label,
    description: f.id === guessed ? vscode.l10n.t('{0} (suggested from the columns)', f.id) : f.id,
    detail: f.example,
    value: f.id,
  }));
  return pick(vscode.l10n.t('Import {0} as', sourceName(source)), items);
}

function sourceName(source: Import.ImportSource): string {
  return source.hfEntry ? `${source.hfEntry.dataset} (${source.hfEntry.split})` : path.basename(source.path);
}

const NONE = '\0none';
const PREVIEW = '\0preview';

/** The mapping step: a quick pick of the target fields, each showing its column; the preview beside follows every change. */
async function chooseMapping(source: Import.ImportSource, sample: Import.SourceSample, plan: Import.MappingPlan, output: string, preview: ImportPreview): Promise<Import.MappingPlan | undefined> {
  const imp = importer();
  for (;;) {
    const lines = imp.previewLines(sample, plan, 10);
    preview.update(sourceName(source), path.basename(output), plan, lines);
    const fit = lines.filter((l) => !l.startsWith('//')).length;
    const first = sample.records[0]?.value ?? {};
    const choice = await pick<string>(vscode.l10n.t('Import {0} as {1}: map the columns (preview below and beside)', sourceName(source), plan.format), [
      { label: vscode.l10n.t('$(check) Import'), description: path.basename(output), detail: vscode.l10n.t('{0} of the first {1} records fit; every record that does not goes to a side file with the reason', fit, lines.length), value: '' },
      ...imp.targetSlots(plan.format).map((s) => {
        const column = plan.fields[s.name];
        const need = s.alternativeTo ? vscode.l10n.t('optional: instead of a {0} column, build the turns from role columns', s.alternativeTo) : s.required ? vscode.l10n.t('required') : vscode.l10n.t('optional');
        return {
          label: s.name,
          description: column !== undefined ? `← ${column}` : vscode.l10n.t('(no column)'),
          detail: column !== undefined ? vscode.l10n.t('{0} · first record: {1}', need, describeValue(first[column])) : need,
          value: s.name,
        };
      }),
      { label: vscode.l10n.t('Preview'), kind: vscode.QuickPickItemKind.Separator, value: PREVIEW },
      ...lines.slice(0, 5).map((l) => ({ label: l.startsWith('//') ? `$(warning) ${l.slice(3)}` : `$(json) ${l.length > 150 ? `${l.slice(0, 150)}…` : l}`, value: PREVIEW })),
    ]);
    if (choice === undefined) return undefined;
    if (choice === '') return plan;
    if (choice === PREVIEW) continue;
    const column = await pick(vscode.l10n.t('Column for {0}', choice), [
      { label: vscode.l10n.t('(no column)'), value: NONE },
      ...sample.columns.map((c) => ({ label: c, description: describeValue(sample.records[0]?.value[c]), value: c })),
    ]);
    if (column === undefined) continue;
    plan = { ...plan, fields: { ...plan.fields, [choice]: column === NONE ? undefined : column } };
  }
}

function describeValue(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? '';
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

export async function importDatasetCommand(extensionUri: vscode.Uri, uri: unknown, given: unknown): Promise<Import.ImportSummary | undefined> {
  const ctx: ImportContext = { workerPath: vscode.Uri.joinPath(extensionUri, 'dist', 'import-worker.js').fsPath };
  const options = (given && typeof given === 'object' ? given : {}) as ImportDatasetOptions;
  if (options.format !== undefined && !isFormatId(options.format)) throw new Error(vscode.l10n.t('unknown dataset format "{0}": use one of {1}', String(options.format), FORMATS.map((f) => f.id).join(', ')));
  const imp = importer();
  const source = await chooseSource(ctx, uri, options);
  if (!source) return undefined;
  const sample = await imp.sampleInWorker(ctx.workerPath, source, 20);
  if (sample.records.length === 0) {
    const why = sample.skipped[0]?.reason;
    throw new Error(why ? vscode.l10n.t('{0}: no record could be read ({1})', sourceName(source), why) : vscode.l10n.t('{0}: no record could be read', sourceName(source)));
  }
  const format = options.format ?? await chooseFormat(source, imp.guessFormat(sample.columns));
  if (format === undefined) return undefined;
  const outDir = source.kind === 'hf-cache' ? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath : undefined;
  if (source.kind === 'hf-cache' && !outDir && !options.output) throw new Error(vscode.l10n.t('open a folder first: a dataset from the Hugging Face cache is imported into the workspace, never into the cache'));
  const output = options.output ?? imp.defaultOutputPath(source, format, outDir);
  let plan: Import.MappingPlan | undefined = options.fields ? { format, fields: { ...options.fields } } : imp.proposePlan(sample, format);
  if (!options.fields) {
    const preview = await showImportPreview();
    try {
      plan = await chooseMapping(source, sample, plan, output, preview);
    } finally {
      await preview.close();
    }
    if (!plan) return undefined;
  }
  const summary = await withCancellableProgress(vscode.l10n.t('Importing {0}', sourceName(source)), (signal, report) =>
    imp.importInWorker(ctx.workerPath, source, plan, { output, signal, onProgress: (fraction, records) => report(fraction, vscode.l10n.t('{0} records', formatCount(records))) }),
  );
  if (!summary) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Import cancelled; nothing was written.'));
    return undefined;
  }
  log.info(imp.describeSummary(summary));
  await vscode.window.showTextDocument(vscode.Uri.file(summary.output), { preview: false });
  const text = summary.skipped === 0
    ? vscode.l10n.t('Imported {0} records into {1}.', formatCount(summary.recordsOut), path.basename(summary.output))
    : vscode.l10n.t('Imported {0} records into {1}; {2} rows set aside with their row numbers and reasons in {3}.', formatCount(summary.recordsOut), path.basename(summary.output), formatCount(summary.skipped), path.basename(summary.skippedFile ?? ''));
  const open = vscode.l10n.t('Open Set-Aside Rows');
  void vscode.window.showInformationMessage(text, ...(summary.skippedFile ? [open] : [])).then(async (choice) => {
    if (choice === open && summary.skippedFile) await vscode.window.showTextDocument(vscode.Uri.file(summary.skippedFile));
  }, () => undefined);
  return summary;
}

export const IMPORT_COMMANDS = {
  'tuner.importDataset': (s: { extensionUri: vscode.Uri }) => (uri: unknown, options: unknown) => importDatasetCommand(s.extensionUri, uri, options),
} as const;
