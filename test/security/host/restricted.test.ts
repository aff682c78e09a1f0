// Tuner in Restricted Mode, in a real VS Code host (`npm run test:host:restricted` opens the
// workspace untrusted; VS Code refuses to show dialogs while extension tests run, which stands
// for the user who does not trust the folder). Linting, statistics and ARGS.json diagnostics work; preparing data,
// fine-tuning, resuming, debugging and @tuner planning ask for trust and, declined, do nothing:
// no file is written and no trainer starts. Skipped in a trusted workspace.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { closeAllEditors, diagnosticSummary, openDataset, tunerApi, waitFor, workspaceFile } from '../../integration/suite/helpers';

/** Every file under `dir` with its size and modification time, to show nothing was written. */
function snapshot(dir: string): string {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isDirectory()) continue;
    const p = path.join(e.parentPath, e.name);
    const st = fs.lstatSync(p);
    out.push(`${path.relative(dir, p)} ${st.size} ${st.mtimeMs}`);
  }
  return out.sort().join('\n');
}

suite('security in Restricted Mode (untrusted workspace)', function () {
  this.timeout(180_000);
  let project: string;
  let argsFile: string;
  let before: string;
  const runId = '20260101-120000';

  suiteSetup(async function () {
    if (vscode.workspace.isTrusted) this.skip();
    await tunerApi();
    project = workspaceFile('restricted').fsPath;
    argsFile = makeTinyProject(project, { records: 20 });
    // A shipped run with a checkpoint, as a repository could hold one.
    const run = path.join(project, 'runs', runId);
    fs.mkdirSync(path.join(run, 'checkpoints', 'step-00000004'), { recursive: true });
    fs.writeFileSync(path.join(run, 'run.json'), JSON.stringify({ version: 1, id: runId, argsFile, created: '2026-01-01T12:00:00Z' }));
    fs.writeFileSync(path.join(run, 'plan.json'), '{}');
    before = snapshot(workspaceFile('.').fsPath);
  });
  teardown(closeAllEditors);

  test('restricted: datasets are linted, statistics shown, ARGS.json diagnosed', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    const doc = await openDataset('broken.jsonl');
    await waitFor('lint diagnostics on broken.jsonl', () => diagnosticSummary(doc.uri).length > 0);
    const stats = await vscode.commands.executeCommand<vscode.Uri>('tuner.datasetStats', doc.uri);
    assert.equal(stats?.scheme, 'tuner-stats');
    const args = path.join(project, 'bad', 'ARGS.json');
    fs.mkdirSync(path.dirname(args), { recursive: true });
    fs.writeFileSync(args, JSON.stringify({ model: './model', data: './data.jsonl', learning_rate: -1 }, null, 2));
    const argsDoc = await vscode.workspace.openTextDocument(args);
    await vscode.window.showTextDocument(argsDoc);
    await waitFor('ARGS.json diagnostics', () => vscode.languages.getDiagnostics(argsDoc.uri).some((d) => /learning_rate/.test(d.message)));
    fs.rmSync(path.dirname(args), { recursive: true });
  });

  test('restricted: Prepare Dataset asks for trust and, declined, writes nothing', async () => {
    const result = await vscode.commands.executeCommand('tuner.prepareDataset', vscode.Uri.file(argsFile));
    assert.equal(result, undefined);
    assert.equal(snapshot(workspaceFile('.').fsPath), before, 'no file in the workspace changed');
  });

  test('restricted: Fine-tune: Start asks for trust and, declined, starts nothing', async () => {
    const api = await tunerApi();
    const result = await vscode.commands.executeCommand('tuner.startRun', vscode.Uri.file(argsFile));
    assert.equal(result, undefined);
    assert.equal(api.runs.runs.manager().sessions().length, 0, 'no trainer is running');
    assert.equal(snapshot(workspaceFile('.').fsPath), before);
  });

  test('restricted: resuming a shipped run asks for trust and, declined, starts nothing', async () => {
    const api = await tunerApi();
    const result = await vscode.commands.executeCommand('tuner.resumeFromCheckpoint', runId);
    assert.equal(result, undefined);
    assert.equal(api.runs.runs.manager().sessions().length, 0);
    assert.equal(snapshot(workspaceFile('.').fsPath), before);
  });

  test('restricted: @tuner planning asks for trust and, declined, writes no ARGS.json', async () => {
    const api = await tunerApi();
    let text = '';
    const stream = { markdown: (v: string | vscode.MarkdownString) => { text += typeof v === 'string' ? v : v.value; }, progress() {}, button() {}, reference() {}, anchor() {}, filetree() {}, push() {} } as unknown as vscode.ChatResponseStream;
    const request = { prompt: 'answer support tickets from ./restricted/data.jsonl', command: undefined, references: [], toolReferences: [], toolInvocationToken: undefined, model: undefined } as unknown as vscode.ChatRequest;
    const result = (await api.chatHandler(request, { history: [] } as vscode.ChatContext, stream, new vscode.CancellationTokenSource().token)) as vscode.ChatResult;
    assert.equal(result.metadata?.kind, 'untrusted', text);
    assert.match(text, /Restricted Mode/);
    assert.equal(snapshot(workspaceFile('.').fsPath), before);
  });
  // Last: Tuner's launcher refuses (RunController.start/resume/startPlan ask for trust), and
  // VS Code reports the failed launch in a dialog that stays open under test, so startDebugging
  // may not settle: the test waits a bounded time, then checks that nothing started.
  test('restricted: a fine-tuning debug session starts no trainer and writes nothing', async () => {
    const api = await tunerApi();
    const folder = vscode.workspace.workspaceFolders![0];
    const started = vscode.debug.startDebugging(folder, { type: 'tuner', request: 'launch', name: 'restricted', args: argsFile });
    const outcome = await Promise.race([started.then((ok) => (ok ? 'started' : 'refused'), () => 'refused'), new Promise((r) => setTimeout(() => r('waiting for trust'), 10_000))]);
    if (outcome === 'started') await vscode.debug.stopDebugging();
    assert.notEqual(outcome, 'started', 'a debug session started in Restricted Mode');
    assert.equal(api.runs.runs.manager().sessions().length, 0);
    assert.equal(snapshot(workspaceFile('.').fsPath), before);
  });
});
