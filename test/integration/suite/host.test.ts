import * as assert from 'node:assert';
import * as vscode from 'vscode';

suite('extension host', () => {
  test('the extension under development activates', async () => {
    console.log(`VS Code ${vscode.version}, ${vscode.env.appHost}, remote=${vscode.env.remoteName ?? 'none'}, node ${process.version}`);
    const ext = vscode.extensions.getExtension('tuner.tuner');
    assert.ok(ext, 'extension tuner.tuner is loaded from the repository');
    await ext.activate();
    assert.ok(ext.isActive);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('tuner.datasetStats'), 'tuner.datasetStats is registered');
  });
});
