// "Tuner: Import Dataset…" in the real host: a CSV imported through the quick picks a user sees
// (the mapping step with its live preview beside it, screenshotted), and a Parquet file (written
// by hyparquet-writer in the datasets library's layout) imported with the mapping given as the
// command's arguments. Each result is JSONL beside its source, opened, and has no lint errors.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ImportSummary } from '../../../src/core/workbench/import/pipeline';
import { PAIRS, writePairsParquet } from '../../unit/workbench/import-fixtures';
import { REPO_ROOT } from '../../unit/run/tiny-run';
import { closeAllEditors, waitFor, workspaceFile } from './helpers';
import { answerQuickInput, workbench, workbenchDriverAvailable } from './workbench-driver';

const CSV = 'question,answer\nWhat is 2 + 2?,4\n"Name a ""prime""",7\nthis row has no separator\nCapital of France?,Paris\n';

async function lintErrors(uri: vscode.Uri): Promise<string[]> {
  const report = await vscode.commands.executeCommand<{ format: string; records: number } | undefined>('tuner.lintDataset', uri);
  assert.ok(report, `${uri.fsPath} was linted`);
  return vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).map((d) => `${d.range.start.line + 1}: ${d.message}`);
}

suite('Import Dataset', function () {
  this.timeout(120_000);
  teardown(closeAllEditors);

  test('a CSV through the quick picks: the mapping step previews the records, the JSONL opens lint-clean, the broken row is set aside', async () => {
    assert.ok(workbenchDriverAvailable, 'this suite runs under run-host.mjs');
    const csv = workspaceFile('import/pairs.csv');
    fs.mkdirSync(path.dirname(csv.fsPath), { recursive: true });
    fs.writeFileSync(csv.fsPath, CSV);
    const running = vscode.commands.executeCommand<ImportSummary | undefined>('tuner.importDataset', csv, { format: 'alpaca' });
    const preview = await waitFor('the preview beside the mapping step', () => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'tuner-import-preview' && e.document.getText().includes('"instruction":"What is 2 + 2?"')));
    assert.match(preview.document.getText(), /Mapping: instruction ← question, output ← answer/);
    // The user unmaps the instruction column: the preview says why each record would be set aside; mapped again, it fits.
    await answerQuickInput('map the columns', 'instruction');
    await answerQuickInput('Column for instruction', '(no column)');
    await waitFor('the preview to follow the change', () => preview.document.getText().includes('set aside: no column is mapped to instruction'));
    await answerQuickInput('map the columns', 'instruction');
    await answerQuickInput('Column for instruction', 'question');
    await waitFor('the preview to follow the change back', () => preview.document.getText().includes('"instruction":"What is 2 + 2?"'));
    await new Promise((r) => setTimeout(r, 800)); // the quick pick and the preview render
    await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/import-mapping.png') });
    await answerQuickInput('map the columns', 'Import');
    const summary = await running;
    assert.ok(summary);
    assert.equal(fs.readFileSync(csv.fsPath, 'utf8'), CSV, 'the source is unchanged');
    assert.equal(summary.output, workspaceFile('import/pairs.alpaca.jsonl').fsPath);
    assert.deepEqual([summary.recordsIn, summary.recordsOut, summary.skipped], [4, 3, 1]);
    const lines = fs.readFileSync(summary.output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines[1], { instruction: 'Name a "prime"', output: '7' });
    const side = JSON.parse(fs.readFileSync(summary.skippedFile!, 'utf8').trim()) as { row: number; reason: string };
    assert.equal(side.row, 4);
    assert.match(side.reason, /^pairs\.csv row 4: /);
    const out = vscode.Uri.file(summary.output);
    await waitFor('the result opened', () => vscode.window.visibleTextEditors.some((e) => e.document.uri.fsPath === out.fsPath));
    assert.deepEqual(await lintErrors(out), []);
    await new Promise((r) => setTimeout(r, 800));
    await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/import-result.png') });
  });

  test('a Parquet file in the datasets library layout, mapped by the command arguments, to chat messages', async () => {
    const parquet = workspaceFile('import/train.parquet');
    fs.mkdirSync(path.dirname(parquet.fsPath), { recursive: true });
    writePairsParquet(parquet.fsPath);
    const summary = await vscode.commands.executeCommand<ImportSummary | undefined>('tuner.importDataset', parquet, { format: 'messages', fields: { user: 'instruction', assistant: 'response' } });
    assert.ok(summary);
    assert.deepEqual([summary.recordsOut, summary.skipped], [PAIRS.length, 0]);
    const first = JSON.parse(fs.readFileSync(summary.output, 'utf8').split('\n')[0]) as unknown;
    assert.deepEqual(first, { messages: [{ role: 'user', content: PAIRS[0].instruction }, { role: 'assistant', content: PAIRS[0].response }], id: 1 });
    assert.deepEqual(await lintErrors(vscode.Uri.file(summary.output)), []);
  });
});
