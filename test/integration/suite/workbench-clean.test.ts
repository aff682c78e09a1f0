// "Tuner: Clean Dataset…" in the real host, end to end on a JSONL in the workspace: the steps'
// quick pick and the parameter boxes answered as a user would (screenshot of the quick pick),
// the recipe saved beside the data, the outputs and the removed-records side file written, the
// report opened in the Markdown preview (screenshot), and the source unchanged. Running again
// from the saved recipe gives the same bytes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CleanResult } from '../../../src/core/workbench/clean/pipeline';
import { REPO_ROOT } from '../../unit/run/tiny-run';
import { closeAllEditors, tunerApi, waitFor, workspaceFile } from './helpers';
import { answerQuickInput, quickInput, workbench, workbenchDriverAvailable } from './workbench-driver';

const topics = ['rivers', 'mountains', 'volcanoes', 'glaciers', 'deserts', 'forests', 'oceans', 'islands', 'canyons', 'lakes', 'caves', 'reefs', 'tides', 'storms', 'winds', 'soils', 'dunes', 'fjords', 'deltas', 'plains'];

function dataset(): string {
  const lines = topics.map((t, i) => JSON.stringify({
    question: `What shapes ${t}?`,
    answer: `${t} are shaped over long periods by water, wind and rock. Case ${i}: write to field.team${i}@example.org or visit https://example.org/${t} for   more.`,
    source: i % 4 === 0 ? 'textbook' : 'web',
  }));
  lines.push(JSON.stringify({ question: 'What shapes RIVERS?', answer: 'rivers are shaped over long periods by water, wind and rock. Case 0: write to field.team0@example.org or visit https://example.org/rivers for more.', source: 'web' }));
  lines.push('{"question": "cut off');
  return lines.join('\n') + '\n';
}

suite('Clean Dataset (workbench)', function () {
  this.timeout(120_000);
  const data = () => workspaceFile('clean-me.jsonl').fsPath;
  const recipeFile = () => workspaceFile('clean-me.recipe.json').fsPath;

  suiteSetup(async () => {
    await tunerApi();
    fs.writeFileSync(data(), dataset());
    fs.rmSync(recipeFile(), { force: true });
  });
  teardown(closeAllEditors);

  test('steps ticked in the quick pick, parameters answered; outputs, side file and report written, source unchanged', async () => {
    const before = fs.readFileSync(data());
    const uri = vscode.Uri.file(data());
    let result: CleanResult | undefined;
    if (workbenchDriverAvailable) {
      const running = vscode.commands.executeCommand<CleanResult | undefined>('tuner.cleanDataset', uri);
      // The steps, ticked as the default recipe has them (no recipe saved yet).
      const stepsTitle = 'Clean clean-me.jsonl: steps';
      await workbench({ do: 'fill', selector: quickInput(stepsTitle), text: '' });
      await new Promise((r) => setTimeout(r, 500));
      await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/clean-dataset-steps.png') });
      await workbench({ do: 'press', key: 'Enter' });
      await answerQuickInput('Clean clean-me.jsonl: Remove near duplicates', '0.8');
      await answerQuickInput('Clean clean-me.jsonl: Split into train and eval', '0.2');
      await answerQuickInput('Clean clean-me.jsonl: seed', '7');
      await answerQuickInput('Clean clean-me.jsonl: output format', 'Keep');
      result = await running;
    } else {
      result = await vscode.commands.executeCommand<CleanResult | undefined>('tuner.cleanDataset', uri, {
        recipe: { version: 1, format: 'keep', seed: 7, steps: { normalize: true, pii: { email: true, phone: true, url: true }, exactDedupe: true, nearDedupe: { threshold: 0.8, shingle: 5, permutations: 128 } }, split: { evalRatio: 0.2, stratify: true } },
      });
    }
    assert.ok(result, 'the command returns its result');
    assert.deepEqual(fs.readFileSync(data()), before, 'the source file is unchanged');
    const recipe = JSON.parse(fs.readFileSync(recipeFile(), 'utf8'));
    assert.deepEqual(Object.keys(recipe.steps).sort(), ['exactDedupe', 'nearDedupe', 'normalize', 'pii']);
    assert.equal(recipe.seed, 7);
    assert.deepEqual(recipe.split, { evalRatio: 0.2, stratify: true });

    assert.equal(result.records, 22);
    assert.equal(result.removed, 2, 'the broken line and the duplicate');
    assert.equal(result.train + result.eval, 20);
    assert.equal(result.eval, 4);
    const lines = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
    const train = lines(result.outputs.train!), evals = lines(result.outputs.eval!);
    assert.equal(train.length + evals.length, 20);
    assert.ok([...train, ...evals].every((l) => !/@example\.org|https:/.test(l) && l.includes('<EMAIL>') && l.includes('<URL>')), 'personal data redacted');
    const removed = lines(result.outputs.removed).map((l) => JSON.parse(l) as { row: number; reason: string });
    assert.deepEqual(removed.map((r) => [r.row, r.reason]).sort(), [[21, 'exact duplicate (ignoring case and spacing)'], [22, 'not valid JSON']]);
    const report = fs.readFileSync(result.outputs.report, 'utf8');
    assert.match(report, /In = kept \+ removed: 22 = 20 \+ 2\./);
    assert.match(report, /\| textbook \| 4 \| 1 \|/);

    // The report is open in the Markdown preview.
    await waitFor('the report in the Markdown preview', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => /clean-me\.clean-report\.md/.test(t.label)));
    if (workbenchDriverAvailable) {
      // The preview has rendered once its heading is in the webview (the driver looks in every frame).
      await workbench({ do: 'click', selector: 'h1:has-text("Cleaning report: clean-me.jsonl")' });
      await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/clean-dataset-report.png') });
    }
  });

  test('running again from the saved recipe gives the same outputs', async () => {
    const uri = vscode.Uri.file(data());
    const recipe = JSON.parse(fs.readFileSync(recipeFile(), 'utf8'));
    const first = await vscode.commands.executeCommand<CleanResult>('tuner.cleanDataset', uri, { recipe, openReport: false });
    const bytes = () => [first.outputs.train!, first.outputs.eval!, first.outputs.removed].map((f) => fs.readFileSync(f, 'utf8'));
    const one = bytes();
    const again = await vscode.commands.executeCommand<CleanResult>('tuner.cleanDataset', uri, { recipe, openReport: false });
    assert.deepEqual(again.outputs, first.outputs);
    assert.deepEqual(bytes(), one);
    // A bad recipe is reported (the command's error message) and changes nothing.
    const saved = fs.readFileSync(recipeFile(), 'utf8');
    assert.equal(await vscode.commands.executeCommand('tuner.cleanDataset', uri, { recipe: { version: 1, steps: { nearDedupe: { threshold: 3, shingle: 5, permutations: 128 } } }, openReport: false }), undefined);
    assert.equal(fs.readFileSync(recipeFile(), 'utf8'), saved);
    assert.deepEqual(bytes(), one);
  });
});
