// Tuner in another display language, in the real host (npm run test:host:display-language:
// run-host.mjs starts code-server with --locale qps-ploc and gives the extension a pseudo-localised
// bundle and manifest for it). What the user reads comes from the bundles: the command titles of the
// manifest (package.nls), a quick input of src/vscode (vscode.l10n) and the diagnostics composed in
// src/core (@vscode/l10n, handed the host's bundle at activation).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pseudo, translated } from '../../unit/pseudo-l10n';
import { REPO_ROOT } from '../../unit/run/tiny-run';
import { closeAllEditors, tunerApi, workspaceFile } from './helpers';
import { quickInput, workbench } from './workbench-driver';

const locale = process.env.TUNER_HOST_LOCALE;

(locale ? suite : suite.skip)('display language', function () {
  this.timeout(120_000);
  teardown(closeAllEditors);

  test('the manifest, src/vscode and src/core all speak the display language', async () => {
    assert.equal(vscode.env.language, locale, 'the host runs in the display language');
    await tunerApi();

    // src/core: the lint diagnostics of a broken dataset.
    const uri = workspaceFile('broken.jsonl');
    await vscode.window.showTextDocument(uri);
    await vscode.commands.executeCommand('tuner.lintDataset', uri);
    const messages = vscode.languages.getDiagnostics(uri).map((d) => d.message);
    assert.ok(messages.length > 3, `diagnostics: ${messages.length}`);
    assert.deepEqual(messages.filter((m) => !translated(m)), [], 'every diagnostic is in the display language');

    // The manifest: the command palette lists Tuner's commands under their translated titles.
    await workbench({ do: 'press', key: 'F1' });
    await workbench({ do: 'fill', selector: '.quick-input-widget .quick-input-box input', text: `>${pseudo('Plan a Fine-tune…')}` });
    await workbench({ do: 'click', selector: `.quick-input-widget .monaco-list-row:has-text(${JSON.stringify(pseudo('Plan a Fine-tune…'))})` });

    // src/vscode: the command's first question (vscode.l10n.t) under its translated title.
    await workbench({ do: 'fill', selector: quickInput(pseudo('Plan a Fine-tune (1/4): the goal')), text: '' });
    await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/display-language.png') });
    await workbench({ do: 'press', key: 'Escape' });
  });
});
