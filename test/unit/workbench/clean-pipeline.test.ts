// The whole cleaning pipeline on a small real dataset: the counts add up, every removed record
// is in the side file with its line, the source is unchanged, the recipe re-runs to the same
// bytes, no eval record repeats a training record, token lengths use the model's tokenizer,
// and a cancelled run leaves nothing behind. The worker is run through its client too.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { cleanInWorker } from '../../../src/core/workbench/clean/clean-client';
import { cleanDataset, type CleanResult } from '../../../src/core/workbench/clean/pipeline';
import { checkRecipe, defaultRecipe, readRecipe, recipePathFor, recipeText, RecipeError, STEP_DEFAULTS, type Recipe } from '../../../src/core/workbench/clean/recipe';
import { removedTotal } from '../../../src/core/workbench/clean/tally';
import { shingleJaccard } from '../../../src/core/workbench/minhash';
import { nearDuplicateHash } from '../../../src/core/dataset/near-duplicates';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const topics = ['rivers', 'mountains', 'volcanoes', 'glaciers', 'deserts', 'forests', 'oceans', 'islands', 'canyons', 'lakes', 'caves', 'reefs'];

/** A dataset with known problems: bad lines, HTML, personal data, identity placeholders, a footer, duplicates, junk, French, several sources. */
function dataset(): string {
  const lines: string[] = [];
  const footer = 'This answer was written by the Example Geography Team.';
  topics.forEach((t, i) => {
    const answer = `${t[0].toUpperCase()}${t.slice(1)} shape the land over long periods of time. Scientists study ${t} to learn how climate, water and rock interact, and record case ${i} in their field notes for later comparison.`;
    lines.push(JSON.stringify({ input: `Tell me about ${t}.`, output: `${answer}\n${footer}`, source: i % 3 === 0 ? 'textbook' : 'web' }));
  });
  lines.push(JSON.stringify({ input: 'Who are you?', output: 'I am [MODEL NAME], an assistant. Write to help@example.com or call +44 20 7946 0958.', source: 'identity' }));
  lines.push(JSON.stringify({ messages: [{ role: 'user', content: 'Show <b>bold</b> text' }, { role: 'assistant', content: '<p>Use the <code>b</code> tag &amp; done.</p>' }], source: 'web' }));
  lines.push('{"input": "broken", "output": ');
  lines.push('');
  lines.push(JSON.stringify({ input: 'TELL me about rivers.', output: `Rivers shape the land over long periods of time. Scientists study rivers to learn how climate, water and rock interact, and record case 0 in their field notes for later comparison.\n${footer}`, source: 'web' }));
  lines.push(JSON.stringify({ input: 'Tell me about lakes!', output: `Lakes shape the land over long periods of time. Scientists study lakes to learn how climate, water and rock interact, and record case 9 in their notes for later comparison.\n${footer}`, source: 'web' }));
  lines.push(JSON.stringify({ input: 'Spam', output: 'click here click here click here click here click here click here', source: 'web' }));
  lines.push(JSON.stringify({ input: 'Table', output: '|---|---|---|\n|===|###|***|', source: 'web' }));
  lines.push(JSON.stringify({ input: 'Parlez-moi des rivières.', output: 'Les rivières façonnent le paysage pendant de longues périodes et les scientifiques les étudient avec attention.', source: 'web' }));
  lines.push(JSON.stringify({ input: 'x', output: 'y' }));
  lines.push(JSON.stringify({ unknown: 'field' }));
  return lines.join('\n') + '\n';
}

function recipe(): Recipe {
  return {
    version: 1, format: 'keep', seed: 7,
    steps: {
      html: true, normalize: true, boilerplate: { minRecords: 5 }, identity: { name: 'Tuner' }, pii: STEP_DEFAULTS.pii,
      length: { min: 5, max: 2000 }, repetition: { n: 2, maxRatio: 0.5 }, symbols: { maxRatio: 0.5 }, language: { keep: ['eng'] },
      exactDedupe: true, nearDedupe: { threshold: 0.7, shingle: 3, permutations: 128 },
    },
    split: { evalRatio: 0.25, stratify: true },
  };
}

