// A run outlives its extension host, in the real host: a run trains, the extension host is
// restarted (workbench.action.restartExtensionHost: Tuner deactivates as on a window reload, a
// new host activates it again; host-restart.ts), and the trainer keeps stepping meanwhile (same
// pid, events.jsonl grows). The new host reattaches: the run is followed again from its events
// (the dashboard shows every step once, with no gap across the restart), the status bar and the
// runs view show it, the dashboard pauses and resumes it, the debugger attaches to it, pauses it
// and stops it. events.jsonl then holds every step once, in order, from one trainer.
// The suite also checks, in the new host, that a registry naming a live process with another
// start time (a reused pid) is not taken for a trainer; then that a run whose host is killed
// (no deactivation) and that finishes meanwhile is reported; then that with
// tuner.runs.stopWhenWindowCloses on, a reload stops the run with a checkpoint instead.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunPlan } from '../../../src/core/engine/plan';
import { identify } from '../../../src/core/engine/process-identity';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';
import { afterRestart, requestRestart } from './host-restart';

const AFTER = 'after the extension host restarted';
const CRASHED = 'after the extension host crashed';
const STOPPED = 'after a reload with tuner.runs.stopWhenWindowCloses';

interface HandedOver {
  runId: string;
  pid: number;
  hostPid: number;
  step: number;
  eventsBytes: number;
}

const stepsOf = (events: { type: string; step?: number }[]) => events.filter((e) => e.type === 'step').map((e) => e.step!);

