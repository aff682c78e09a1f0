// The dataset workbench as one flow in the real host: a Parquet file in the datasets library's
// layout is imported to chat messages, the JSONL is cleaned (normalised, personal data redacted,
// duplicates removed) and split into train and eval, and both halves lint clean. The Parquet
// source and the imported JSONL are left as they were.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CleanResult } from '../../../src/core/workbench/clean/pipeline';
import type { ImportSummary } from '../../../src/core/workbench/import/pipeline';
import { PAIRS, writePairsParquet } from '../../unit/workbench/import-fixtures';
import { closeAllEditors, workspaceFile } from './helpers';

suite('dataset workbench flow', function () {
  this.timeout(120_000);
  teardown(closeAllEditors);

  test('Parquet → Import Dataset… → Clean Dataset… → train and eval JSONL without lint errors', async () => {
    const parquet = workspaceFile('flow/pairs.parquet').fsPath;
    fs.mkdirSync(path.dirname(parquet), { recursive: true });
    writePairsParquet(parquet);
    const source = fs.readFileSync(parquet);

    const imported = await vscode.commands.executeCommand<ImportSummary | undefined>('tuner.importDataset', vscode.Uri.file(parquet), { format: 'messages', fields: { user: 'instruction', assistant: 'response' } });
    assert.ok(imported, 'imported');
    assert.equal(imported.recordsOut, PAIRS.length);
    // A copy of one record: the cleaner removes it as an exact duplicate.
    const jsonl = fs.readFileSync(imported.output, 'utf8');
    fs.appendFileSync(imported.output, jsonl.split('\n')[3] + '\n');
    const cleanInput = fs.readFileSync(imported.output, 'utf8');

    const recipe = { version: 1, format: 'keep', seed: 11, steps: { normalize: true, pii: { email: true, phone: true, url: true }, exactDedupe: true }, split: { evalRatio: 0.2, stratify: true } };
    const cleaned = await vscode.commands.executeCommand<CleanResult | undefined>('tuner.cleanDataset', vscode.Uri.file(imported.output), { recipe, openReport: false });
    assert.ok(cleaned, 'cleaned');
    assert.equal(cleaned.records, PAIRS.length + 1);
    assert.equal(cleaned.removed, 1, 'the copy');
    assert.equal(cleaned.train + cleaned.eval, PAIRS.length);
    assert.equal(cleaned.eval, 5);

    const lines = (f: string) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean);
    const train = lines(cleaned.outputs.train!), evals = lines(cleaned.outputs.eval!);
    assert.equal(new Set([...train, ...evals]).size, PAIRS.length, 'no record in both halves, none twice');
    for (const file of [cleaned.outputs.train!, cleaned.outputs.eval!]) {
      const uri = vscode.Uri.file(file);
      const report = await vscode.commands.executeCommand<{ format: string; records: number } | undefined>('tuner.lintDataset', uri);
      assert.equal(report?.format, 'messages', `${path.basename(file)} is chat messages`);
      assert.deepEqual(vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).map((d) => d.message), [], `${path.basename(file)} lints clean`);
    }
    assert.deepEqual(fs.readFileSync(parquet), source, 'the Parquet source is unchanged');
    assert.equal(fs.readFileSync(imported.output, 'utf8'), cleanInput, 'the imported JSONL is unchanged by cleaning');
  });
});