function workdir(): { dir: string; input: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-clean-'));
  const input = path.join(dir, 'geo.jsonl');
  fs.writeFileSync(input, dataset());
  return { dir, input };
}

const readJsonl = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
const reasonsOf = (r: CleanResult) => Object.fromEntries(r.steps.flatMap((s) => Object.entries(s.removed).map(([k, v]) => [`${s.id}: ${k}`, v.lines])));

test('every step does its part; the counts add up and the side file holds every removed record', () => {
  const { dir, input } = workdir();
  const before = fs.readFileSync(input);
  const r = cleanDataset({ input, recipe: recipe(), recipeDir: dir });
  assert.deepEqual(fs.readFileSync(input), before, 'the source is unchanged');
  assert.equal(r.records, 22);
  assert.equal(r.blankLines, 1);
  assert.deepEqual(reasonsOf(r), {
    'parse: not valid JSON': [15],
    'parse: matches no known format': [23],
    'length: shorter than 5 characters': [22],
    'repetition: more than 50% repeated 2-word sequences': [19],
    'symbols: more than 50% symbols': [20],
    'language: language not in eng': [21],
    'exactDedupe: exact duplicate (ignoring case and spacing)': [17],
    'nearDedupe: near duplicate (Jaccard ≥ 0.7)': [18],
  });
  // In = out + removed, for the whole run and for every step.
  assert.equal(r.records, r.kept + r.removed);
  assert.equal(r.kept, r.train + r.eval);
  for (const s of r.steps) assert.equal(s.in, s.out + removedTotal(s), s.title);
  for (let i = 1; i < r.steps.length; i++) assert.equal(r.steps[i].in, r.steps[i - 1].out, `${r.steps[i].title} sees what ${r.steps[i - 1].title} kept`);
  const removed = readJsonl(r.outputs.removed);
  assert.equal(removed.length, r.removed);
  assert.deepEqual(removed.map((e) => e.row).sort((a, b) => Number(a) - Number(b)), [15, 17, 18, 19, 20, 21, 22, 23]);
  const sourceLines = fs.readFileSync(input, 'utf8').split('\n');
  for (const e of removed) {
    assert.equal(e.file, 'geo.jsonl');
    const original = sourceLines[(e.row as number) - 1];
    assert.equal(typeof e.value === 'string' ? e.value : JSON.stringify(e.value), typeof e.value === 'string' ? original : JSON.stringify(JSON.parse(original)), 'the side file keeps the record as it was in the file');
  }
  // What the rewriting steps did.
  const kept = [...readJsonl(r.outputs.train!), ...readJsonl(r.outputs.eval!)];
  const all = JSON.stringify(kept);
  assert.ok(!all.includes('Example Geography Team'), 'the footer repeated in 14 records is gone');
  assert.ok(all.includes('I am Tuner, an assistant. Write to <EMAIL> or call <PHONE>.'));
  assert.ok(all.includes('"content":"Use the b tag & done."'), all);
  assert.ok(!/<b>|&amp;/.test(all));
  const report = fs.readFileSync(r.outputs.report, 'utf8');
  assert.match(report, /In = kept \+ removed: 22 = 14 \+ 8\./);
  assert.match(report, /\*\*near duplicate \(Jaccard ≥ 0\.7\)\*\*: 1 record, line 18/);
  assert.match(report, /lines removed: 14/);
  assert.match(report, /e-mails: 1 · phone numbers: 1/);
  assert.match(report, /Lengths are in characters: the recipe names no model folder/);
  assert.ok(!fs.readdirSync(dir).some((f) => f.includes('.partial-') || f.endsWith('.kept')), 'no staging file is left');
});