suite('a run outlives its extension host', function () {
  this.timeout(180_000);

  test('before the restart: a run trains, and the host is asked to restart', async function () {
    if (afterRestart()) this.skip();
    const argsFile = makeTinyProject(workspaceFile('tiny-restart').fsPath, { args: { max_steps: 2, save_interval: 0 } });
    const api = await tunerApi();
    const first = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(argsFile)))!;
    await api.runs.runs.manager().session(first)?.exited;
    // The prepared plan, made long: its trainer trains through the restart (a bigger batch keeps
    // the events file small while it does).
    const plan = JSON.parse(fs.readFileSync(path.join(workspaceFile('runs').fsPath, first, 'plan.json'), 'utf8')) as RunPlan;
    const longPlan = path.join(path.dirname(argsFile), 'long-plan.json');
    fs.writeFileSync(longPlan, JSON.stringify({ ...plan, max_steps: 1_000_000, save_interval: 0, threads: 1, batch_size: 16 }));
    fs.writeFileSync(path.join(path.dirname(argsFile), 'short-plan.json'), JSON.stringify({ ...plan, max_steps: 3000, save_interval: 0, threads: 1, batch_size: 16 }));
    const session = await api.runs.runs.startPlan(longPlan, { mode: 'free' });
    await waitFor('a few steps', () => session.snapshot.step >= 5);
    const record = session.record;
    const handed: HandedOver = { runId: record.id, pid: session.pid!, hostPid: process.pid, step: session.snapshot.step, eventsBytes: fs.statSync(record.eventsFile).size };
    requestRestart(AFTER, handed);
  });

  test(`${AFTER}: the trainer trained on and is followed again; dashboard, status bar, runs view, debugger and stop work`, async function () {
    const before = afterRestart<HandedOver>();
    if (!before) this.skip();
    assert.notEqual(process.pid, before.hostPid, 'this is a new extension host');
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    const session = await waitFor('the run followed again', () => m.session(before.runId));
    assert.ok(session.attached, 'attached to the trainer an earlier host started');
    assert.equal(session.pid, before.pid, 'the same trainer process');
    const record = m.store.open(before.runId);
    assert.ok(fs.statSync(record.eventsFile).size > before.eventsBytes, 'events.jsonl grew while the host restarted');
    assert.ok(session.snapshot.step > before.step, 'it stepped meanwhile');
    assert.equal(record.meta.detachedAt, undefined, 'the closing host\'s mark is cleared once followed again');
    assert.equal(record.meta.window?.pid, process.pid, 'this host now follows it');
    await waitFor('the status bar', () => /^\$\(pulse\) \d+\/1000000 · /.test(api.runs.statusBar.text) && api.runs.statusBar.text);
    await waitFor('the runs view', () => api.runs.runTree.getChildren().find((i) => i.id === before.runId && /^running · /.test(String(i.description))));

    // The dashboard continues from the events file: every step once, none missing across the restart.
    await vscode.commands.executeCommand('tuner.openDashboard', before.runId);
    const panel = await waitFor('the dashboard', () => api.runs.dashboard(before.runId)?.posted.some((mm) => mm.type === 'init') && api.runs.dashboard(before.runId));
    await waitFor('the control channel', () => session.role === 'controller');
    await panel.receive({ v: 1, type: 'control', command: 'pause' });
    await waitFor('paused from the dashboard', () => session.snapshot.status === 'paused');
    await panel.receive({ v: 1, type: 'control', command: 'resume' });
    await waitFor('resumed from the dashboard', () => session.snapshot.status === 'running');

    // The debugger attaches to the live run and pauses it.
    assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'tuner', request: 'attach', name: 'attach', run: before.runId }));
    const ds = await waitFor('the debug session', () => vscode.debug.activeDebugSession);
    await ds.customRequest('pause', { threadId: 1 });
    await waitFor('paused by the debugger', () => session.snapshot.status === 'paused');
    await ds.customRequest('continue', { threadId: 1 });
    await waitFor('going on under the debugger', () => session.snapshot.status === 'running');
    // And stops it: the debugger's Stop (terminate) is the run's stop (a checkpoint, then exit).
    await ds.customRequest('terminate');
    await session.exited;
    assert.equal(session.snapshot.status, 'stopped');
    const events = m.store.open(before.runId).events();
    assert.equal(events.filter((e) => e.type === 'start').length, 1, 'one trainer from the first step to the last');
    const steps = stepsOf(events);
    assert.ok(steps.length > before.step);
    assert.deepEqual(steps, steps.map((_, i) => i + 1), 'every step once, in order, across the restart');
    assert.ok(events.some((e) => e.type === 'heartbeat'), 'the trainer\'s heartbeats are in the file');
    await waitFor('the dashboard heard of the end', () => panel.posted.some((mm) => mm.type === 'events' && mm.events.some((e) => e.type === 'done')));
    const shown = stepsOf(panel.posted.flatMap((mm) => (mm.type === 'init' || mm.type === 'events' ? mm.events : [])));
    // posted keeps the newest 50 messages: what it holds is a gapless tail of the file's steps.
    assert.deepEqual(shown, steps.slice(steps.length - shown.length), 'the dashboard got each step once, none missing');
  });

  test(`${AFTER}: a registry naming a live process with another start time (a reused pid) is not taken for the trainer`, async function () {
    if (!afterRestart()) this.skip();
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    const argsFile = workspaceFile('tiny-restart/ARGS.json').fsPath;
    const record = m.store.create(argsFile);
    fs.copyFileSync(workspaceFile('tiny-restart/long-plan.json').fsPath, record.planFile);
    record.appendEvent({ version: 1, type: 'start', method: 'lora', params: 1, trainable_params: 1, tokens_per_step: 1, threads: 1, max_steps: 10, step: 0, resumed_from: null, model: { architecture: 'LlamaForCausalLM', model_type: 'llama', vocab_size: 1, hidden_size: 1, intermediate_size: 1, num_layers: 1, num_heads: 1, num_kv_heads: 1, head_dim: 1 }, data: { documents: 1, tokens: 1, truncated_documents: 0, batches_per_epoch: 1 } });
    // A live process whose command line even names this run's plan, but started at another time
    // than the registry says: the pid was given to another process since.
    const impostor = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', record.planFile], { stdio: 'ignore', env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    try {
      await new Promise((r) => impostor.once('spawn', r));
      record.setTrainer({ ...identify(impostor.pid!)!, start: 'an earlier start' });
      await vscode.commands.executeCommand('tuner.refreshRuns');
      assert.equal(m.session(record.id), undefined, 'not followed');
      assert.equal(m.store.open(record.id).snapshot().status, 'interrupted');
      assert.equal(impostor.exitCode, null, 'and the impostor was left alone');
    } finally {
      impostor.kill('SIGKILL');
    }
    // Next: a run that ends while no host runs, its window killed without deactivating.
    const session = await api.runs.runs.startPlan(workspaceFile('tiny-restart/short-plan.json').fsPath, { mode: 'free' });
    await waitFor('a step', () => session.snapshot.step >= 1);
    assert.equal(m.store.open(session.record.id).meta.window?.pid, process.pid);
    requestRestart(CRASHED, { runId: session.record.id, hostPid: process.pid }, 'crash');
  });

  test(`${CRASHED}: a run that finished while no window was open is reported, though its window never deactivated`, async function () {
    const before = afterRestart<{ runId: string; hostPid: number }>();
    if (!before || !('runId' in before) || 'pid' in before) this.skip();
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    // Still training when this host came up: followed, and its end seen here (nothing to report then).
    const live = m.session(before.runId);
    if (live) await live.exited;
    const report = await waitFor('the report', () => api.runs.reattachReports.find((r) => r.runId === before.runId), 30_000);
    assert.match(report.message, /finished while no window was open \(the window that followed it closed unexpectedly\): step 3000\/3000, final loss \d\.\d{3}, .* of training\./);
    assert.deepEqual(report.actions, ['Open Dashboard', 'Open Folder', 'Try in Playground']);
    assert.equal(m.store.open(before.runId).meta.window, undefined, 'reported once');
  });

  test(`${CRASHED}: with tuner.runs.stopWhenWindowCloses on, a run trains and the host is asked to restart`, async function () {
    const before = afterRestart<{ runId: string; hostPid: number }>();
    if (!before || !('runId' in before) || 'pid' in before) this.skip();
    const api = await tunerApi();
    await vscode.workspace.getConfiguration('tuner.runs').update('stopWhenWindowCloses', true, vscode.ConfigurationTarget.Workspace);
    const session = await api.runs.runs.startPlan(workspaceFile('tiny-restart/long-plan.json').fsPath, { mode: 'free' });
    await waitFor('a few steps', () => session.snapshot.step >= 5);
    const handed: HandedOver = { runId: session.record.id, pid: session.pid!, hostPid: process.pid, step: session.snapshot.step, eventsBytes: 0 };
    requestRestart(STOPPED, handed);
  });

  test(`${STOPPED}: the reload stopped the run with a checkpoint, as before runs outlived windows`, async function () {
    const before = afterRestart<HandedOver>();
    if (!before) this.skip();
    assert.notEqual(process.pid, before.hostPid, 'this is a new extension host');
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    // The trainer may still be writing its checkpoint when this host comes up: then it is followed to its end.
    const live = m.session(before.runId);
    if (live) await live.exited;
    const record = m.store.open(before.runId);
    assert.ok(!record.trainerAlive(), 'the trainer has ended');
    const events = record.events();
    const done = events[events.length - 1];
    assert.ok(done.type === 'done' && done.reason === 'stopped', `ended by the stop command: ${JSON.stringify(done)}`);
    assert.equal(record.snapshot().status, 'stopped');
    assert.equal(record.lastCheckpoint()?.step, done.step, 'with a checkpoint of its last step, for Resume');
    assert.ok(done.step > before.step && done.step < 1_000_000);
    assert.equal(record.meta.detachedAt, undefined, 'not left training: nothing to report');
    assert.equal(api.runs.reattachReports.find((r) => r.runId === before.runId), undefined);
    await vscode.workspace.getConfiguration('tuner.runs').update('stopWhenWindowCloses', undefined, vscode.ConfigurationTarget.Workspace);
  });
});
