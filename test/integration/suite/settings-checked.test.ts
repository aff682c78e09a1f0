// Tuner's planner settings in the real host: a typo in tuner.planner.backend or a timeout that is
// not a number is reported when it is set (a warning naming the setting, the value and what is
// used instead, kept in the notification centre), not turned silently into "auto" or NaN; the
// settings in use are logged again on every change.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { tunerApi, waitFor } from './helpers';
import { workbench, workbenchDriverAvailable } from './workbench-driver';

suite('settings: checked when changed, and logged', function () {
  this.timeout(60_000);
  const planner = () => vscode.workspace.getConfiguration('tuner.planner');

  suiteTeardown(async () => {
    await planner().update('backend', undefined, vscode.ConfigurationTarget.Global);
    await planner().update('timeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
  });

  test('a misspelt planner backend and a timeout that is not a number are reported at once and logged', async () => {
    assert.ok(workbenchDriverAvailable, 'this test runs under run-host.mjs');
    await tunerApi();
    await planner().update('backend', 'opnai', vscode.ConfigurationTarget.Global);
    await planner().update('timeoutSeconds', 'ten', vscode.ConfigurationTarget.Global);
    // Extension tests run without toasts: the warnings are looked for in the notification centre.
    await vscode.commands.executeCommand('notifications.showList');
    await workbench({ do: 'click', selector: '.notifications-center .monaco-list-row:has-text(\'Setting tuner.planner.backend: "opnai" is not one of\')' });
    await workbench({ do: 'click', selector: '.notifications-center .monaco-list-row:has-text(\'Setting tuner.planner.timeoutSeconds: "ten" is not a number of seconds\')' });
    // The log says which settings are in use after the change: the defaults in place of both.
    await vscode.commands.executeCommand('tuner.showLog');
    const log = await waitFor("Tuner's log", () => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'output' && /Tuner/.test(e.document.uri.path))?.document);
    const changed = await waitFor('the settings logged after the change', () => log.getText().split('\n').filter((l) => l.includes('settings changed:')).at(-1));
    assert.match(changed, /planner/i, changed);
    assert.doesNotMatch(changed, /NaN|opnai/, changed);
  });
});
