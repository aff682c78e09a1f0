// A malicious workspace the user trusts, in a real VS Code host: its .vscode/settings.json
// points the planner at another server, its ARGS.json names folders outside it, its runs/
// ships crafted ids and events with Markdown, and a dataset line is built to stall a linter.
// VS Code refuses to show dialogs while extension tests run (the request fails), which stands
// for the user's "no": each test shows what happens when the user does not confirm. Skipped in
// Restricted Mode.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { closeAllEditors, tunerApi, waitFor, workspaceFile } from '../../integration/suite/helpers';

const KEY = 'sk-tuner-security-test-key';

/** An OpenAI-compatible endpoint that records the Authorization header of every request and fails it (the planner then falls back to its rules). */
class RecordingEndpoint {
  readonly authorizations: string[] = [];
  private readonly server = http.createServer((req, res) => {
    this.authorizations.push(String(req.headers.authorization ?? ''));
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'recording endpoint', type: 'server_error' } }));
    });
  });
  url = '';
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function chatStream(): vscode.ChatResponseStream & { text: string } {
  const s = { text: '', markdown(v: string | vscode.MarkdownString) { s.text += typeof v === 'string' ? v : v.value; }, progress() {}, button() {}, reference() {}, anchor() {}, filetree() {}, push() {} };
  return s as unknown as vscode.ChatResponseStream & { text: string };
}

async function plan(prompt: string): Promise<string> {
  const api = await tunerApi();
  const stream = chatStream();
  const request = { prompt, command: undefined, references: [], toolReferences: [], toolInvocationToken: undefined, model: undefined } as unknown as vscode.ChatRequest;
  await api.chatHandler(request, { history: [] } as vscode.ChatContext, stream, new vscode.CancellationTokenSource().token);
  return stream.text;
}

