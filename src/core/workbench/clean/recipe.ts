// The cleaning recipe: which steps run, with which parameters, saved next to the data as
// <name>.recipe.json (schemas/clean-recipe.schema.json) so the same cleaning can be run again.
// A step that is absent or false does not run. Reading a recipe checks every field and names
// the file, the field and the fix, so a hand-edited recipe fails with a clear message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isFormatId, type FormatId } from '../../dataset/formats';
import * as l10n from '@vscode/l10n';

export const RECIPE_VERSION = 1;

export interface LengthStep {
  /** Records shorter than this are removed (0: no lower bound). */
  min: number;
  /** Records longer than this are removed (0: no upper bound). */
  max: number;
  /** A model folder (relative to the recipe) whose tokenizer counts the length; absent: characters. */
  model?: string;
}

export interface RecipeSteps {
  /** Unicode NFC, invisible characters removed, runs of spaces collapsed, trailing spaces and extra blank lines dropped. */
  normalize?: boolean;
  /** Text that holds HTML tags becomes plain text (html-to-text). */
  html?: boolean;
  /** Lines of multi-line texts that appear in at least `minRecords` records are removed. */
  boilerplate?: { minRecords: number } | false;
  /** LMTuner's identity data: [MODEL NAME] (and its spellings) becomes `name`. */
  identity?: { name: string } | false;
  /** E-mails, phone numbers and URLs become <EMAIL>, <PHONE>, <URL>. */
  pii?: { email: boolean; phone: boolean; url: boolean } | false;
  length?: LengthStep | false;
  /** Records whose word n-grams repeat: more than `maxRatio` of the n-grams are repeats of an earlier one. */
  repetition?: { n: number; maxRatio: number } | false;
  /** Records where more than `maxRatio` of the visible characters are symbols (not letters, digits or sentence punctuation). */
  symbols?: { maxRatio: number } | false;
  /** Records whose language (franc-min, ISO 639-3 codes) is not one of `keep`; texts too short to tell are kept. */
  language?: { keep: string[] } | false;
  /** Records equal once case and whitespace are ignored: the first is kept. */
  exactDedupe?: boolean;
  /** Records whose word-shingle Jaccard similarity (MinHash + LSH estimate) is at least `threshold`. */
  nearDedupe?: { threshold: number; shingle: number; permutations: number } | false;
}

export interface SplitSettings {
  /** Share of the records in the eval file (0 < ratio < 1), or... */
  evalRatio?: number;
  /** ...an exact number of eval records. */
  evalCount?: number;
  /** Each source keeps its share in both files when the records carry more than one "source". */
  stratify: boolean;
}

export interface Recipe {
  version: number;
  /** Output format: 'keep' writes each record in its own format. */
  format: FormatId | 'keep';
  seed: number;
  steps: RecipeSteps;
  split?: SplitSettings | false;
}

/** The steps a user can tick, in the order the pipeline runs them. */
export const STEP_IDS = ['html', 'normalize', 'boilerplate', 'identity', 'pii', 'length', 'repetition', 'symbols', 'language', 'exactDedupe', 'nearDedupe'] as const;
export type StepId = (typeof STEP_IDS)[number];

/** Defaults a ticked step starts from. */
export const STEP_DEFAULTS: { [K in StepId]-?: Exclude<RecipeSteps[K], false | undefined> } = {
  html: true,
  normalize: true,
  boilerplate: { minRecords: 5 },
  identity: { name: 'Tuner' },
  pii: { email: true, phone: true, url: true },
  length: { min: 1, max: 4096 },
  repetition: { n: 3, maxRatio: 0.3 },
  symbols: { maxRatio: 0.25 },
  language: { keep: ['eng'] },
  exactDedupe: true,
  nearDedupe: { threshold: 0.8, shingle: 5, permutations: 128 },
};

/** The typical recipe: normalise, redact personal data, drop duplicates, hold out 10% for eval. */
export function defaultRecipe(): Recipe {
  return {
    version: RECIPE_VERSION,
    format: 'keep',
    seed: 42,
    steps: { normalize: true, pii: STEP_DEFAULTS.pii, exactDedupe: true, nearDedupe: STEP_DEFAULTS.nearDedupe },
    split: { evalRatio: 0.1, stratify: true },
  };
}

export function isStepOn(steps: RecipeSteps, id: StepId): boolean {
  const v = steps[id];
  return v !== undefined && v !== false;
}

/** <dir>/<name>.recipe.json for <dir>/<name>.jsonl. */
export function recipePathFor(dataFile: string): string {
  return path.join(path.dirname(dataFile), `${path.basename(dataFile).replace(/\.jsonl$/i, '')}.recipe.json`);
}

export class RecipeError extends Error {}

type Obj = Record<string, unknown>;

const isValue = (v: unknown) => l10n.t('is {0}', JSON.stringify(v));

class Checker {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string, fix: string): never {
    throw new RecipeError(l10n.t('{0}: "{1}" {2}; {3}', this.file, field, problem, fix));
  }

  object(v: unknown, field: string): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, l10n.t('must be an object'), l10n.t('write it as { ... }, or false to turn the step off'));
    return v as Obj;
  }

  number(o: Obj, key: string, field: string, min: number, max: number, integer = false): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      this.fail(`${field}.${key}`, isValue(v), integer ? l10n.t('use a whole number from {0} to {1}', min, max) : l10n.t('use a number from {0} to {1}', min, max));
    }
    return v;
  }

  bool(o: Obj, key: string, field: string): boolean {
    const v = o[key];
    if (typeof v !== 'boolean') this.fail(`${field}.${key}`, isValue(v), l10n.t('use true or false'));
    return v;
  }
}

