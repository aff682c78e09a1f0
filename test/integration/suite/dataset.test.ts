// Dataset-level features in the real host: the status bar's format, forcing a format through
// the setting, conversions, fix-all, statistics, and large files linted in the worker.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { applyAction, closeAllEditors, codeActions, codeActionsOffering, diagnosticSummary, openDataset, rangeText, tunerApi, waitFor, waitForDiagnostics, workspaceFile } from './helpers';

suite('Dataset format, conversion, statistics and large files', () => {
  teardown(closeAllEditors);

  test('the status bar shows the detected format; forcing another via the setting flags every record', async () => {
    const api = await tunerApi();
    const doc = await openDataset('input-output.jsonl');
    await waitFor('status bar text', () => api.statusBarText() === 'JSONL: input-output · 3 records' || false);
    try {
      assert.strictEqual(await vscode.commands.executeCommand('tuner.chooseDatasetFormat', doc.uri, 'messages'), 'messages');
      assert.strictEqual(vscode.workspace.getConfiguration('tuner.dataset', doc.uri).get('format'), 'messages');
      await waitForDiagnostics(doc.uri, [0, 1, 2].map((l) => `TUN202 ${rangeText(l, 0, l, doc.lineAt(l).text.length)}`));
      await waitFor('forced status bar text', () => api.statusBarText() === 'JSONL: messages (forced) · 3 records' || false);
    } finally {
      await vscode.commands.executeCommand('tuner.chooseDatasetFormat', doc.uri, 'auto');
    }
    await waitForDiagnostics(doc.uri, []);
    assert.deepStrictEqual(await vscode.commands.executeCommand('tuner.lintDataset', doc.uri), { format: 'input-output', records: 3, problems: 0, engine: 'inline' });

    await openDataset('records.data.json');
    await waitFor('the status bar item to hide for a file that is not a dataset', () => api.statusBarText() === '' || false);
  });

  test('convert one record, then the whole file, to chat messages', async () => {
    const doc = await openDataset('input-output.jsonl');
    await waitForDiagnostics(doc.uri, []);
    const rewrite = vscode.CodeActionKind.RefactorRewrite;
    const convertOne = 'Convert this record to Chat messages (OpenAI)';
    await applyAction(await codeActionsOffering(doc.uri, new vscode.Range(0, 0, 0, 0), rewrite, convertOne), convertOne);
    assert.deepStrictEqual(JSON.parse(doc.lineAt(0).text), { messages: [{ role: 'user', content: 'What is LoRA?' }, { role: 'assistant', content: 'A low-rank adapter method.' }] });
    await waitFor('TUN202 on the other records', () => diagnosticSummary(doc.uri).length > 0);

    await applyAction(await codeActions(doc.uri, new vscode.Range(2, 0, 2, 0), rewrite), 'Convert every record in the file to Chat messages (OpenAI)');
    assert.deepStrictEqual(JSON.parse(doc.lineAt(2).text), { messages: [{ role: 'user', content: 'Name a prime' }, { role: 'assistant', content: '7' }] });
    // Pretraining text (input "") has no chat form: it stays as it was and keeps its diagnostic.
    assert.deepStrictEqual(JSON.parse(doc.lineAt(1).text), { input: '', output: 'Raw pretraining text about adapters.' });
    await waitForDiagnostics(doc.uri, [`TUN202 ${rangeText(1, 0, 1, doc.lineAt(1).text.length)}`]);
  });

  test('fix all applies every preferred fix in one undoable edit', async () => {
    const doc = await openDataset('fixable.jsonl');
    await waitFor('diagnostics', () => diagnosticSummary(doc.uri).length >= 3 || false);
    const actions = await codeActions(doc.uri, new vscode.Range(0, 0, 0, 0), vscode.CodeActionKind.SourceFixAll);
    await applyAction(actions, 'Fix all auto-fixable dataset problems');
    assert.deepStrictEqual(doc.getText().split('\n'), [
      '{"question": "What is 2+2?", "answer": "Four."}',
      '{"question": "What is 3+3?", "answer": "Six."}',
      '{"question": "What is 4+4?", "answer": "Eight."}',
      '',
    ]);
    await waitForDiagnostics(doc.uri, []);
  });

  test('Dataset Statistics shows counts, formats and duplicates as Markdown', async () => {
    const doc = await openDataset('broken.jsonl');
    const statsUri = await vscode.commands.executeCommand<vscode.Uri>('tuner.datasetStats', doc.uri);
    assert.ok(statsUri, 'the command returns the statistics document');
    const md = (await vscode.workspace.openTextDocument(statsUri)).getText();
    assert.match(md, /# Dataset statistics: broken\.jsonl/);
    assert.match(md, /\*\*3\*\* records/);
    assert.match(md, /\| Alpaca \(instruction \/ input \/ output\) \| 3 \|/);
    assert.match(md, /Exact duplicates: 1/);
  });

  test('a file with an invalid line: the status bar says so beside the record count; a record with no output counts no assistant turn', async () => {
    const api = await tunerApi();
    const file = workspaceFile('one-invalid.jsonl');
    fs.writeFileSync(file.fsPath, ['{"input": "a", "output": "1"}', '{"input": "b", "output": "2"}', '{"input": "c" "output": "3"}', '{"input": "d", "output": "4"}', '{"input": "e"}', ''].join('\n'));
    const doc = await openDataset('one-invalid.jsonl');
    await waitFor('status bar text', () => api.statusBarText() === 'JSONL: input-output · 4 records (1 invalid line)' || false);
    const statsUri = await vscode.commands.executeCommand<vscode.Uri>('tuner.datasetStats', doc.uri);
    const md = (await vscode.workspace.openTextDocument(statsUri!)).getText();
    assert.match(md, /\| user \| 4 \|/);
    assert.match(md, /\| assistant \| 3 \|/, 'the record without an output has no assistant turn');
  });

  test('a file above the worker threshold is linted in the worker, with its problems found', async () => {
    const api = await tunerApi();
    const uri = workspaceFile('large.jsonl');
    const good = JSON.stringify({ question: 'What does a low-rank adapter change in the model? '.repeat(3), answer: 'Only two small matrices per layer. '.repeat(4) });
    const lines: string[] = [];
    for (let i = 0; i < 12_000; i++) lines.push(i === 9_876 ? '{"question": "cut off' : good.replace('model?', `model #${i}?`));
    fs.writeFileSync(uri.fsPath, `${lines.join('\n')}\n`);
    const threshold = vscode.workspace.getConfiguration('tuner.lint').get<number>('workerThresholdBytes')!;
    assert.ok(fs.statSync(uri.fsPath).size > threshold, 'the generated file is above the threshold');

    const doc = await openDataset('large.jsonl');
    const report = await waitFor('worker lint report', () => api.lintReport(doc.uri), 60_000);
    assert.strictEqual(report.engine, 'worker');
    assert.strictEqual(report.result.records, 11_999);
    assert.deepStrictEqual(diagnosticSummary(doc.uri), [`TUN101 ${rangeText(9_876, 21, 9_876, 21)}`]);

    // Typing in a large file: the text goes to the worker too, and the new problem appears.
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), '{"question": "", "answer": "x"}\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await waitFor('lint of the edited text', () => api.lintReport(doc.uri)?.version === doc.version || false, 60_000);
    assert.strictEqual(api.lintReport(doc.uri)?.engine, 'worker');
    assert.ok(diagnosticSummary(doc.uri).includes(`TUN206 ${rangeText(0, 13, 0, 15)}`), diagnosticSummary(doc.uri).join(', '));
  });

  test('Convert Dataset converts what converts losslessly and leaves the rest with its diagnostic', async () => {
    const doc = await openDataset('sharegpt.jsonl');
    const unknownRole = doc.lineAt(2).text.indexOf('"weird"');
    await waitForDiagnostics(doc.uri, [`TUN301 ${rangeText(2, unknownRole, 2, unknownRole + 7)}`]);
    assert.strictEqual(await vscode.commands.executeCommand('tuner.convertDataset', doc.uri, 'messages'), 2);
    assert.deepStrictEqual(JSON.parse(doc.lineAt(1).text).messages, [
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: '2+2?' }, { role: 'assistant', content: '4' },
    ]);
    assert.ok(doc.lineAt(2).text.startsWith('{"conversations"'), 'the record with an unknown role is not rewritten');
    await waitFor('the unconverted record to be flagged', () => diagnosticSummary(doc.uri).some((d) => d.startsWith('TUN202 2:')) || false);
    await vscode.commands.executeCommand('undo');
    assert.ok(doc.lineAt(0).text.startsWith('{"conversations"'), 'one undo restores the file');
  });

  test('a command given bad input reports an error instead of throwing, and changes nothing', async () => {
    const doc = await openDataset('alpaca.jsonl');
    const result = await vscode.commands.executeCommand('tuner.chooseDatasetFormat', doc.uri, 'yaml');
    assert.strictEqual(result, undefined);
    assert.strictEqual(vscode.workspace.getConfiguration('tuner.dataset', doc.uri).get('format'), 'auto');
    assert.strictEqual(await vscode.commands.executeCommand('tuner.convertDataset', doc.uri, 'yaml'), undefined);
    assert.ok(!doc.isDirty);
  });
});