test('no eval record repeats or nearly repeats a training record; the split is stratified by source', () => {
  const { dir, input } = workdir();
  const r = cleanDataset({ input, recipe: recipe(), recipeDir: dir });
  const train = readJsonl(r.outputs.train!), evals = readJsonl(r.outputs.eval!);
  assert.equal(evals.length, Math.round(r.kept * 0.25));
  const text = (rec: Record<string, unknown>) => JSON.stringify(rec.messages ?? [rec.input, rec.output]);
  for (const e of evals) {
    for (const t of train) {
      assert.notEqual(nearDuplicateHash(text(e)), nearDuplicateHash(text(t)));
      assert.ok(shingleJaccard(text(e), text(t), 3) < 0.7, `${text(e)} ~ ${text(t)}`);
    }
  }
  const bySource = Object.fromEntries(r.sources.map((s) => [s.source, s]));
  assert.deepEqual(Object.keys(bySource).sort(), ['identity', 'textbook', 'web']);
  assert.equal(bySource.textbook.eval, 1, 'textbook (4 of 14 kept) gets its share of 4 eval records');
  assert.equal(bySource.web.eval, 3);
});

test('the recipe file round-trips and re-runs to the same outputs', () => {
  const { dir, input } = workdir();
  const file = recipePathFor(input);
  assert.equal(path.basename(file), 'geo.recipe.json');
  fs.writeFileSync(file, recipeText(recipe()));
  const again = readRecipe(file);
  assert.deepEqual(again, recipe());
  const first = cleanDataset({ input, recipe: again, recipeDir: dir });
  const bytes = (r: CleanResult) => [r.outputs.train!, r.outputs.eval!, r.outputs.removed].map((f) => fs.readFileSync(f, 'utf8'));
  const one = bytes(first);
  const second = cleanDataset({ input, recipe: readRecipe(file), recipeDir: dir });
  assert.deepEqual(bytes(second), one);
  const otherSeed = cleanDataset({ input, recipe: { ...again, seed: 8 }, recipeDir: dir });
  assert.notDeepEqual(bytes(otherSeed).slice(0, 2), one.slice(0, 2), 'another seed draws another split');
});

