// "Tuner: Clean Dataset…": the steps to run (a multi-select quick pick, ticked as the saved
// recipe has them), their parameters, then the recipe saved beside the data as an undoable edit,
// the pipeline run in a worker with a cancellable progress notification, and the report opened
// in the Markdown preview. The core (src/core/workbench/clean) decides; this file asks and shows.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { withCancellableProgress } from './cancellable-progress';
import { FORMATS, type FormatId } from '../core/dataset/formats';
import { listCachedModels } from '../core/model/discover';
import { cleanInWorker } from '../core/workbench/clean/clean-client';
import type { CleanResult } from '../core/workbench/clean/pipeline';
import { checkRecipe, defaultRecipe, isStepOn, readRecipe, recipePathFor, recipeText, STEP_DEFAULTS, STEP_IDS, type Recipe, type RecipeSteps, type StepId } from '../core/workbench/clean/recipe';
import { formatCount } from '../core/units';
import { log } from './output';
import { requireTrust } from './workspace-guard';

export interface CleanServices {
  extensionUri: vscode.Uri;
}

/** Options for keybindings and tests: a recipe object skips the questions; openReport: false leaves the preview closed. */
export interface CleanCommandOptions {
  recipe?: unknown;
  openReport?: boolean;
}

function stepLabels(): Record<StepId | 'split', { label: string; detail: string }> {
  return {
    html: { label: vscode.l10n.t('HTML to text'), detail: vscode.l10n.t('Texts with HTML tags become plain text.') },
    normalize: { label: vscode.l10n.t('Normalise Unicode and whitespace'), detail: vscode.l10n.t('NFC, invisible characters removed, runs of spaces collapsed, indentation kept.') },
    boilerplate: { label: vscode.l10n.t('Remove boilerplate lines'), detail: vscode.l10n.t('Lines of multi-line texts repeated across many records (footers, disclaimers).') },
    identity: { label: vscode.l10n.t('Replace [MODEL NAME]'), detail: vscode.l10n.t('LMTuner identity data: the placeholder becomes your model\'s name.') },
    pii: { label: vscode.l10n.t('Redact personal data'), detail: vscode.l10n.t('E-mails, phone numbers and URLs become <EMAIL>, <PHONE>, <URL>.') },
    length: { label: vscode.l10n.t('Length filter'), detail: vscode.l10n.t('Remove records shorter or longer than a bound, in tokens of a model (or characters).') },
    repetition: { label: vscode.l10n.t('Repetition filter'), detail: vscode.l10n.t('Remove records whose word sequences repeat too much.') },
    symbols: { label: vscode.l10n.t('Symbol filter'), detail: vscode.l10n.t('Remove records made mostly of symbols (markup debris, tables of dashes).') },
    language: { label: vscode.l10n.t('Language filter'), detail: vscode.l10n.t('Keep only records in the languages you name (franc-min).') },
    exactDedupe: { label: vscode.l10n.t('Remove exact duplicates'), detail: vscode.l10n.t('Equal once case and spacing are ignored; the first is kept.') },
    nearDedupe: { label: vscode.l10n.t('Remove near duplicates'), detail: vscode.l10n.t('MinHash + LSH on word shingles, at a Jaccard similarity you choose.') },
    split: { label: vscode.l10n.t('Split into train and eval'), detail: vscode.l10n.t('Seeded, by source when records carry several; duplicates never cross it.') },
  };
}

async function ask(title: string, prompt: string, value: string, check: (s: string) => string | undefined): Promise<string> {
  const answer = await vscode.window.showInputBox({ title, prompt, value, ignoreFocusOut: true, validateInput: (s) => check(s.trim()) });
  if (answer === undefined) throw new vscode.CancellationError();
  return answer.trim();
}

const ratioCheck = (s: string) => (/^(0(\.\d+)?|1(\.0+)?)$/.test(s) ? undefined : vscode.l10n.t('A number from 0 to 1, e.g. 0.3'));
const wholeCheck = (min: number) => (s: string) => (/^\d+$/.test(s) && Number(s) >= min ? undefined : vscode.l10n.t('A whole number, at least {0}', min));

