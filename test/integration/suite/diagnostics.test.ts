// The linter in the real host: a broken dataset opened in the editor gets the expected
// diagnostics with exact ranges; quick fixes and typing update them.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { applyAction, closeAllEditors, codeActions, codeOf, diagnosticSummary, openDataset, rangeText, tunerApi, waitFor, waitForDiagnostics, workspaceFile } from './helpers';

suite('JSONL diagnostics and quick fixes', () => {
  suiteSetup(async () => { await tunerApi(); });
  teardown(closeAllEditors);

  test('a broken dataset gets each problem at its exact range', async () => {
    const doc = await openDataset('broken.jsonl');
    assert.strictEqual(doc.languageId, 'jsonl');
    const line = (n: number) => doc.lineAt(n).text;
    await waitForDiagnostics(doc.uri, [
      `TUN103 ${rangeText(1, line(1).indexOf(',}') + 1, 1, line(1).indexOf(',}') + 2)}`, // trailing comma: where JSON.parse stops, the '}'
      `TUN203 ${rangeText(2, 0, 2, line(2).length)}`, // alpaca record without "output": the record
      `TUN401 ${rangeText(3, 0, 3, line(3).length)}`, // same record as line 1
      `TUN101 ${rangeText(4, line(4).length, 4, line(4).length)}`, // cut-off string: at the end of the line
    ]);
    const diag = vscode.languages.getDiagnostics(doc.uri).find((d) => codeOf(d) === 'TUN203')!;
    assert.strictEqual(diag.severity, vscode.DiagnosticSeverity.Error);
    assert.match(diag.message, /"output"/);
    const target = (diag.code as { target: vscode.Uri }).target;
    assert.ok(target.path.endsWith('/docs/lint-rules.md') && target.fragment === 'tun203-missing-field', `docs link ${target.toString()}`);
  });

  test('the trailing-comma quick fix edits the line and the diagnostic goes away', async () => {
    const doc = await openDataset('broken.jsonl');
    await waitFor('TUN103 diagnostic', () => vscode.languages.getDiagnostics(doc.uri).find((d) => codeOf(d) === 'TUN103'));
    const diag = vscode.languages.getDiagnostics(doc.uri).find((d) => codeOf(d) === 'TUN103')!;
    const actions = await codeActions(doc.uri, diag.range, vscode.CodeActionKind.QuickFix);
    await applyAction(actions, 'Remove trailing comma');
    assert.strictEqual(doc.lineAt(1).text, '{"instruction": "Add 2 and 3", "input": "", "output": "5"}');
    await waitFor('TUN103 to disappear', () => !diagnosticSummary(doc.uri).some((d) => d.startsWith('TUN103')));
    assert.deepStrictEqual(diagnosticSummary(doc.uri).map((d) => d.split(' ')[0]).sort(), ['TUN101', 'TUN203', 'TUN401']);
    await vscode.commands.executeCommand('undo');
    assert.ok(doc.lineAt(1).text.endsWith('"5",}'), 'the fix is undoable');
  });

  test('typing a broken record adds a diagnostic on that line, fixing it removes it', async () => {
    const doc = await openDataset('alpaca.jsonl');
    await waitForDiagnostics(doc.uri, []);
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    const edit = new vscode.WorkspaceEdit();
    const typed = '{"instruction": "Say bye", "output": 42}';
    edit.insert(doc.uri, end, `${typed}\n`);
    assert.ok(await vscode.workspace.applyEdit(edit));
    const line = doc.lineCount - 2;
    const col = typed.indexOf('42');
    await waitForDiagnostics(doc.uri, [`TUN205 ${rangeText(line, col, line, col + 2)}`]);
    const fix = new vscode.WorkspaceEdit();
    fix.replace(doc.uri, new vscode.Range(line, col, line, col + 2), '"Bye!"');
    assert.ok(await vscode.workspace.applyEdit(fix));
    await waitForDiagnostics(doc.uri, []);
  });

  test('a byte order mark is reported, and ranges on the first line match the editor text', async () => {
    const doc = await openDataset('bom.jsonl');
    const empty = doc.lineAt(0).text.indexOf('""');
    assert.strictEqual(doc.lineAt(0).text[0], '{', 'the editor does not show the BOM');
    await waitForDiagnostics(doc.uri, [`TUN106 ${rangeText(0, 0, 0, 0)}`, `TUN206 ${rangeText(0, empty, 0, empty + 2)}`]);
    const bom = vscode.languages.getDiagnostics(doc.uri).find((d) => codeOf(d) === 'TUN106')!;
    const actions = await codeActions(doc.uri, bom.range, vscode.CodeActionKind.QuickFix);
    const action = actions.find((a) => a.command?.command === 'workbench.action.editor.changeEncoding');
    assert.ok(action, `a change-encoding action among ${actions.map((a) => a.title).join(' | ')}`);
    assert.ok(!actions.some((a) => a.edit && a.diagnostics?.some((d) => codeOf(d) === 'TUN106')), 'no text edit for the BOM, which is not in the text');
  });

  test('saving lints at once, without waiting for the typing delay', async () => {
    const lint = vscode.workspace.getConfiguration('tuner.lint');
    await lint.update('debounceMs', 60_000, vscode.ConfigurationTarget.Workspace);
    try {
      const doc = await openDataset('alpaca.jsonl');
      await waitForDiagnostics(doc.uri, []);
      const edit = new vscode.WorkspaceEdit();
      edit.insert(doc.uri, new vscode.Position(0, 0), '{"instruction": "", "output": "x"}\n');
      assert.ok(await vscode.workspace.applyEdit(edit));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepStrictEqual(diagnosticSummary(doc.uri), [], 'typing waits for the (60 s) delay');
      assert.ok(await doc.save());
      await waitForDiagnostics(doc.uri, [`TUN206 ${rangeText(0, 16, 0, 18)}`], 5_000);
    } finally {
      await lint.update('debounceMs', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('[MODEL NAME] where ARGS.json sets model_name is a hint whose quick fix writes the name in', async () => {
    const dir = workspaceFile('identity-named').fsPath;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'ARGS.json'), JSON.stringify({ model: './model', data: 'identity.jsonl', model_name: 'Pip' }, null, 2));
    fs.writeFileSync(path.join(dir, 'identity.jsonl'), '{"instruction": "Who are you?", "output": "I am [MODEL NAME]."}\n');
    const doc = await vscode.workspace.openTextDocument(path.join(dir, 'identity.jsonl'));
    await vscode.window.showTextDocument(doc);
    const diag = await waitFor('the model-name hint', () => vscode.languages.getDiagnostics(doc.uri).find((d) => codeOf(d) === 'TUN506'));
    assert.strictEqual(diag.severity, vscode.DiagnosticSeverity.Hint);
    assert.ok(!diagnosticSummary(doc.uri).some((d) => d.startsWith('TUN501')), 'no leftover-placeholder warning');
    await applyAction(await codeActions(doc.uri, diag.range, vscode.CodeActionKind.QuickFix), /Replace with "Pip"/);
    assert.strictEqual(doc.lineAt(0).text, '{"instruction": "Who are you?", "output": "I am Pip."}');
  });

  test('files matching tuner.lint.include are linted too, and stop being linted when removed', async () => {
    const doc = await openDataset('records.data.json');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepStrictEqual(diagnosticSummary(doc.uri), [], 'a .json file is not a dataset by default');
    const lint = vscode.workspace.getConfiguration('tuner.lint');
    await lint.update('include', ['**/*.data.json'], vscode.ConfigurationTarget.Workspace);
    try {
      await waitForDiagnostics(doc.uri, [`TUN206 ${rangeText(1, 9, 1, 11)}`]);
    } finally {
      await lint.update('include', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitForDiagnostics(doc.uri, []);
  });

  test('tuner.lint.rules changes severities and turns rules off; a misspelt severity keeps the default', async () => {
    const doc = await openDataset('broken.jsonl');
    await waitFor('TUN401', () => diagnosticSummary(doc.uri).some((d) => d.startsWith('TUN401')) || false);
    const lint = vscode.workspace.getConfiguration('tuner.lint');
    await lint.update('rules', { 'duplicate-record': 'off', TUN203: 'hint', 'invalid-json': 'eror' }, vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor('TUN401 to be turned off', () => !diagnosticSummary(doc.uri).some((d) => d.startsWith('TUN401')) || false);
      const byCode = new Map(vscode.languages.getDiagnostics(doc.uri).map((d) => [codeOf(d), d.severity]));
      assert.strictEqual(byCode.get('TUN203'), vscode.DiagnosticSeverity.Hint, 'set by code');
      assert.strictEqual(byCode.get('TUN101'), vscode.DiagnosticSeverity.Error, '"eror" is ignored: the default stays');
    } finally {
      await lint.update('rules', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor('TUN401 back', () => diagnosticSummary(doc.uri).some((d) => d.startsWith('TUN401')) || false);
  });
});
