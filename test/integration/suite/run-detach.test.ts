// Runs outlive windows, in the real extension host. Another window is a separate process
// (test/native/detach-window.js) that starts a run through the same RunManager the extension
// uses: while it holds the run this window shows it read-only (status bar, dashboard); when it is
// killed the trainer trains on, this window takes control (the open dashboard's controls come
// on), pauses and stops it through the dashboard, and every step is in
// events.jsonl once and reached the dashboard once. A run left training by a closed window that
// finishes, and one whose trainer is killed meanwhile, are reported when the window looks again
// (activation, or Refresh Runs); the dead one's Resume goes on from its last checkpoint. Take
// Control on the runs view's read-only row moves control here while the other window still runs.
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as vscode from 'vscode';
import { findTrainerBinary } from '../../../src/core/engine/trainer-client';
import type { RunPlan } from '../../../src/core/engine/plan';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';

const WINDOW = path.join(__dirname, '..', '..', 'native', 'detach-window.js');

/** Another window: starts the plan as a run, resolves with its id once it has stepped. */
async function otherWindow(planFile: string, close?: 'detach'): Promise<{ id: string; pid: number; win: ChildProcess }> {
  const runsDir = workspaceFile('runs').fsPath;
  const win = spawn(process.execPath, [WINDOW, runsDir, planFile, findTrainerBinary(), ...(close ? [close] : [])], {
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: win.stdout! }).once('line', resolve);
    win.once('exit', (code) => reject(new Error(`the other window exited (${code}) before its run stepped`)));
  });
  return { ...(JSON.parse(line) as { id: string; pid: number }), win };
}

/** Another window's run on the long plan, followed here read-only (this window only watches). */
async function followedReadOnly(api: Awaited<ReturnType<typeof tunerApi>>, plan: string) {
  // This window's registry watch would follow the new run as soon as its run.json appears, and
  // could connect to the trainer's control channel before the other window does, becoming the
  // controller itself: it looks only once the other window holds the channel.
  api.runs.registryWatch.paused = true;
  const other = await otherWindow(plan);
  api.runs.registryWatch.paused = false;
  await vscode.commands.executeCommand('tuner.refreshRuns');
  const session = await waitFor('the live run followed', () => api.runs.runs.manager().session(other.id));
  await waitFor('told it only watches', () => session.role === 'observer');
  return { ...other, session };
}