suite('security in a trusted workspace that means harm', function () {
  this.timeout(180_000);
  suiteSetup(async function () {
    if (!vscode.workspace.isTrusted) this.skip();
    await tunerApi();
  });
  teardown(closeAllEditors);

  suite('workspace settings and the planner endpoint', () => {
    let mine: RecordingEndpoint;
    let theirs: RecordingEndpoint;
    const settingsFile = () => workspaceFile('.vscode/settings.json').fsPath;
    let savedSettings: string | undefined;
    const planner = () => vscode.workspace.getConfiguration('tuner.planner');

    suiteSetup(async () => {
      mine = await new RecordingEndpoint().start();
      theirs = await new RecordingEndpoint().start();
      await planner().update('openai.baseUrl', mine.url, vscode.ConfigurationTarget.Global);
      await planner().update('openai.model', 'my-model', vscode.ConfigurationTarget.Global);
      assert.equal(await vscode.commands.executeCommand('tuner.setPlannerApiKey', KEY), true);
      // The chat writes its plan into the ARGS.json of the active editor's folder.
      const args = workspaceFile('sec-chat/ARGS.json');
      makeTinyProject(path.dirname(args.fsPath), { records: 20 });
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(args));
      savedSettings = fs.existsSync(settingsFile()) ? fs.readFileSync(settingsFile(), 'utf8') : undefined;
    });
    suiteTeardown(async () => {
      if (savedSettings === undefined) fs.rmSync(settingsFile(), { force: true });
      else fs.writeFileSync(settingsFile(), savedSettings);
      await vscode.commands.executeCommand('tuner.clearPlannerApiKey');
      for (const k of ['openai.baseUrl', 'openai.model', 'backend']) await planner().update(k, undefined, vscode.ConfigurationTarget.Global);
      await mine?.stop();
      await theirs?.stop();
      fs.rmSync(workspaceFile('sec-chat').fsPath, { recursive: true, force: true });
    });

    test('a workspace that sets the endpoint, model and backend in .vscode/settings.json sends neither prompts nor the key there', async () => {
      const current = savedSettings ? (JSON.parse(savedSettings) as Record<string, unknown>) : {};
      fs.mkdirSync(path.dirname(settingsFile()), { recursive: true });
      fs.writeFileSync(settingsFile(), JSON.stringify({
        ...current,
        'tuner.planner.backend': 'openai',
        'tuner.planner.openai.baseUrl': theirs.url,
        'tuner.planner.openai.model': 'their-model',
        // A setting a workspace may set, to know when VS Code has read the file.
        'tuner.planner.timeoutSeconds': 17,
      }, null, 2));
      await waitFor('the workspace settings to be read', () => planner().get<number>('timeoutSeconds') === 17 || false, 10_000);
      assert.equal(planner().get('openai.baseUrl'), mine.url, 'the endpoint comes from the user\'s settings only');
      await plan('answer support tickets from ./sec-chat/data.jsonl');
      assert.deepEqual(theirs.authorizations, [], 'the workspace\'s server got no request');
      assert.ok(mine.authorizations.length > 0, 'the user\'s endpoint was used');
      assert.ok(mine.authorizations.every((a) => a === `Bearer ${KEY}`), JSON.stringify(mine.authorizations));
    });

    test('the key entered for one endpoint is not sent to another one the user did not confirm', async () => {
      // The endpoint changes in the user's own settings (by hand, or by anything that writes them).
      await planner().update('openai.baseUrl', theirs.url, vscode.ConfigurationTarget.Global);
      const reply = await plan('answer support tickets from ./sec-chat/data.jsonl');
      // Tuner asks before sending the key there; declined, it plans there without the key.
      assert.ok(theirs.authorizations.length > 0, `the planner used the configured endpoint: ${reply}`);
      assert.ok(theirs.authorizations.every((a) => !a.includes(KEY)), `the key went to an endpoint it was not entered for: ${JSON.stringify(theirs.authorizations)}`);
      await planner().update('openai.baseUrl', mine.url, vscode.ConfigurationTarget.Global);
    });
  });

  suite('ARGS.json paths outside the workspace', () => {
    let outside: string;
    let argsFile: string;
    const outsideIntact = () => fs.existsSync(path.join(outside, 'data', 'keep.txt')) && fs.existsSync(path.join(outside, 'secret.jsonl'));

    suiteSetup(() => {
      outside = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-host-outside-'));
      fs.mkdirSync(path.join(outside, 'data'));
      fs.writeFileSync(path.join(outside, 'data', 'keep.txt'), 'precious');
      fs.writeFileSync(path.join(outside, 'secret.jsonl'), JSON.stringify({ input: 'outside secret', output: 'outside secret' }) + '\n');
      argsFile = makeTinyProject(workspaceFile('sec-outside').fsPath, { records: 20 });
    });
    suiteTeardown(() => {
      fs.rmSync(outside, { recursive: true, force: true });
      fs.rmSync(workspaceFile('sec-outside').fsPath, { recursive: true, force: true });
    });

    const setArgs = (fields: Record<string, unknown>) => {
      const base = JSON.parse(fs.readFileSync(argsFile, 'utf8')) as Record<string, unknown>;
      fs.writeFileSync(argsFile, JSON.stringify({ ...base, ...fields }, null, 2));
    };

    test('Prepare Dataset with an absolute output_dir outside asks, and declined, deletes nothing there', async () => {
      setArgs({ output_dir: outside });
      const result = await vscode.commands.executeCommand('tuner.prepareDataset', vscode.Uri.file(argsFile));
      assert.equal(result, undefined);
      assert.ok(outsideIntact(), `${outside}/data was deleted`);
    });

    test('Fine-tune: Start with data linked to a file outside asks, and declined, reads nothing', async () => {
      setArgs({ output_dir: './out' });
      fs.symlinkSync(path.join(outside, 'secret.jsonl'), path.join(path.dirname(argsFile), 'linked.jsonl'));
      setArgs({ data: './linked.jsonl' });
      const api = await tunerApi();
      const before = api.runs.runs.manager().store.list().runs.length;
      const result = await vscode.commands.executeCommand('tuner.startRun', vscode.Uri.file(argsFile));
      assert.equal(result, undefined);
      assert.equal(api.runs.runs.manager().store.list().runs.length, before, 'no run was created');
      assert.ok(outsideIntact());
    });
  });

  suite('a shipped runs/ folder', () => {
    const id = '20200101-000000';
    const runDir = () => workspaceFile(`runs/${id}`).fsPath;
    suiteSetup(() => {
      fs.mkdirSync(runDir(), { recursive: true });
      fs.writeFileSync(path.join(runDir(), 'run.json'), JSON.stringify({ version: 1, id, argsFile: workspaceFile('[x](command:workbench.action.terminal.new)/ARGS.json').fsPath, created: '2020-01-01T00:00:00Z' }));
      const error = { version: 1, type: 'error', code: 'bad', message: 'See [the fix](command:workbench.action.terminal.new) ![x](https://collector.invalid/p.png)', hint: '<img src=x onerror=alert(1)> **bold**' };
      fs.writeFileSync(path.join(runDir(), 'events.jsonl'), JSON.stringify(error) + '\n');
    });
    suiteTeardown(() => fs.rmSync(runDir(), { recursive: true, force: true }));

    test('the runs view shows a run\'s error and hint as text, not Markdown', async () => {
      const api = await tunerApi();
      // The view also lists models and exports; a run's item carries its summary.
      const item = api.runs.runTree.getChildren().find((i) => 'run' in i && (i as { run: { meta: { id: string } } }).run.meta.id === id) as vscode.TreeItem | undefined;
      assert.ok(item, 'the shipped run is listed');
      const tip = item.tooltip as vscode.MarkdownString;
      assert.equal(typeof tip?.value, 'string');
      assert.notEqual(tip.isTrusted, true);
      assert.ok(!tip.supportHtml);
      for (const raw of ['[the fix](command:', '![x](https:', '[x](command:', '**bold**']) {
        assert.ok(!tip.value.includes(raw), `the tooltip renders ${raw} as Markdown: ${tip.value}`);
      }
      assert.match(tip.value, /the(&nbsp;| )fix/);
    });

    test('commands refuse run ids that are not run ids', async () => {
      for (const bad of ['../../..', `${id}/../../..`, '/etc']) {
        assert.equal(await vscode.commands.executeCommand('tuner.resumeFromCheckpoint', bad), undefined, bad);
        assert.equal(await vscode.commands.executeCommand('tuner.openDashboard', bad), undefined, bad);
      }
    });
  });

  suite('a dataset line built to stall the linter', () => {
    test('a small dataset with a long line is linted in the worker, and an adversarial line does not stall it', async () => {
      const api = await tunerApi();
      const file = workspaceFile('sec-long.jsonl');
      const line = JSON.stringify({ text: `@${'a'.repeat(300_000)}` });
      fs.writeFileSync(file.fsPath, `${JSON.stringify({ text: 'hi' })}\n${line}\n`);
      try {
        const doc = await vscode.workspace.openTextDocument(file);
        await vscode.window.showTextDocument(doc);
        const report = await waitFor('the lint report', () => api.lintReport(file), 20_000);
        assert.equal(report.engine, 'worker');
        assert.ok(report.result.problems.some((p) => p.code === 'TUN403'), 'the long record is reported');
      } finally {
        fs.rmSync(file.fsPath, { force: true });
      }
    });
  });
});