async function pickModelFolder(title: string, current: string | undefined, recipeDir: string): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/tokenizer.json', '**/node_modules/**', 30);
  const items: (vscode.QuickPickItem & { dir?: string })[] = [
    { label: vscode.l10n.t('Count characters (no model)'), description: current ? undefined : vscode.l10n.t('(current)') },
    ...found.map((u) => path.dirname(u.fsPath)).map((dir) => ({ label: path.relative(recipeDir, dir) || '.', description: vscode.l10n.t('workspace'), dir })),
    ...listCachedModels().map((m) => ({ label: m.id, description: vscode.l10n.t('Hugging Face cache'), dir: m.dir })),
  ];
  const pick = await vscode.window.showQuickPick(items, { title, placeHolder: vscode.l10n.t('Whose tokens count the length?'), ignoreFocusOut: true });
  if (!pick) throw new vscode.CancellationError();
  return pick.dir && path.relative(recipeDir, pick.dir);
}

/** Asks for the steps and their parameters, starting from `start` (the saved recipe or the default). */
async function askRecipe(name: string, start: Recipe, recipeDir: string): Promise<Recipe> {
  const labels = stepLabels();
  const title = (what: string) => vscode.l10n.t('Clean {0}: {1}', name, what);
  const items = [...STEP_IDS, 'split' as const].map((id) => ({ id, ...labels[id], picked: id === 'split' ? !!start.split : isStepOn(start.steps, id) }));
  const picked = await vscode.window.showQuickPick(items, { title: title(vscode.l10n.t('steps')), placeHolder: vscode.l10n.t('Tick the steps to run (ticked as the saved recipe has them)'), canPickMany: true, ignoreFocusOut: true });
  if (!picked) throw new vscode.CancellationError();
  const on = new Set(picked.map((p) => p.id));
  const was = <K extends StepId>(id: K) => (start.steps[id] || STEP_DEFAULTS[id]) as Exclude<RecipeSteps[K], false | undefined>;
  const steps: RecipeSteps = {};
  for (const id of ['html', 'normalize', 'exactDedupe'] as const) if (on.has(id)) steps[id] = true;
  if (on.has('pii')) steps.pii = was('pii');
  if (on.has('boilerplate')) {
    steps.boilerplate = { minRecords: Number(await ask(title(labels.boilerplate.label), vscode.l10n.t('A line in at least this many records is boilerplate'), String(was('boilerplate').minRecords), wholeCheck(2))) };
  }
  if (on.has('identity')) {
    steps.identity = { name: await ask(title(labels.identity.label), vscode.l10n.t('The name [MODEL NAME] becomes'), was('identity').name, (s) => (s ? undefined : vscode.l10n.t('Give a name'))) };
  }
  if (on.has('length')) {
    const prev = was('length');
    const model = await pickModelFolder(title(labels.length.label), prev.model, recipeDir);
    const unit = model ? vscode.l10n.t('tokens') : vscode.l10n.t('characters');
    const range = await ask(title(labels.length.label), vscode.l10n.t('Keep records from min to max {0} (max 0: no upper bound)', unit), `${prev.min}-${prev.max}`, (s) => (/^\d+\s*-\s*\d+$/.test(s) ? undefined : vscode.l10n.t('min-max, e.g. 1-2048')));
    const [min, max] = range.split('-').map((x) => Number(x.trim()));
    steps.length = model ? { min, max, model } : { min, max };
  }
  if (on.has('repetition')) steps.repetition = { n: was('repetition').n, maxRatio: Number(await ask(title(labels.repetition.label), vscode.l10n.t('Remove records where more than this share of {0}-word sequences repeat', was('repetition').n), String(was('repetition').maxRatio), ratioCheck)) };
  if (on.has('symbols')) steps.symbols = { maxRatio: Number(await ask(title(labels.symbols.label), vscode.l10n.t('Remove records where more than this share of the characters are symbols'), String(was('symbols').maxRatio), ratioCheck)) };
  if (on.has('language')) {
    const codes = await ask(title(labels.language.label), vscode.l10n.t('Languages to keep, as ISO 639-3 codes (eng, deu, fra, spa, cmn…)'), was('language').keep.join(', '), (s) => (/^[a-z]{3}(\s*,\s*[a-z]{3})*$/.test(s) ? undefined : vscode.l10n.t('Three-letter codes separated by commas, e.g. eng, deu')));
    steps.language = { keep: codes.split(',').map((c) => c.trim()) };
  }
  if (on.has('nearDedupe')) {
    steps.nearDedupe = { ...was('nearDedupe'), threshold: Number(await ask(title(labels.nearDedupe.label), vscode.l10n.t('Jaccard similarity (0 to 1) at which two records are near duplicates'), String(was('nearDedupe').threshold), ratioCheck)) };
  }
  let split: Recipe['split'] = false;
  let seed = start.seed;
  if (on.has('split')) {
    const prev = start.split || { evalRatio: 0.1, stratify: true };
    const share = await ask(title(labels.split.label), vscode.l10n.t('Eval records: a share below 1 (0.1) or a count (200)'), String(prev.evalCount ?? prev.evalRatio), (s) => (/^(0?\.\d+|[1-9]\d*)$/.test(s) ? undefined : vscode.l10n.t('A share such as 0.1, or a whole number of records')));
    split = Number(share) < 1 ? { evalRatio: Number(share), stratify: prev.stratify } : { evalCount: Number(share), stratify: prev.stratify };
    seed = Number(await ask(title(vscode.l10n.t('seed')), vscode.l10n.t('Seed of the split: the same seed gives the same split'), String(start.seed), wholeCheck(0)));
  }
  const formats = [{ id: 'keep' as const, label: vscode.l10n.t('Keep each record\'s format') }, ...FORMATS.map((f) => ({ id: f.id, label: f.label, description: f.id }))];
  const format = await vscode.window.showQuickPick(formats.map((f) => ({ ...f, picked: f.id === start.format, description: f.id === start.format ? vscode.l10n.t('(current)') : 'description' in f ? f.description : undefined })), { title: title(vscode.l10n.t('output format')), ignoreFocusOut: true });
  if (!format) throw new vscode.CancellationError();
  return { version: start.version, format: format.id as FormatId | 'keep', seed, steps, split };
}

