// Start-up in the real host: how long Tuner takes to load and activate (printed, not asserted:
// the machine's load decides it), that activation loads none of the modules kept for first use
// (scripts/bundle-options.mjs lazyModules), and that a failure while activating is shown to the
// user with a way to the log, not only written to it. Runs first (file order), before any test
// uses what is loaded lazily.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { REPO_ROOT } from '../../unit/run/tiny-run';
import { tunerApi, waitFor } from './helpers';
import { workbench, workbenchDriverAvailable } from './workbench-driver';

/** The bundles loaded on first use only (scripts/bundle-options.mjs `lazyModules`). */
const LAZY_BUNDLES = ['openai-sdk.js', 'jinja.js', 'hf-tokenizers.js', 'debug-adapter.js'];

suite('activation: time, what it loads, a failure shown to the user', function () {
  this.timeout(60_000);

  test('activation is measured in the real host', async () => {
    const { activation: a } = await tunerApi();
    assert.ok(Number.isFinite(a.activateMs) && a.activateMs > 0, `activate() took ${a.activateMs} ms`);
    assert.ok(a.loadMs !== undefined && a.loadMs > 0, 'the bundle marks when it started and ended loading');
    assert.ok(a.loadAndActivateMs !== undefined && a.loadAndActivateMs >= a.activateMs + a.loadMs);
    const cpu = (a.cpu.loadMs ?? NaN) + a.cpu.activateMs;
    console.log(`activation: ${a.loadMs.toFixed(1)} ms running dist/extension.js + ${a.activateMs.toFixed(1)} ms in activate() = ${(a.loadMs + a.activateMs).toFixed(1)} ms wall, ${cpu.toFixed(1)} ms CPU (${a.cpu.loadMs?.toFixed(1)} + ${a.cpu.activateMs.toFixed(1)}); ${a.loadAndActivateMs.toFixed(1)} ms from the bundle's first line to the end of activate(), the host's work between them included`);
  });

  test('activation loads none of the bundles kept for first use', async () => {
    await tunerApi();
    const ext = vscode.extensions.getExtension('tuner.tuner')!;
    const dist = path.join(ext.extensionPath, 'dist');
    const loaded = Object.keys(require.cache).filter((f) => path.dirname(f) === dist).map((f) => path.basename(f));
    assert.ok(loaded.includes('extension.js'), `the extension's bundle is loaded from ${dist}: ${loaded.join(', ')}`);
    assert.deepEqual(loaded.filter((f) => LAZY_BUNDLES.includes(f)), [], 'loaded at activation');
  });

  test('a failure while activating is shown to the user, with Show Log', async () => {
    assert.ok(workbenchDriverAvailable, 'this test runs under run-host.mjs');
    await tunerApi();
    const ext = vscode.extensions.getExtension('tuner.tuner')!;
    // The same module the host activated; a context that refuses its second subscription makes
    // activate() fail right after the output channel, before anything else is registered again.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { activate } = require(path.join(ext.extensionPath, 'dist', 'extension.js')) as typeof import('../../../src/extension');
    let pushes = 0;
    const refusing = { subscriptions: { push: () => { if (++pushes > 1) throw new Error('the extension context refuses subscriptions'); return pushes; } } };
    assert.throws(() => activate(refusing as unknown as vscode.ExtensionContext), /refuses subscriptions/, 'the failure is rethrown, so VS Code marks the activation failed');
    // Extension tests run without toasts: the message is looked for where it stays, in the
    // notification centre, and its Show Log button clicked there.
    await vscode.commands.executeCommand('notifications.showList');
    const item = '.notifications-center .monaco-list-row:has-text("Tuner could not start: the extension context refuses subscriptions")';
    await workbench({ do: 'click', selector: `${item} .notification-list-item-message` });
    await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/activation-failure.png') });
    await workbench({ do: 'click', selector: `${item} .monaco-button:has-text("Show Log")` });
    await waitFor("Tuner's log shown", () => vscode.window.visibleTextEditors.some((e) => e.document.uri.scheme === 'output' && /Tuner/.test(e.document.uri.path)));
    await vscode.commands.executeCommand('notifications.clearAll');
    await vscode.commands.executeCommand('notifications.hideList');
  });
});
