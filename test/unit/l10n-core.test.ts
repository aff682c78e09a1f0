// The text src/core composes follows the display language: with a pseudo-localised bundle (every
// message of l10n/bundle.l10n.json with its letters accented and put in ⟦ ⟧, the {n} kept) the
// lint diagnostics of a bad record (inline and in the lint worker), an ARGS.json diagnostic, the
// planner's explanation and a run error all come out translated; with no bundle they are the
// English the other tests match.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, test } from 'node:test';
import { validateArgsText } from '../../src/core/args/validate';
import { disposeLintWorkers, lintInWorker } from '../../src/core/dataset/lint-client';
import { lintText } from '../../src/core/dataset/lint';
import { describedHardware } from '../../src/core/hardware/types';
import { useL10nBundle } from '../../src/core/l10n-bundle';
import type { DatasetInfo } from '../../src/core/planner/context';
import { defaultEstimator } from '../../src/core/planner/engine-estimator';
import { parseGoal } from '../../src/core/planner/goal';
import { planWithRules } from '../../src/core/planner/rules';
import { readArgsFile } from '../../src/core/run/resolve';
import { EXCEPTION_FILTERS } from '../../src/vscode/debug-adapter';
import { WORKER } from './dataset/helpers';
import { localModel } from './planner/models';
import { pseudo, pseudoBundle, translated } from './pseudo-l10n';

afterEach(() => useL10nBundle(undefined));

const BAD_RECORDS = '{"messages": [{"role": "user", "content": "Hi"}]}\n{"input": "a", "output": "b",}\n\n';

test('lint diagnostics and quick-fix titles of bad records are in the display language, and English without a bundle', () => {
  const english = lintText(BAD_RECORDS).problems;
  assert.ok(english.length >= 3, english.map((p) => p.message).join('\n'));
  assert.ok(english.some((p) => p.message === 'Blank line: JSON lines files have one record per line and no empty lines.'));
  useL10nBundle(pseudoBundle());
  const local = lintText(BAD_RECORDS).problems;
  assert.deepEqual(local.map((p) => p.code), english.map((p) => p.code), 'the same problems, only their words differ');
  for (const p of local) assert.ok(translated(p.message), `not translated: ${p.code} ${p.message}`);
  assert.ok(local.some((p) => p.message === pseudo('Blank line: JSON lines files have one record per line and no empty lines.')));
  const fixes = local.flatMap((p) => p.fixes ?? []).map((f) => f.title);
  assert.ok(fixes.includes(pseudo('Remove blank line')), fixes.join(' | '));
  useL10nBundle(undefined);
  assert.deepEqual(lintText(BAD_RECORDS).problems.map((p) => p.message), english.map((p) => p.message));
});

test('the lint worker thread gets the bundle and writes its diagnostics in the display language', async () => {
  useL10nBundle(pseudoBundle());
  try {
    const r = await lintInWorker(WORKER, { text: BAD_RECORDS }, {});
    assert.ok(r.problems.length >= 3);
    for (const p of r.problems) assert.ok(translated(p.message), `not translated in the worker: ${p.code} ${p.message}`);
  } finally {
    disposeLintWorkers();
  }
});

test('an ARGS.json diagnostic and its quick fix are in the display language', () => {
  const text = '{"model": "./m", "data": "./d.jsonl", "learning_rat": 0.001}';
  const english = validateArgsText(text).problems.find((p) => p.message.startsWith('Unknown key "learning_rat"'));
  assert.ok(english, 'the unknown key is reported');
  useL10nBundle(pseudoBundle());
  const local = validateArgsText(text).problems.find((p) => p.code === english.code && p.range.col === english.range.col);
  assert.ok(local && translated(local.message), local?.message);
  assert.match(local.message, /learning_rat/, 'the key itself is not translated');
  assert.ok(local.fixes?.every((f) => translated(f.title)), local.fixes?.map((f) => f.title).join(' | '));
});

test("the planner's explanation is in the display language", () => {
  const hw = describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 });
  const dataset: DatasetInfo = { ref: './support.jsonl', file: '/w/support.jsonl', format: 'messages', records: 2000, errors: 0, warnings: 0, tokens: { mean: 300, p95: 700, max: 1500, sampled: 2000, counter: 'tokenizer' } };
  const input = { intent: parseGoal('fine-tune for customer support'), hardware: hw, model: localModel('qwen2.5-1.5b'), models: [], dataset, estimator: defaultEstimator };
  const english = planWithRules(input).explanation;
  assert.equal(english.length, 4);
  assert.ok(!english.some(translated), english.join('\n'));
  useL10nBundle(pseudoBundle());
  const local = planWithRules(input).explanation;
  for (const sentence of local) assert.ok(translated(sentence), `not translated: ${sentence}`);
});

test('a run error (an ARGS.json with errors) is in the display language, each diagnostic too', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-l10n-'));
  const file = path.join(dir, 'ARGS.json');
  fs.writeFileSync(file, '{"data": "./d.jsonl", "epochs": "three"}');
  try {
    assert.throws(() => readArgsFile(file), (e: Error) => e.message.startsWith('ARGS.json has 2 errors:\n'));
    useL10nBundle(pseudoBundle());
    assert.throws(
      () => readArgsFile(file),
      (e: Error) => {
        const [head, ...lines] = e.message.split('\n');
        assert.equal(head, pseudo('ARGS.json has {0} errors:\n{1}').split('\n')[0].replace('{0}', '2'));
        for (const line of lines) assert.ok(translated(line.replace(/^.*?TUN\d+ |^.*?: \S+ /, '')), line);
        return true;
      },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the debug adapter's exception breakpoints are named in the display language", () => {
  assert.deepEqual(EXCEPTION_FILTERS.map((f) => f.label), ['On NaN/Inf', 'On loss spike (× threshold)']);
  useL10nBundle(pseudoBundle());
  for (const f of EXCEPTION_FILTERS) assert.ok(translated(f.label) && translated(f.description ?? ''), `${f.label} / ${f.description}`);
});
