// The cleaning pipeline over one JSONL file, streamed line by line:
//   pass 1 (only with the boilerplate step): count each multi-line text's lines across records;
//   pass 2: parse, rewrite (HTML, normalise, boilerplate, identity, personal data), filter
//           (length, repetition, symbols, language), drop exact and near duplicates, convert to
//           the output format; kept records go to a staging file, removed ones to the side file;
//   pass 3 (with a split): the staging file split into train and eval, per source.
// Deduplication runs over the whole file before the split, so no eval record has an exact or
// near duplicate in train. Memory holds hashes, signatures and counts, never the records. The
// source file is only read; every output is written beside its name and renamed at the end.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectRecordFormat, toConversation, type FormatId } from '../../dataset/formats';
import { convertRecord } from '../../dataset/convert';
import { hashString } from '../../dataset/hash';
import { nearDuplicateHash } from '../../dataset/near-duplicates';
import { readLines } from '../../dataset/prepare';
import { loadTokenizer, type ModelTokenizer } from '../../model/tokenizer';
import type { SetAsideRecord } from '../records';
import { MinHashLsh, shingleHashes, signature } from '../minhash';
import { HashTable } from '../typed-tables';
import { allocateEval, evalTotal, StreamingSplitter } from '../split';
import { writeFileAtomic } from '../../atomic-file';
import { AtomicLines } from './atomic-lines';
import { isStepOn, type Recipe, type StepId } from './recipe';
import { mapRecordText, recordSource, recordTexts } from './record-text';
import { cleanReportMarkdown } from './report';
import { addCount, newTally, recordRemoval, removedTotal, type StepTally } from './tally';
import { boilerplateKey, candidateLines, detectLanguage, dropLines, htmlToText, normalizeText, redactPii, repeatedNgramRatio, replaceIdentity, symbolRatio } from './text-steps';
import * as l10n from '@vscode/l10n';

export interface CleanOptions {
  input: string;
  recipe: Recipe;
  /** The folder relative paths of the recipe (the length step's model) start from. */
  recipeDir: string;
  /** Where the outputs go; default: beside the input. */
  outDir?: string;
  onProgress?: (p: CleanProgress) => void;
  cancelled?: () => boolean;
}

export interface CleanProgress {
  stage: string;
  /** 0..1 over all passes. */
  fraction: number;
  records: number;
}

export interface CleanOutputs {
  train?: string;
  eval?: string;
  /** The cleaned records when there is no split. */
  clean?: string;
  removed: string;
  report: string;
}

export interface CleanResult {
  input: string;
  recipe: Recipe;
  /** Non-blank lines of the input: every one is a record kept or removed. */
  records: number;
  blankLines: number;
  kept: number;
  train: number;
  eval: number;
  removed: number;
  steps: StepTally[];
  /** Eval records per source, train records per source (when the split was stratified). */
  sources: { source: string; train: number; eval: number }[];
  outputs: CleanOutputs;
  seconds: number;
}

export class CleanCancelled extends Error {
  constructor() {
    super(l10n.t('Cleaning was cancelled; the source file and any earlier outputs are unchanged'));
    this.name = 'AbortError';
  }
}

const STEP_TITLES: Record<StepId | 'parse' | 'empty' | 'convert', string> = {
  get parse() { return l10n.t('Read records'); },
  get html() { return l10n.t('HTML to text'); },
  get normalize() { return l10n.t('Unicode and whitespace'); },
  get boilerplate() { return l10n.t('Boilerplate lines'); },
  get identity() { return l10n.t('Identity ([MODEL NAME])'); },
  get pii() { return l10n.t('Personal data'); },
  get empty() { return l10n.t('Empty after cleaning'); },
  get length() { return l10n.t('Length'); },
  get repetition() { return l10n.t('Repetition'); },
  get symbols() { return l10n.t('Symbols'); },
  get language() { return l10n.t('Language'); },
  get exactDedupe() { return l10n.t('Exact duplicates'); },
  get nearDedupe() { return l10n.t('Near duplicates'); },
  get convert() { return l10n.t('Output format'); },
};

export function outputPaths(input: string, recipe: Recipe, outDir?: string): CleanOutputs {
  const dir = outDir ?? path.dirname(input);
  const base = path.join(dir, path.basename(input).replace(/\.jsonl$/i, ''));
  const split = recipe.split ? { train: `${base}.train.jsonl`, eval: `${base}.eval.jsonl` } : { clean: `${base}.clean.jsonl` };
  return { ...split, removed: `${base}.removed.jsonl`, report: `${base}.clean-report.md` };
}

type Rec = Record<string, unknown>;

interface Parsed {
  record: Rec;
  format: FormatId;
}