function checkSteps(c: Checker, raw: Obj): RecipeSteps {
  const steps: RecipeSteps = {};
  for (const key of Object.keys(raw)) {
    if (!(STEP_IDS as readonly string[]).includes(key)) c.fail(`steps.${key}`, l10n.t('is not a step'), l10n.t('use one of {0}', STEP_IDS.join(', ')));
  }
  const on = (id: StepId): Obj | undefined => {
    const v = raw[id];
    if (v === undefined || v === false) return undefined;
    return c.object(v, `steps.${id}`);
  };
  for (const id of ['normalize', 'html', 'exactDedupe'] as const) {
    const v = raw[id];
    if (v !== undefined && typeof v !== 'boolean') c.fail(`steps.${id}`, isValue(v), l10n.t('use true or false'));
    if (v) steps[id] = true;
  }
  let o: Obj | undefined;
  if ((o = on('boilerplate'))) steps.boilerplate = { minRecords: c.number(o, 'minRecords', 'steps.boilerplate', 2, 1e9, true) };
  if ((o = on('identity'))) {
    if (typeof o.name !== 'string' || o.name.trim() === '') c.fail('steps.identity.name', l10n.t('is missing or empty'), l10n.t('give the model\'s name, e.g. "name": "Tuner"'));
    steps.identity = { name: o.name };
  }
  if ((o = on('pii'))) steps.pii = { email: c.bool(o, 'email', 'steps.pii'), phone: c.bool(o, 'phone', 'steps.pii'), url: c.bool(o, 'url', 'steps.pii') };
  if ((o = on('length'))) {
    const length: LengthStep = { min: c.number(o, 'min', 'steps.length', 0, 1e9, true), max: c.number(o, 'max', 'steps.length', 0, 1e9, true) };
    if (length.max > 0 && length.max < length.min) c.fail('steps.length.max', l10n.t('({0}) is below min ({1})', length.max, length.min), l10n.t('raise max, or set it to 0 for no upper bound'));
    if (o.model !== undefined) {
      if (typeof o.model !== 'string' || o.model === '') c.fail('steps.length.model', isValue(o.model), l10n.t('give a model folder (with tokenizer.json), or leave it out to count characters'));
      length.model = o.model;
    }
    steps.length = length;
  }
  if ((o = on('repetition'))) steps.repetition = { n: c.number(o, 'n', 'steps.repetition', 1, 20, true), maxRatio: c.number(o, 'maxRatio', 'steps.repetition', 0, 1) };
  if ((o = on('symbols'))) steps.symbols = { maxRatio: c.number(o, 'maxRatio', 'steps.symbols', 0, 1) };
  if ((o = on('language'))) {
    const keep = o.keep;
    if (!Array.isArray(keep) || keep.length === 0 || keep.some((k) => typeof k !== 'string' || !/^[a-z]{3}$/.test(k))) {
      c.fail('steps.language.keep', isValue(keep), l10n.t('list ISO 639-3 codes, e.g. ["eng", "deu"]'));
    }
    steps.language = { keep: keep as string[] };
  }
  if ((o = on('nearDedupe'))) {
    steps.nearDedupe = {
      threshold: c.number(o, 'threshold', 'steps.nearDedupe', 0.05, 1),
      shingle: c.number(o, 'shingle', 'steps.nearDedupe', 1, 20, true),
      permutations: c.number(o, 'permutations', 'steps.nearDedupe', 16, 512, true),
    };
  }
  return steps;
}

/** Checks a parsed recipe; `file` names it in messages. */
export function checkRecipe(value: unknown, file: string): Recipe {
  const c = new Checker(file);
  const o = c.object(value, l10n.t('(top level)'));
  if (o.version !== RECIPE_VERSION) c.fail('version', isValue(o.version), l10n.t('this Tuner reads version {0}', RECIPE_VERSION));
  const format = o.format ?? 'keep';
  if (format !== 'keep' && !isFormatId(format)) c.fail('format', isValue(format), l10n.t('use "keep" or a dataset format id such as "messages"'));
  const seed = o.seed ?? 42;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) c.fail('seed', isValue(seed), l10n.t('use a whole number from 0 to 4294967295'));
  const steps = checkSteps(c, c.object(o.steps ?? {}, 'steps'));
  let split: SplitSettings | false = false;
  if (o.split !== undefined && o.split !== false) {
    const s = c.object(o.split, 'split');
    const hasRatio = s.evalRatio !== undefined, hasCount = s.evalCount !== undefined;
    if (hasRatio === hasCount) c.fail('split', l10n.t('needs exactly one of evalRatio and evalCount'), l10n.t('e.g. "evalRatio": 0.1 or "evalCount": 200'));
    split = { stratify: s.stratify === undefined ? true : c.bool(s, 'stratify', 'split') };
    if (hasRatio) split.evalRatio = c.number(s, 'evalRatio', 'split', 0.0001, 0.9999);
    else split.evalCount = c.number(s, 'evalCount', 'split', 1, 1e12, true);
  }
  return { version: RECIPE_VERSION, format: format as FormatId | 'keep', seed: seed as number, steps, split };
}

/** Reads and checks a recipe file. */
export function readRecipe(file: string): Recipe {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new RecipeError(l10n.t('{0}: cannot read the recipe: {1}', file, (e as Error).message));
  }
  return checkRecipe(value, file);
}

/** The recipe as the file holds it (the editor checks it against schemas/clean-recipe.schema.json by its name). */
export function recipeText(recipe: Recipe): string {
  return `${JSON.stringify(recipe, null, 2)}\n`;
}