suite('runs outlive the window', function () {
  this.timeout(180_000);
  let longPlan: string;
  let shortPlan: string;
  let savingPlan: string;

  suiteSetup(async () => {
    // Prepare the tiny project once through Start; its plan (data already prepared) is reused.
    const argsFile = makeTinyProject(workspaceFile('tiny-detach').fsPath, { args: { max_steps: 2, save_interval: 0 } });
    const api = await tunerApi();
    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(argsFile)))!;
    await api.runs.runs.manager().session(id)?.exited;
    const plan = JSON.parse(fs.readFileSync(path.join(workspaceFile('runs').fsPath, id, 'plan.json'), 'utf8')) as RunPlan;
    longPlan = path.join(path.dirname(argsFile), 'long-plan.json');
    shortPlan = path.join(path.dirname(argsFile), 'short-plan.json');
    savingPlan = path.join(path.dirname(argsFile), 'saving-plan.json');
    fs.writeFileSync(longPlan, JSON.stringify({ ...plan, max_steps: 100_000, save_interval: 0, threads: 1 }));
    fs.writeFileSync(shortPlan, JSON.stringify({ ...plan, max_steps: 400, save_interval: 100, threads: 1 }));
    fs.writeFileSync(savingPlan, JSON.stringify({ ...plan, max_steps: 100_000, save_interval: 3, threads: 1 }));
  });

  teardown(async () => {
    (await tunerApi()).runs.registryWatch.paused = false;
  });

  test('read-only while another window controls a run; after it is gone the run trains on and this window pauses and stops it', async () => {
    const api = await tunerApi();
    const { id, win, session } = await followedReadOnly(api, longPlan);
    let panel: NonNullable<ReturnType<typeof api.runs.dashboard>>;
    try {
      await waitFor('the status bar says read-only', () => / · read-only$/.test(api.runs.statusBar.text) && api.runs.statusBar.text);
      assert.throws(() => session.pause(), /another window controls this run/);
      // The dashboard of this window says so too, with its controls off.
      await vscode.commands.executeCommand('tuner.openDashboard', id);
      panel = await waitFor('the dashboard', () => api.runs.dashboard(id)?.posted.some((m) => m.type === 'init') && api.runs.dashboard(id));
      const init = panel.posted.find((m) => m.type === 'init');
      assert.ok(init?.type === 'init' && init.run.readOnly && init.run.live, 'the dashboard opens read-only');
      assert.ok(init.run.notes?.includes('controlled by another window'), `its notes: ${JSON.stringify(init.run.notes)}`);
    } finally {
      win.kill('SIGKILL');
    }
    assert.equal(api.runs.runs.manager().session(id), session, 'the same session follows the run');
    await waitFor('promoted when the other window is gone', () => session.role === 'controller');
    await waitFor('the dashboard is told it controls the run now', () => panel.posted.some((m) => m.type === 'events' && m.run.live && !m.run.readOnly && !m.run.notes));
    const atKill = session.snapshot.step;
    await waitFor('it trains on', () => session.snapshot.step > atKill + 5);

    await panel.receive({ v: 1, type: 'control', command: 'pause' });
    await waitFor('paused from the dashboard', () => session.snapshot.status === 'paused');
    assert.doesNotMatch(api.runs.statusBar.text, /read-only/);
    await waitFor('the dashboard heard of it', () => panel.posted.some((m) => m.type === 'events' && m.events.some((e) => e.type === 'paused')));
    await panel.receive({ v: 1, type: 'control', command: 'stop' });
    await session.exited;
    assert.equal(session.snapshot.status, 'stopped', 'stopped from the dashboard');

    const events = api.runs.runs.manager().store.open(id).events();
    const steps = events.filter((e) => e.type === 'step').map((e) => e.step);
    assert.deepEqual(steps, steps.map((_, i) => i + 1), 'every step once, in order');
    const shown = panel.posted.flatMap((m) => (m.type === 'init' || m.type === 'events' ? m.events : [])).filter((e) => e.type === 'step').map((e) => e.step);
    // posted keeps the newest 50 messages: what it holds is a gapless tail of the file's steps,
    // the whole of them while it still holds the init, from before the other window was gone.
    const tail = panel.posted.some((m) => m.type === 'init') ? steps : steps.slice(steps.length - shown.length);
    assert.deepEqual(shown, tail, 'the dashboard got each step once, none missing across the change of control');
  });

  test('Take Control on a read-only row of the runs view moves the run to this window while the other one still runs', async () => {
    const api = await tunerApi();
    const { id, win, session } = await followedReadOnly(api, longPlan);
    try {
      const row = () => {
        api.runs.runTree.refresh();
        return api.runs.runTree.getChildren().find((i) => 'run' in i && (i as { run: { meta: { id: string } } }).run.meta.id === id) as vscode.TreeItem | undefined;
      };
      await waitFor('the row is read-only', () => row()?.contextValue === 'tunerRunLiveReadOnly');
      const menu = (vscode.extensions.getExtension('tuner.tuner')!.packageJSON as { contributes: { menus: Record<string, { command: string; when?: string }[]> } }).contributes.menus['view/item/context'];
      const offered = (cv: string) => menu.filter((e) => new RegExp(`viewItem == ${cv}\\b`).test(e.when ?? '')).map((e) => e.command);
      assert.deepEqual(offered('tunerRunLiveReadOnly'), ['tuner.takeControl'], 'a read-only row offers Take Control, not commands the trainer would refuse');
      assert.ok(!offered('tunerRunLive').includes('tuner.takeControl'));

      assert.equal(await vscode.commands.executeCommand('tuner.takeControl', row()), true);
      await waitFor('this window controls it', () => session.role === 'controller');
      await waitFor('the row offers the run commands again', () => row()?.contextValue === 'tunerRunLive');
      assert.equal(win.exitCode, null, 'the other window still runs: control moved, nobody died');
      await waitFor('the status bar no longer says read-only', () => !/read-only/.test(api.runs.statusBar.text));
      assert.equal(await vscode.commands.executeCommand<string>('tuner.stopRun', id), 'stopped');
    } finally {
      win.kill('SIGKILL');
      if (session.pid && session.snapshot.status !== 'stopped') session.kill('SIGKILL'); // no trainer left for the next test
    }
  });

  test('a run that finished, and one that died, while no window was open are reported', async () => {
    const api = await tunerApi();
    // This window plays one that is closed: it does not notice the other windows' runs until
    // Refresh Runs (otherwise it would follow them, and their ends would be a followed run's).
    api.runs.registryWatch.paused = true;
    const finished = await otherWindow(shortPlan, 'detach');
    const died = await otherWindow(savingPlan, 'detach');
    await Promise.all([finished, died].map(({ win }) => new Promise((r) => (win.exitCode !== null ? r(0) : win.once('exit', r)))));
    const store = api.runs.runs.manager().store;
    await waitFor('the short run finished on its own', () => store.open(finished.id).snapshot().status === 'done', 60_000);
    assert.ok(store.open(died.id).trainerAlive());
    const ckpt = await waitFor('a checkpoint of the run that will die', () => store.open(died.id).lastCheckpoint());
    process.kill(died.pid, 'SIGKILL');
    await waitFor('the killed trainer is gone', () => !store.open(died.id).trainerAlive());
    assert.equal(api.runs.runs.manager().session(finished.id), undefined, 'this window did not follow the runs meanwhile');
    api.runs.registryWatch.paused = false;

    await vscode.commands.executeCommand('tuner.refreshRuns');
    const reattachReports = api.runs.reattachReports;
    const done = reattachReports.find((r) => r.runId === finished.id);
    assert.ok(done, 'the finished run is reported');
    assert.match(done.message, /finished while no window was open.*step 400\/400, final loss \d\.\d{3}/);
    assert.deepEqual(done.actions, ['Open Dashboard', 'Open Folder', 'Try in Playground']);
    const dead = reattachReports.find((r) => r.runId === died.id);
    assert.ok(dead, 'the dead run is reported');
    assert.match(dead.message, /interrupted while no window was open.*tuner-train ended at step \d+ without finishing; its log ends: .*Its last checkpoint is at step \d+\./);
    assert.deepEqual(dead.actions, ['Resume', 'Show Log']);
    await vscode.commands.executeCommand('tuner.refreshRuns');
    assert.equal(reattachReports.filter((r) => r.runId === finished.id).length, 1, 'reported once');
    assert.equal(reattachReports.filter((r) => r.runId === died.id).length, 1, 'reported once');

    // Its Resume: the run goes on from its last checkpoint, in this window.
    const lastCkpt = store.open(died.id).lastCheckpoint()!;
    assert.ok(lastCkpt.step >= ckpt.step);
    assert.equal(await vscode.commands.executeCommand<string>('tuner.resumeFromCheckpoint', died.id), died.id);
    const resumed = await waitFor('the resumed run', () => api.runs.runs.manager().session(died.id));
    await waitFor('it steps past its checkpoint', () => resumed.snapshot.step > lastCkpt.step);
    assert.equal(await vscode.commands.executeCommand<string>('tuner.stopRun', died.id), 'stopped');
    const starts = store.open(died.id).events().filter((e) => e.type === 'start');
    assert.equal(starts.length, 2);
    assert.equal(starts[1].type === 'start' && starts[1].step, lastCkpt.step, 'from its last checkpoint');
  });
});