/** Saves the recipe as an undoable edit (created, or its text replaced) and saves the document. */
async function saveRecipe(file: string, recipe: Recipe): Promise<void> {
  const uri = vscode.Uri.file(file);
  const text = recipeText(recipe);
  const edit = new vscode.WorkspaceEdit();
  if (fs.existsSync(file)) {
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.getText() === text) return;
    edit.replace(uri, new vscode.Range(0, 0, doc.lineCount, 0), text);
  } else {
    edit.createFile(uri, { contents: new TextEncoder().encode(text) });
  }
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(vscode.l10n.t('VS Code refused to write the recipe {0}', file));
  const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
  if (doc?.isDirty) await doc.save();
}

function targetFile(uri: unknown): string {
  const given = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
  if (!given || given.scheme !== 'file' || !/\.jsonl$/i.test(given.fsPath)) {
    throw new Error(vscode.l10n.t('open a .jsonl dataset (or pick one in the Explorer) to clean it'));
  }
  return given.fsPath;
}

export async function cleanDatasetCommand(extensionUri: vscode.Uri, uri: unknown, options: CleanCommandOptions = {}): Promise<CleanResult | undefined> {
  await requireTrust(vscode.l10n.t('Cleaning a dataset'));
  const input = targetFile(uri);
  // The pipeline reads the file on disk in a worker, not the editor's buffer.
  if (vscode.workspace.textDocuments.some((d) => d.uri.fsPath === input && d.isDirty)) {
    throw new Error(vscode.l10n.t('{0} has unsaved changes: save it, then clean it (cleaning reads the file on disk)', path.basename(input)));
  }
  const recipeFile = recipePathFor(input);
  const recipeDir = path.dirname(recipeFile);
  let recipe: Recipe;
  try {
    if (options.recipe !== undefined) recipe = checkRecipe(options.recipe, recipeFile);
    else recipe = await askRecipe(path.basename(input), fs.existsSync(recipeFile) ? readRecipe(recipeFile) : defaultRecipe(), recipeDir);
  } catch (e) {
    if (e instanceof vscode.CancellationError) return undefined;
    throw e;
  }
  await saveRecipe(recipeFile, recipe);
  const workerPath = vscode.Uri.joinPath(extensionUri, 'dist', 'clean-worker.js').fsPath;
  const result = await withCancellableProgress(vscode.l10n.t('Cleaning {0}', path.basename(input)), (signal, report) =>
    cleanInWorker(workerPath, { input, recipe, recipeDir }, (p) => report(p.fraction, vscode.l10n.t('{0}: {1} records', p.stage, formatCount(p.records))), signal),
  );
  if (!result) {
    void vscode.window.showInformationMessage(vscode.l10n.t('Cleaning cancelled; the dataset and earlier outputs are unchanged.'));
    return undefined;
  }
  log.info(`Cleaned ${input}: ${result.records} records in, ${result.kept} kept, ${result.removed} removed -> ${result.outputs.report}`);
  if (options.openReport !== false) await vscode.commands.executeCommand('markdown.showPreview', vscode.Uri.file(result.outputs.report));
  return result;
}

export const CLEAN_COMMANDS = {
  /** Args (optional): a .jsonl URI, and CleanCommandOptions. Returns the result (counts, outputs) or undefined when cancelled. */
  'tuner.cleanDataset': (s: CleanServices) => (uri: unknown, options?: unknown) => cleanDatasetCommand(s.extensionUri, uri, (options ?? {}) as CleanCommandOptions),
};