function parseRecord(text: string): Parsed | { reason: string; detail?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { reason: l10n.t('not valid JSON'), detail: (e as Error).message };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { reason: l10n.t('not a JSON object') };
  const format = detectRecordFormat(value as Rec);
  if (!format) return { reason: l10n.t('matches no known format') };
  if (!toConversation(value, format)) return { reason: l10n.t('not a valid {0} record', format) };
  return { record: value as Rec, format };
}

/** Applies a text rewrite to every trained field; true when any changed. */
function rewrite(p: Parsed, fn: (s: string) => string): boolean {
  let changed = false;
  p.record = mapRecordText(p.record, p.format, (s) => {
    const t = fn(s);
    if (t !== s) changed = true;
    return t;
  });
  return changed;
}

function lengthModel(recipe: Recipe, recipeDir: string): ModelTokenizer | undefined {
  const step = recipe.steps.length;
  if (!step || !step.model) return undefined;
  const dir = path.resolve(recipeDir, step.model);
  try {
    return loadTokenizer(dir);
  } catch (e) {
    throw new Error(l10n.t('the length step\'s model folder {0} (steps.length.model in the recipe): {1}', dir, (e as Error).message));
  }
}

/** Pass 1: how many records each boilerplate candidate line appears in; returns the hashes of lines in at least `minRecords`. */
function findBoilerplate(opts: CleanOptions, minRecords: number, progress: (stage: string, f: number, records: number) => void): Set<number> {
  const counts = new HashTable();
  const { steps } = opts.recipe;
  let records = 0;
  for (const { text, bytesRead, size } of readLines(opts.input)) {
    if (text.trim() === '') continue;
    const p = parseRecord(text);
    if ('reason' in p) continue;
    if (++records % 512 === 0) progress(l10n.t('Counting repeated lines'), size ? bytesRead / size : 1, records);
    const inRecord = new Set<number>();
    for (let s of recordTexts(p.record, p.format)) {
      if (steps.html) s = htmlToText(s);
      if (steps.normalize) s = normalizeText(s);
      for (const line of candidateLines(s)) {
        const k = boilerplateKey(line);
        if (k !== undefined) inRecord.add(hashString(k));
      }
    }
    for (const h of inRecord) counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  const out = new Set<number>();
  counts.forEach((n, h) => {
    if (n >= minRecords) out.add(h);
  });
  return out;
}

/** Runs the recipe over `opts.input`; writes the outputs and the report, and returns what happened. */
export function cleanDataset(opts: CleanOptions): CleanResult {
  const started = Date.now();
  const { recipe } = opts;
  const { steps } = recipe;
  const outputs = outputPaths(opts.input, recipe, opts.outDir);
  if (!fs.existsSync(opts.input)) throw new Error(l10n.t('{0} does not exist', opts.input));
  const passes = (steps.boilerplate ? 1 : 0) + 1 + (recipe.split ? 1 : 0);
  let passIndex = 0;
  let lastPost = 0;
  const progress = (stage: string, f: number, records: number) => {
    if (opts.cancelled?.()) throw new CleanCancelled();
    const now = Date.now();
    if (now - lastPost < 100) return;
    lastPost = now;
    opts.onProgress?.({ stage, fraction: (passIndex + Math.min(1, f)) / passes, records });
  };

  const tokenizer = lengthModel(recipe, opts.recipeDir);
  const boilerplate = steps.boilerplate ? findBoilerplate(opts, steps.boilerplate.minRecords, progress) : undefined;
  if (boilerplate) passIndex++;

  const order: (StepId | 'parse' | 'empty' | 'convert')[] = ['parse', 'html', 'normalize', 'boilerplate', 'identity', 'pii', 'empty', 'length', 'repetition', 'symbols', 'language', 'exactDedupe', 'nearDedupe', 'convert'];
  const active = order.filter((id) => id === 'parse' || id === 'empty' || (id === 'convert' ? recipe.format !== 'keep' : isStepOn(steps, id)));
  const tallies = new Map(active.map((id) => [id, newTally(id, STEP_TITLES[id])]));
  const t = (id: (typeof order)[number]) => tallies.get(id)!;
  if (steps.length) t('length').note = tokenizer
    ? l10n.t('Lengths are in tokens of {0}\'s tokenizer.', path.basename(tokenizer.dir))
    : l10n.t('Lengths are in characters: the recipe names no model folder (set steps.length.model to count tokens of your model).');

  const staging = new AtomicLines(path.join(path.dirname(outputs.removed), `.${path.basename(opts.input)}.kept`));
  const removedFile = new AtomicLines(outputs.removed);
  const finals: AtomicLines[] = [];
  const exact = steps.exactDedupe ? new HashTable() : undefined;
  const near = steps.nearDedupe ? new MinHashLsh(steps.nearDedupe.threshold, steps.nearDedupe.permutations, recipe.seed) : undefined;
  const sourceIds = new Map<string, number>();
  const sourceCounts = new Map<string, number>();
  const fileName = path.basename(opts.input);
  let records = 0, blankLines = 0, kept = 0;

  try {
    for (const { line, text, bytesRead, size } of readLines(opts.input)) {
      if (text.trim() === '') {
        blankLines++;
        continue;
      }
      records++;
      if (records % 256 === 0) progress('Cleaning', size ? bytesRead / size : 1, records);
      let current: StepTally | undefined;
      const remove = (id: (typeof order)[number], reason: string, detail?: string, value?: unknown) => {
        const tally = t(id);
        recordRemoval(tally, reason, line, text, detail);
        let original: unknown = value;
        if (original === undefined) {
          try {
            original = JSON.parse(text);
          } catch {
            original = text;
          }
        }
        const entry: SetAsideRecord & { step: string; detail?: string } = { file: fileName, row: line, reason, step: tally.title, value: original };
        if (detail) entry.detail = detail;
        removedFile.write(JSON.stringify(entry));
      };
      // Each step sees the records the previous one kept.
      const enter = (id: (typeof order)[number]): StepTally | undefined => {
        const tally = tallies.get(id);
        if (tally) {
          tally.in++;
          current = tally;
        }
        return tally;
      };
      const pass = () => {
        if (current) current.out++;
      };

      enter('parse');
      const p = parseRecord(text);
      if ('reason' in p) {
        remove('parse', p.reason, p.detail, text);
        continue;
      }
      const original = p.record;
      pass();

      if (enter('html')) {
        if (rewrite(p, htmlToText)) t('html').changed++;
        pass();
      }
      if (enter('normalize')) {
        if (rewrite(p, normalizeText)) t('normalize').changed++;
        pass();
      }
      if (boilerplate && enter('boilerplate')) {
        let lines = 0;
        if (rewrite(p, (s) => {
          const r = dropLines(s, (k) => boilerplate.has(hashString(k)));
          lines += r.removed;
          return r.text;
        })) t('boilerplate').changed++;
        addCount(t('boilerplate'), l10n.t('lines removed'), lines);
        pass();
      }
      if (steps.identity && enter('identity')) {
        const name = steps.identity.name;
        let n = 0;
        if (rewrite(p, (s) => {
          const r = replaceIdentity(s, name);
          n += r.replaced;
          return r.text;
        })) t('identity').changed++;
        addCount(t('identity'), l10n.t('placeholders replaced'), n);
        pass();
      }
      if (steps.pii && enter('pii')) {
        const kinds = steps.pii;
        if (rewrite(p, (s) => {
          const r = redactPii(s, kinds);
          addCount(t('pii'), l10n.t('e-mails'), r.counts.email);
          addCount(t('pii'), l10n.t('phone numbers'), r.counts.phone);
          addCount(t('pii'), l10n.t('URLs'), r.counts.url);
          return r.text;
        })) t('pii').changed++;
        pass();
      }

      enter('empty');
      const texts = recordTexts(p.record, p.format);
      const before = recordTexts(original, p.format);
      const emptied = texts.findIndex((s, i) => s.trim() === '' && before[i].trim() !== '');
      if (emptied >= 0 || texts.every((s) => s.trim() === '')) {
        remove('empty', l10n.t('a text field became empty'), emptied >= 0 ? l10n.t('text {0} of the record', emptied + 1) : undefined, original);
        continue;
      }
      pass();
      const joined = texts.join('\n');

      if (steps.length && enter('length')) {
        const n = tokenizer ? tokenizer.encode(joined).length : joined.length;
        const unit = tokenizer ? l10n.t('tokens') : l10n.t('characters');
        if (n < steps.length.min) {
          remove('length', l10n.t('shorter than {0} {1}', steps.length.min, unit), `${n} ${unit}`, original);
          continue;
        }
        if (steps.length.max > 0 && n > steps.length.max) {
          remove('length', l10n.t('longer than {0} {1}', steps.length.max, unit), `${n} ${unit}`, original);
          continue;
        }
        pass();
      }
      if (steps.repetition && enter('repetition')) {
        const r = repeatedNgramRatio(joined, steps.repetition.n);
        if (r > steps.repetition.maxRatio) {
          remove('repetition', l10n.t('more than {0}% repeated {1}-word sequences', Math.round(steps.repetition.maxRatio * 100), steps.repetition.n), l10n.t('{0}% repeated', Math.round(r * 100)), original);
          continue;
        }
        pass();
      }
      if (steps.symbols && enter('symbols')) {
        const r = symbolRatio(joined);
        if (r > steps.symbols.maxRatio) {
          remove('symbols', l10n.t('more than {0}% symbols', Math.round(steps.symbols.maxRatio * 100)), l10n.t('{0}% symbols', Math.round(r * 100)), original);
          continue;
        }
        pass();
      }
      if (steps.language && enter('language')) {
        const lang = detectLanguage(joined);
        addCount(t('language'), lang === 'und' ? l10n.t('too short to tell (kept)') : lang);
        if (lang !== 'und' && !steps.language.keep.includes(lang)) {
          remove('language', l10n.t('language not in {0}', steps.language.keep.join(', ')), lang, original);
          continue;
        }
        pass();
      }
      if (exact && enter('exactDedupe')) {
        const key = nearDuplicateHash(JSON.stringify(texts));
        const first = exact.get(key);
        if (first !== undefined) {
          remove('exactDedupe', l10n.t('exact duplicate (ignoring case and spacing)'), l10n.t('of line {0}', first), original);
          continue;
        }
        exact.set(key, line);
        pass();
      }
      if (near && steps.nearDedupe && enter('nearDedupe')) {
        const sig = signature(shingleHashes(joined, steps.nearDedupe.shingle), steps.nearDedupe.permutations, recipe.seed);
        const match = near.check(sig, line);
        if (match) {
          remove('nearDedupe', l10n.t('near duplicate (Jaccard ≥ {0})', steps.nearDedupe.threshold), l10n.t('of line {0}, similarity ≈ {1}', match.line, match.similarity.toFixed(2)), original);
          continue;
        }
        pass();
      }
      let out: unknown = p.record;
      if (recipe.format !== 'keep' && enter('convert')) {
        out = convertRecord(p.record, p.format, recipe.format);
        if (out === undefined) {
          remove('convert', l10n.t('cannot be written as {0} without losing fields', recipe.format), p.format, original);
          continue;
        }
        pass();
      }
      const source = recordSource(p.record);
      let id = sourceIds.get(source);
      if (id === undefined) sourceIds.set(source, (id = sourceIds.size));
      sourceCounts.set(source, (sourceCounts.get(source) ?? 0) + 1);
      staging.write(`${id}\t${JSON.stringify(out)}`);
      kept++;
    }
    passIndex++;
    staging.close();

    let train = 0, evalN = 0;
    const bySource = new Map<string, { train: number; eval: number }>();
    if (recipe.split && outputs.train && outputs.eval) {
      const stratified = recipe.split.stratify && sourceCounts.size > 1;
      const counts = stratified ? sourceCounts : new Map([['', kept]]);
      const allocation = allocateEval(counts, evalTotal(kept, recipe.split));
      const splitter = new StreamingSplitter(counts, allocation, recipe.seed);
      const names = [...sourceIds.keys()];
      const trainFile = new AtomicLines(outputs.train), evalFile = new AtomicLines(outputs.eval);
      finals.push(trainFile, evalFile);
      let n = 0;
      for (const { text, bytesRead, size } of readLines(staging.partial)) {
        if (text === '') continue;
        if (++n % 1024 === 0) progress('Splitting', size ? bytesRead / size : 1, n);
        const tab = text.indexOf('\t');
        const source = names[Number(text.slice(0, tab))];
        const group = stratified ? source : '';
        const toEval = splitter.toEval(group);
        (toEval ? evalFile : trainFile).write(text.slice(tab + 1));
        const s = bySource.get(source) ?? { train: 0, eval: 0 };
        if (toEval) s.eval++;
        else s.train++;
        bySource.set(source, s);
      }
      train = trainFile.lines;
      evalN = evalFile.lines;
    } else if (outputs.clean) {
      const cleanFile = new AtomicLines(outputs.clean);
      finals.push(cleanFile);
      for (const { text } of readLines(staging.partial)) if (text !== '') cleanFile.write(text.slice(text.indexOf('\t') + 1));
      train = cleanFile.lines;
    }
    staging.abort();

    const removed = [...tallies.values()].reduce((a, tally) => a + removedTotal(tally), 0);
    const result: CleanResult = {
      input: opts.input, recipe, records, blankLines, kept, train, eval: evalN, removed,
      steps: [...tallies.values()],
      sources: [...bySource].map(([source, s]) => ({ source, ...s })),
      outputs, seconds: (Date.now() - started) / 1000,
    };
    for (const f of finals) f.commit();
    removedFile.commit();
    writeFileAtomic(outputs.report, cleanReportMarkdown(result));
    return result;
  } catch (e) {
    staging.abort();
    removedFile.abort();
    for (const f of finals) f.abort();
    throw e;
  }
}
