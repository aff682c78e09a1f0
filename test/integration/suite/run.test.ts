// Fine-tuning runs in the real extension host: "Fine-tune: Start" on a tiny model, the debug
// adapter driven through VS Code's debug API (stop on entry, step, function breakpoint "step N",
// pause, stop = checkpoint), a NaN breakpoint on the exact failing step, the runs history, and
// resume after kill -9 reproducing the uninterrupted loss sequence.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { StepEvent } from '../../../src/core/engine/protocol';
import { RunRecord } from '../../../src/core/run/run-store';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';

type DapMessage = { type: string; event?: string; body?: Record<string, unknown>; session?: string };

const losses = (rec: RunRecord) => {
  const byStep = new Map<number, number>();
  for (const e of rec.events()) if (e.type === 'step') byStep.set(e.step, (e as StepEvent).loss);
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
};

suite('fine-tuning runs', function () {
  this.timeout(240_000);
  let argsFile: string;
  let firstRunId: string;
  const dap: DapMessage[] = [];

  suiteSetup(() => {
    argsFile = makeTinyProject(workspaceFile('tiny').fsPath, { args: { max_steps: 12, save_interval: 4 } });
    // Long enough that it cannot end on its own while the test steers it.
    makeTinyProject(workspaceFile('tiny-debug').fsPath, { args: { max_steps: 100_000, save_interval: 0 } });
    vscode.debug.registerDebugAdapterTrackerFactory('tuner', {
      createDebugAdapterTracker: (session) => ({ onDidSendMessage: (m: DapMessage) => dap.push({ ...m, session: session.id }) }),
    });
  });

  test('Fine-tune: Start runs the trainer, stores events and feeds the status bar and dashboard', async () => {
    const api = await tunerApi();
    const texts = new Set<string>();
    const sub = api.runs.runs.onDidChange(() => texts.add(api.runs.statusBar.text));
    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(argsFile)))!;
    assert.ok(id, 'the command returns the run id');
    firstRunId = id;
    const session = api.runs.runs.manager().session(id);
    if (session) await session.exited;
    sub.dispose();
    const rec = api.runs.runs.manager().store.open(id);
    const snap = rec.snapshot();
    assert.equal(snap.status, 'done');
    assert.equal(snap.step, 12);
    assert.equal(losses(rec).length, 12);
    assert.ok(fs.existsSync(path.join(rec.dir, 'adapter', 'adapter_model.safetensors')), 'the LoRA adapter was written');
    assert.ok([...texts].some((t) => /\d+\/12 · loss \d/.test(t)), `status bar showed progress: ${[...texts].join(' | ')}`);
    const panel = await waitFor('the dashboard got its events', () => {
      const p = api.runs.dashboard(id);
      return p?.posted.some((m) => m.type === 'init') && p;
    });
    const sent = panel.posted.flatMap((m) => (m.type === 'init' || m.type === 'events' ? m.events : []));
    assert.equal(sent.filter((e) => e.type === 'step').length, 12, 'every step reached the dashboard once');
  });

  test('a refused ARGS.json shows why at the line of the field, until a start succeeds', async () => {
    const refused = makeTinyProject(workspaceFile('tiny-refused').fsPath, { args: { method: 'lomo', optimizer: 'adamw', gradient_accumulation: 1 } });
    const uri = vscode.Uri.file(refused);
    const store = (await tunerApi()).runs.runs.manager().store;
    const runsBefore = store.list().runs.length;
    await vscode.commands.executeCommand('tuner.startRun', uri);
    const [diagnostic] = await waitFor('the refusal is a diagnostic', () => {
      const ds = vscode.languages.getDiagnostics(uri).filter((d) => d.message.startsWith('Fine-tune: Start refused'));
      return ds.length > 0 && ds;
    });
    const optimizerLine = fs.readFileSync(refused, 'utf8').split('\n').findIndex((l) => l.includes('"optimizer"'));
    assert.equal(diagnostic.range.start.line, optimizerLine);
    assert.match(diagnostic.message, /method "lomo" fuses a plain SGD step into backward .* set "optimizer" to "sgd"/);
    assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(store.list().runs.length, runsBefore, 'no run was started');
  });

  test('the debugger pauses, steps one optimizer step, breaks at "step N", and stop checkpoints', async () => {
    const api = await tunerApi();
    const file = workspaceFile('tiny-debug/ARGS.json').fsPath;
    dap.length = 0;
    const stopped = async (after: number, what: string) => {
      const m = await waitFor(`a stopped event (${what})`, () => dap.slice(after).find((x) => x.event === 'stopped'), 60_000);
      return m.body as { reason: string; description?: string };
    };
    const bp = new vscode.FunctionBreakpoint('step 7');
    vscode.debug.addBreakpoints([bp]);
    try {
      assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'tuner', request: 'launch', name: 'debug tiny', args: file, stopOnEntry: true }));
      const ds = await waitFor('the debug session', () => vscode.debug.activeDebugSession);
      assert.equal((await stopped(0, 'entry')).reason, 'entry');
      const session = await waitFor('the run session', () => api.runs.runs.manager().current());
      assert.equal(session.snapshot.step, 0);

      let mark = dap.length;
      await ds.customRequest('next', { threadId: 1 });
      assert.equal((await stopped(mark, 'step')).reason, 'step');
      assert.equal(session.snapshot.step, 1, 'step = exactly one optimizer step');

      mark = dap.length;
      await ds.customRequest('continue', { threadId: 1 });
      const atBp = await stopped(mark, 'breakpoint');
      assert.equal(atBp.reason, 'breakpoint');
      assert.equal(session.snapshot.step, 7, 'stopped right after step 7');
      const frames = (await ds.customRequest('stackTrace', { threadId: 1 })) as { stackFrames: { id: number; name: string }[] };
      assert.match(frames.stackFrames[0].name, /^step 7 \/ 100000/);
      const scopes = (await ds.customRequest('scopes', { frameId: frames.stackFrames[0].id })) as { scopes: { name: string; variablesReference: number }[] };
      const vars = (await ds.customRequest('variables', { variablesReference: scopes.scopes[0].variablesReference })) as { variables: { name: string; value: string }[] };
      const v = Object.fromEntries(vars.variables.map((x) => [x.name, x.value]));
      assert.equal(v.step, '7');
      assert.equal(Number(v.loss), session.snapshot.loss);
      assert.ok(Number(v.lr) > 0 && Number(v.tokens) > 0);
      const evalLoss = (await ds.customRequest('evaluate', { expression: 'loss', context: 'repl' })) as { result: string };
      assert.equal(evalLoss.result, v.loss);

      vscode.debug.removeBreakpoints([bp]);
      await waitFor('breakpoint removed', () => session.breakpoints.atSteps.length === 0);
      mark = dap.length;
      await ds.customRequest('continue', { threadId: 1 });
      await waitFor('a few more steps', () => session.snapshot.step >= 10);
      await ds.customRequest('pause', { threadId: 1 });
      assert.equal((await stopped(mark, 'pause')).reason, 'pause');
      const pausedAt = session.snapshot.step;
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(session.snapshot.step, pausedAt, 'no step runs while paused');

      await vscode.debug.stopDebugging(ds);
      await session.exited;
      assert.equal(session.snapshot.status, 'stopped');
      assert.equal(session.snapshot.lastCheckpoint?.step, pausedAt, 'stop saved a checkpoint at the paused step');
      assert.ok(fs.existsSync(session.snapshot.lastCheckpoint!.path));
    } finally {
      vscode.debug.removeBreakpoints([bp]);
    }
  });

  test('the NaN/Inf breakpoint stops on the step whose gradient is not finite', async () => {
    const api = await tunerApi();
    const first = api.runs.runs.manager().store.open(firstRunId);
    // lr 10 with weight decay 1 multiplies every weight by -9 each step: floats overflow in a few steps.
    const plan = { ...first.plan(), method: 'full' as const, lora: undefined, optimizer: { lr: 10, weight_decay: 1 }, max_grad_norm: 0, schedule: 'constant' as const, max_steps: 100, save_interval: 0 };
    const planFile = workspaceFile('tiny/nan-plan.json').fsPath;
    fs.writeFileSync(planFile, JSON.stringify(plan, null, 2));
    dap.length = 0;
    const store = api.runs.runs.manager().store;
    const before = new Set(store.list().runs.map((r) => r.meta.id));
    // This session's messages only: an earlier test's session can still be ending.
    const sessionStarted = new Promise<vscode.DebugSession>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => s.name === 'nan' && (sub.dispose(), resolve(s)));
    });
    assert.ok(await vscode.debug.startDebugging(vscode.workspace.workspaceFolders![0], { type: 'tuner', request: 'launch', name: 'nan', plan: planFile }));
    const ds = await sessionStarted;
    const stop = await waitFor('a stopped event', () => dap.find((x) => x.session === ds.id && x.event === 'stopped'), 60_000);
    const body = stop.body as { reason: string; description: string };
    assert.equal(body.reason, 'exception');
    // The trainer has ended on the error; the debug session stays stopped on it.
    // The run this session started: the one run that was not there before (not the newest by id,
    // which a run made in the same second could be).
    const started = store.list().runs.filter((r) => !before.has(r.meta.id));
    assert.equal(started.length, 1, `runs started: ${started.map((r) => r.meta.id).join(', ')}`);
    const rec = store.open(started[0].meta.id);
    const events = rec.events();
    const error = events.find((e) => e.type === 'error');
    assert.ok(error && error.type === 'error' && error.code.startsWith('non_finite'), JSON.stringify(error));
    const lastStep = Math.max(...events.filter((e) => e.type === 'step').map((e) => e.step));
    assert.equal(error.step, lastStep + 1, 'the failing step is the one after the last finished step');
    assert.match(body.description, new RegExp(`is (NaN|[+-]Inf) at step ${error.step}\\b`));
    const info = (await ds.customRequest('exceptionInfo', { threadId: 1 })) as { exceptionId: string };
    assert.equal(info.exceptionId, 'nonFinite');
    await vscode.debug.stopDebugging(ds);
    assert.equal(rec.snapshot().status, 'failed');
  });

  test('the runs view lists every run, newest first, with its state', async () => {
    const api = await tunerApi();
    const runs = api.runs.runTree.list();
    assert.ok(runs.length >= 3);
    const first = runs.find((r) => r.meta.id === firstRunId);
    assert.equal(first?.snapshot.status, 'done');
    assert.deepEqual(runs.map((r) => r.meta.id), [...runs.map((r) => r.meta.id)].sort().reverse());
    assert.deepEqual(api.runs.runTree.problems, []);
  });

  test('resume after kill -9 continues from the last checkpoint with the same loss sequence', async () => {
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    // Long enough that the pause below lands well before the end, however loaded the machine.
    const file = makeTinyProject(workspaceFile('tiny-resume').fsPath, { args: { max_steps: 1000, save_interval: 10 } });
    const refId = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(file)))!;
    await m.session(refId)?.exited;
    const reference = losses(m.store.open(refId));
    assert.equal(reference.length, 1000);

    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(file)))!;
    const session = m.session(id)!;
    // Pause as soon as the first checkpoint is written, then kill -9: the steps after it are lost.
    session.listen({ onEvent: (e) => e.type === 'checkpoint' && session.pause() });
    await waitFor('the run paused after its first checkpoint', () => session.snapshot.status === 'paused', 60_000);
    const killedAt = session.snapshot.step;
    session.kill('SIGKILL');
    await session.exited;
    const rec = m.store.open(id);
    assert.equal(rec.snapshot().status, 'interrupted');
    const ckpt = rec.lastCheckpoint()!;
    assert.ok(ckpt.step >= 10 && ckpt.step % 10 === 0 && ckpt.step <= killedAt && killedAt < 1000, `checkpoint ${ckpt.step}, killed at ${killedAt}`);
    await vscode.commands.executeCommand('tuner.resumeFromCheckpoint', id);
    await m.session(id)?.exited;
    assert.equal(m.store.open(id).snapshot().status, 'done');
    const starts = rec.events().filter((e) => e.type === 'start');
    assert.equal(starts.length, 2);
    assert.equal(starts[1].type === 'start' && starts[1].step, ckpt.step, 'the second segment starts at the checkpoint');
    assert.deepEqual(losses(rec), reference, 'same loss at every step as the uninterrupted run');
  });
});
