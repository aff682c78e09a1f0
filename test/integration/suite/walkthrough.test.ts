// The walkthrough in a real VS Code host: the workbench opens it by its id, every command its
// steps link to or complete on exists in this host, and each step's command runs without error,
// in the order a newcomer takes them (open a dataset and its statistics, show its problems, ask
// @tuner, start a run on a tiny model, open its dashboard, open the playground). The file dialog
// of "Open a Dataset…" is only checked to exist: a dialog would wait for a person.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readManifest } from '../../unit/manifest-text';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { openDataset, tunerApi, waitFor, workspaceFile } from './helpers';

interface Step { id: string; description: string; completionEvents: string[] }
interface Manifest { name: string; publisher: string; contributes: { walkthroughs: { id: string; steps: Step[] }[] } }

const root = path.resolve(__dirname, '../../../..');
const pkg = readManifest<Manifest>(root);
const walkthrough = pkg.contributes.walkthroughs[0];
const walkthroughId = `${pkg.publisher}.${pkg.name}#${walkthrough.id}`;
const stepCommands = (s: Step) => [...s.description.matchAll(/\]\(command:([\w.]+)/g)].map((m) => m[1]);

suite('walkthrough', function () {
  this.timeout(180_000);

  suiteTeardown(async () => {
    (await tunerApi()).playground()?.dispose();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('the workbench opens the walkthrough by its id, and opens its first step', async () => {
    await tunerApi();
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthroughId, false);
    const tab = await waitFor('the walkthrough editor', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => /Welcome|Walkthrough|Fine-tune a model/i.test(t.label)));
    assert.ok(tab.isActive, `${tab.label} is the active editor`);
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', { category: walkthroughId, step: `${walkthroughId}#${walkthrough.steps[0].id}` }, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('every command a step links to or completes on exists in this host', async () => {
    const known = new Set(await vscode.commands.getCommands(false));
    for (const step of walkthrough.steps) {
      const onCommand = step.completionEvents.filter((e) => e.startsWith('onCommand:')).map((e) => e.slice('onCommand:'.length));
      for (const id of [...stepCommands(step), ...onCommand]) assert.ok(known.has(id), `${step.id}: command ${id} is not registered`);
    }
  });

  test('each step\'s command runs: dataset, problems, @tuner, start, dashboard, playground', async () => {
    const api = await tunerApi();
    // openSamples / seeLint: a dataset with problems is open and the Problems view shows them.
    const doc = await openDataset('broken.jsonl');
    await waitFor('lint diagnostics on broken.jsonl', () => vscode.languages.getDiagnostics(doc.uri).length > 0);
    await vscode.commands.executeCommand('tuner.datasetStats');
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    await vscode.commands.executeCommand('tuner.lintDataset');
    // askPlanner: the chat view opens with "@tuner " typed in, waiting for the goal.
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@tuner ', isPartialQuery: true });
    // startRun → watchDashboard: a tiny model trains from its ARGS.json and its dashboard opens.
    const argsFile = makeTinyProject(workspaceFile('walkthrough-tiny').fsPath, { args: { max_steps: 6, save_interval: 0 } });
    const id = await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(argsFile));
    assert.match(id ?? '', /^\d{8}-\d{6}/, 'Fine-tune: Start returns the new run id');
    const session = api.runs.runs.manager().current();
    assert.ok(session, 'a run session is current');
    await session.exited;
    assert.equal(session.snapshot.status, 'done', `the run ended ${session.snapshot.status}`);
    await vscode.commands.executeCommand('tuner.openDashboard', id);
    // tryPlayground: the panel opens.
    await vscode.commands.executeCommand('tuner.openPlayground');
    await waitFor('the playground panel', () => api.playground());
  });
});
