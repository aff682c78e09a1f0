// A new user's first run in the real extension host, from plan to result: "Plan a Fine-tune…"
// writes ARGS.json (undoable) and explains it; F5 on the open ARGS.json (a JSON with Comments
// document) starts the debugger; Start lints the data and asks before training on errors, then
// reports what preparation dropped, by line; the finished run says where its adapter is (copied
// to output_dir) and offers the next steps, in a notification and in the runs view; a start
// refused for a missing model says why in the view; the run commands are offered only while a
// run is live and name themselves by title.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { validateArgsText } from '../../../src/core/args/validate';
import { OUTPUT_MARKER } from '../../../src/core/run/publish-output';
import { makeTinyProject, REPO_ROOT } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';
import { workbench, workbenchDriverAvailable } from './workbench-driver';

type Menu = { command: string; when?: string; group?: string };
/** Whether a menu's `when` (view == tuner.runs && viewItem == X | =~ /re/) holds for a row of this contextValue. */
function offeredOn(when: string | undefined, contextValue: string): boolean {
  const eq = /viewItem == (\w+)/.exec(when ?? '');
  if (eq) return eq[1] === contextValue;
  const re = /viewItem =~ \/(.+)\//.exec(when ?? '');
  return !!re && new RegExp(re[1]).test(contextValue);
}
const manifest = () => vscode.extensions.getExtension('tuner.tuner')!.packageJSON as { contributes: { menus: Record<string, Menu[]>; debuggers: { type: string; languages: string[] }[] } };