test('recipe errors name the file, the field and the fix; the JSON schema agrees with the checker', () => {
  const bad: [unknown, RegExp][] = [
    [{ version: 2 }, /"version" is 2; this Tuner reads version 1/],
    [{ version: 1, steps: { dedupe: true } }, /"steps.dedupe" is not a step; use one of html, normalize/],
    [{ version: 1, steps: { nearDedupe: { threshold: 2, shingle: 5, permutations: 128 } } }, /"steps.nearDedupe.threshold" is 2; use a number from 0.05 to 1/],
    [{ version: 1, steps: { language: { keep: ['en'] } } }, /"steps.language.keep" is \["en"\]; list ISO 639-3 codes/],
    [{ version: 1, split: { evalRatio: 0.1, evalCount: 5 } }, /"split" needs exactly one of evalRatio and evalCount/],
    [{ version: 1, format: 'csv' }, /"format" is "csv"/],
  ];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Ajv = require('ajv').default as new (o: object) => { compile(s: object): (v: unknown) => boolean };
  const validate = new Ajv({ allErrors: true, strict: false }).compile(JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas/clean-recipe.schema.json'), 'utf8')));
  for (const [value, message] of bad) {
    assert.throws(() => checkRecipe(value, '/data/geo.recipe.json'), (e: Error) => e instanceof RecipeError && e.message.startsWith('/data/geo.recipe.json: ') && message.test(e.message));
    assert.equal(validate(value), false, `the schema rejects ${JSON.stringify(value)} too`);
  }
  // What a schema cannot say: max below min.
  assert.throws(() => checkRecipe({ version: 1, steps: { length: { min: 10, max: 5 } } }, 'r.json'), /"steps.length.max" \(5\) is below min \(10\); raise max, or set it to 0/);
  for (const good of [defaultRecipe(), recipe(), { version: 1 }]) {
    assert.ok(validate(JSON.parse(recipeText(checkRecipe(good, 'r.json')))), JSON.stringify(good));
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { jsonValidation: { fileMatch: string[]; url: string }[] } };
  assert.ok(manifest.contributes.jsonValidation.some((j) => j.fileMatch.includes('**/*.recipe.json') && j.url === './schemas/clean-recipe.schema.json'));
});

test('lengths in tokens of a model folder; a missing tokenizer is a clear error', () => {
  const { dir, input } = workdir();
  const model = path.relative(dir, path.join(ROOT, 'models/starter'));
  const base: Recipe = { version: 1, format: 'keep', seed: 1, steps: { length: { min: 0, max: 40, model } }, split: false };
  const r = cleanDataset({ input, recipe: base, recipeDir: dir });
  const length = r.steps.find((s) => s.id === 'length')!;
  assert.match(length.note!, /tokens of starter's tokenizer/);
  const long = length.removed['longer than 40 tokens'];
  assert.ok(long && long.count >= 12, JSON.stringify(length.removed));
  assert.match(long.samples[0].detail!, /^\d+ tokens$/);
  assert.ok(fs.existsSync(r.outputs.clean!));
  assert.throws(() => cleanDataset({ input, recipe: { ...base, steps: { length: { min: 0, max: 40, model: 'no-such-model' } } }, recipeDir: dir }), /steps\.length\.model in the recipe\).*has no tokenizer\.json/);
});

test('converting to another format sets aside what cannot be converted without loss', () => {
  const { dir, input } = workdir();
  const r = cleanDataset({ input, recipe: { version: 1, format: 'text', seed: 1, steps: {}, split: false }, recipeDir: dir });
  const convert = r.steps.find((s) => s.id === 'convert')!;
  // Every prompt/answer record has a prompt, which plain text cannot hold.
  assert.deepEqual(Object.keys(convert.removed), ['cannot be written as text without losing fields']);
  assert.equal(convert.removed['cannot be written as text without losing fields'].count, convert.in);
  const qa = cleanDataset({ input, recipe: { version: 1, format: 'question-answer', seed: 1, steps: {}, split: false }, recipeDir: dir });
  for (const rec of readJsonl(qa.outputs.clean!)) assert.deepEqual(Object.keys(rec).filter((k) => k !== 'source').sort(), ['answer', 'question']);
  assert.equal(qa.kept, 20);
});

test('the worker runs the recipe with progress; cancelling leaves earlier outputs as they were', async () => {
  const { dir, input } = workdir();
  // Enough lines for the pipeline to check the cancel flag several times.
  fs.writeFileSync(input, Array.from({ length: 600 }, (_, i) => JSON.stringify({ text: `Record number ${i} about ${topics[i % topics.length]} and more words to shingle here.` })).join('\n'));
  const worker = path.join(ROOT, 'out/src/core/workbench/clean/clean-worker.js');
  const stages: string[] = [];
  const result = await cleanInWorker(worker, { input, recipe: defaultRecipe(), recipeDir: dir }, (p) => stages.push(p.stage));
  assert.equal(result.records, 600);
  assert.ok(stages.includes('Cleaning'), `progress arrived from the worker: ${stages.join(', ')}`);
  assert.equal(result.train + result.eval + result.removed, 600);
  const trainBefore = fs.readFileSync(result.outputs.train!, 'utf8');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(cleanInWorker(worker, { input, recipe: { ...defaultRecipe(), seed: 9 }, recipeDir: dir }, undefined, ac.signal), (e: Error) => e.name === 'AbortError' && /cancelled/.test(e.message));
  assert.equal(fs.readFileSync(result.outputs.train!, 'utf8'), trainBefore);
  assert.ok(!fs.readdirSync(dir).some((f) => f.includes('.partial-')), fs.readdirSync(dir).join(', '));
});