suite('first run: plan, start, finish', function () {
  this.timeout(240_000);
  const rootArgs = () => workspaceFile('ARGS.json');

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(rootArgs().fsPath, { force: true });
  });

  test('Plan a Fine-tune… with its questions answered writes a checked ARGS.json as an undoable edit and explains each value', async () => {
    makeTinyProject(workspaceFile('plan').fsPath, { records: 30 });
    fs.rmSync(workspaceFile('plan/ARGS.json').fsPath, { force: true });
    fs.rmSync(rootArgs().fsPath, { force: true });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const result = await vscode.commands.executeCommand<{ kind: string; argsUri?: string; explanation: string }>('tuner.planFineTune', { goal: 'teach it the capitals', model: './plan/model', data: './plan/data.jsonl', method: 'lora' });
    assert.equal(result?.kind, 'plan', result?.explanation);
    assert.equal(result.argsUri, rootArgs().toString());
    const text = fs.readFileSync(rootArgs().fsPath, 'utf8');
    assert.deepEqual(validateArgsText(text).problems.filter((p) => p.severity === 'error'), []);
    const args = JSON.parse(text);
    assert.equal(args.model, './plan/model');
    assert.equal(args.data, './plan/data.jsonl');
    assert.equal(args.method, 'lora');
    assert.match(result.explanation, /\*\*Goal:\*\* teach it the capitals/);
    assert.match(result.explanation, /\*\*How should the model be trained\?\*\* `lora` — trains small adapter matrices/);
    assert.match(result.explanation, /\| `method` \| lora \| you asked for it; trains small adapters/);
    assert.match(result.explanation, /_Planned by rules\._/);
    await waitFor('the explanation in a Markdown preview', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => /Fine-tune plan/.test(t.label)));
    // One edit in the editor's history.
    const doc = await vscode.workspace.openTextDocument(rootArgs());
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.getText(), text);
    // Undo takes the plan back: the plan's text goes (to what the editor held before: nothing, or
    // an ARGS.json an earlier test had open), or the whole edit with the file it created. The
    // editor is focused again before each try: after a suite of tests focus can sit elsewhere.
    const takenBack = () => doc.isClosed || doc.getText() !== text || !fs.existsSync(rootArgs().fsPath);
    for (let i = 0; i < 3 && !takenBack(); i++) {
      if (!doc.isClosed) await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('undo');
      await new Promise((r) => setTimeout(r, 1_000));
    }
    await waitFor('undo to take the plan back', takenBack);
    // The editor left clean, without a save prompt.
    if (!doc.isClosed && vscode.window.activeTextEditor?.document === doc) await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  test('F5 on an open ARGS.json (JSON with Comments) starts a Tuner debug session for it', async () => {
    assert.deepEqual(manifest().contributes.debuggers.find((d) => d.type === 'tuner')?.languages.sort(), ['json', 'jsonc']);
    const file = makeTinyProject(workspaceFile('f5').fsPath, { args: { max_steps: 100_000, save_interval: 0 } });
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    assert.equal(doc.languageId, 'jsonc');
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => {
        sub.dispose();
        resolve(s);
      });
    });
    await vscode.commands.executeCommand('workbench.action.debug.start');
    const session = await Promise.race([started, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]);
    assert.ok(session, 'F5 started a debug session');
    assert.equal(session.type, 'tuner');
    assert.equal(session.configuration.args, file);
    await vscode.debug.stopDebugging(session);
  });

  test('Start on data with lint errors asks first; trained anyway, it reports the dropped lines and the finished run leads to its adapter', async () => {
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    const file = makeTinyProject(workspaceFile('lint-start').fsPath, { args: { max_steps: 4, save_interval: 0, output_dir: './out' } });
    const data = workspaceFile('lint-start/data.jsonl').fsPath;
    fs.appendFileSync(data, '{"input": "what is the capital of spain ?", "output": "madrid .",}\n{"input": "what is the capital of italy ?"}\n');
    const before = m.store.list().runs.length;
    // A modal cannot be answered in the test host: not answered is "do not train".
    assert.equal(await vscode.commands.executeCommand('tuner.startRun', vscode.Uri.file(file)), undefined);
    assert.equal(m.store.list().runs.length, before, 'nothing was prepared or trained');
    const asked = api.runs.runs.lastDataCheck?.asked;
    assert.ok(asked, 'Start asked before training');
    assert.match(asked.message, /data\.jsonl has 2 lint errors: records with errors are left out of training\. 2 errors \(Trailing comma: line 41; Missing field: line 42\), 30 warnings \(Duplicate record: lines 11, 12, 13, 14, 15 and 25 more\)$/);

    const id = await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(file), { trainAnyway: true });
    assert.ok(id, 'trained anyway');
    const check = api.runs.runs.lastDataCheck!;
    assert.match(check.preparation ?? '', /^Prepared 40 of 42 records \(40 train, 0 eval, [\d,]+ tokens\)\. Dropped 2 records: line 41 \(.+\); line 42 \(.+\)\.$/);
    await m.session(id)?.exited;
    assert.equal(m.store.open(id).snapshot().status, 'done');

    // The notification: where the adapter is, and the next steps.
    const finished = await waitFor('the run-finished notification', () => api.runs.runs.lastFinished?.runId === id && api.runs.runs.lastFinished);
    assert.deepEqual(finished.actions, ['Open Folder', 'Open Dashboard', 'Try in Playground']);
    assert.match(finished.message, new RegExp(`^Tuner: run ${id} \\(model · lora\\) finished at step 4, final loss \\d+\\.\\d{3}\\. The adapter is in lint-start/out/adapter\\.$`));
    // output_dir is honoured: the adapter is copied there, marked as Tuner's.
    const out = workspaceFile('lint-start/out/adapter').fsPath;
    assert.ok(fs.existsSync(path.join(out, 'adapter_model.safetensors')), 'the adapter is in output_dir');
    assert.ok(fs.existsSync(path.join(out, 'adapter_config.json')));
    assert.ok(fs.existsSync(path.join(out, OUTPUT_MARKER)));
    assert.equal(await vscode.commands.executeCommand('tuner.openRunFolder', id), out);

    // The runs view: what was trained, how it ended, and the same next steps on the row.
    api.runs.runTree.refresh();
    const item = api.runs.runTree.getChildren().find((i) => 'run' in i && (i as { run: { meta: { id: string } } }).run.meta.id === id) as vscode.TreeItem;
    assert.equal(item.label, 'model · lora');
    assert.match(String(item.description), /^done · loss \d+\.\d{3} · 4\/4 · \d{1,2} [A-Z][a-z]{2} \d\d:\d\d$/);
    assert.equal(item.contextValue, 'tunerRunDone');
    const rowMenu = manifest().contributes.menus['view/item/context'].filter((e) => offeredOn(e.when, 'tunerRunDone'));
    for (const command of ['tuner.openRunFolder', 'tuner.openDashboard', 'tuner.tryInPlayground']) {
      assert.ok(rowMenu.some((e) => e.command === command), `the run's context menu offers ${command}`);
    }
    assert.ok(rowMenu.some((e) => e.command === 'tuner.openRunFolder' && e.group?.startsWith('inline')), 'Open Output Folder is an inline action of a finished run');
    if (workbenchDriverAvailable) {
      // The runs view alone in the Explorer, its finished run's row expanded, for the picture.
      await vscode.commands.executeCommand('workbench.action.closePanel');
      const foldersHeader = '.pane-header[aria-label*="workspace" i]';
      const folders = await workbench({ do: 'click', selector: foldersHeader }).then(() => true, () => false); // collapse the folders
      await vscode.commands.executeCommand('tuner.runs.focus');
      await new Promise((r) => setTimeout(r, 2000)); // the expanded pane renders its rows
      await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/runs-view.png') });
      if (folders) await workbench({ do: 'click', selector: foldersHeader });
    }
  });

  test('a start refused because the model cannot be found says why in the runs view', async () => {
    const api = await tunerApi();
    const file = makeTinyProject(workspaceFile('no-model').fsPath, { args: { model: './missing-model' } });
    const shown = api.errorsShown().length;
    assert.equal(await vscode.commands.executeCommand('tuner.startRun', vscode.Uri.file(file)), undefined);
    const error = api.errorsShown().slice(shown).at(-1) ?? '';
    assert.match(error, /^Tuner: Fine-tune: Start failed: .*missing-model/);
    // The run folder stays for its log; its row and tooltip carry the reason, not only trainer.log.
    const failed = api.runs.runTree.list().find((r) => r.meta.argsFile === file);
    assert.ok(failed, 'the refused start is listed');
    const item = api.runs.runTree.getChildren().find((i) => 'run' in i && (i as { run: { meta: { id: string } } }).run.meta.id === failed.meta.id) as vscode.TreeItem;
    assert.match(String(item.description), /^failed · preparation failed: model "\.\/missing-model" not found/);
    // appendText escapes Markdown (\. for .) and keeps runs of spaces as &nbsp;: read it as text.
    const tip = (item.tooltip as vscode.MarkdownString).value.replace(/\\(.)/g, '$1').replace(/&nbsp;/g, ' ');
    assert.match(tip, /model "\.\/missing-model" not found: no folder .*missing-model\. Set "model" to a Hugging Face model folder/);
  });

  test('Pause, Resume, Save and Stop are offered only while a run is live; with none they do nothing and show no error', async () => {
    const api = await tunerApi();
    const palette = manifest().contributes.menus.commandPalette;
    const when = (c: string) => palette.find((e) => e.command === c)?.when;
    assert.equal(when('tuner.pauseRun'), 'tuner.runRunning');
    assert.equal(when('tuner.continueRun'), 'tuner.runPaused');
    assert.equal(when('tuner.saveCheckpoint'), 'tuner.runLive');
    assert.equal(when('tuner.stopRun'), 'tuner.runLive');
    assert.equal(api.runs.runs.manager().current(), undefined, 'no run is live');
    const shown = api.errorsShown().length;
    for (const c of ['tuner.pauseRun', 'tuner.continueRun', 'tuner.saveCheckpoint', 'tuner.stopRun']) {
      assert.equal(await vscode.commands.executeCommand(c), undefined, c);
    }
    assert.deepEqual(api.errorsShown().slice(shown), [], 'a command with nothing to do is not an error');
    // A real failure names the command by its title, not its id.
    await vscode.commands.executeCommand('tuner.resumeFromCheckpoint', '20990101-000000');
    const error = api.errorsShown().at(-1) ?? '';
    assert.match(error, /^Tuner: Fine-tune: Resume From Checkpoint failed: /);
    assert.ok(!error.includes('tuner.resumeFromCheckpoint'), error);
  });
});
