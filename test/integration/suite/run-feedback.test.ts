// What a user sees of a run and its plan in the real host: the
// ARGS.json hover (units that fit, each text once, only what this machine can run, the time of
// the whole run, the speed measured by a finished run), and the dashboard of a fast run (a pause
// shows with the trainer's confirmation, not a flush later; a stopped run resumes from it).
import * as assert from 'node:assert';
import * as vscode from 'vscode';
import type { HostToDashboard } from '../../../webview/protocol';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { closeAllEditors, tunerApi, waitFor, workspaceFile } from './helpers';

function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
}

/** Polls an async `probe` until it returns something truthy. */
async function poll<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
}

const headerOf = (m: HostToDashboard | undefined) => (m && (m.type === 'init' || m.type === 'events') ? m.run : undefined);

suite('run feedback: the ARGS.json hover, the dashboard of a fast run', function () {
  this.timeout(180_000);
  teardown(closeAllEditors);

  test('ARGS.json hover: parameters in units that fit, the description once, nothing this machine cannot run, the time of max_steps, then the speed a run measured', async () => {
    const api = await tunerApi();
    const planned = makeTinyProject(workspaceFile('hover-plan').fsPath, { args: { max_steps: 20_000 } });
    const doc = await vscode.workspace.openTextDocument(planned);
    await vscode.window.showTextDocument(doc);
    const modelKey = new vscode.Position(doc.getText().split('\n').findIndex((l) => l.includes('"model"')), 4);
    const hover = async () => hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, modelKey));
    let text = await poll('the estimate in the hover', async () => {
      const t = await hover();
      return t.includes('Pre-flight estimate') && t;
    });
    assert.match(text, /LlamaForCausalLM: [\d.]+ K parameters, [\d.]+ K trained/);
    assert.doesNotMatch(text, /0\.0 M|0\.00 M/);
    assert.match(text, /for 20,000 steps \(max_steps/);
    // This machine has no CUDA GPU: nothing that needs one is suggested; and no change that
    // lowers the peak by less than 5% (this tiny model's only candidates) is offered.
    assert.doesNotMatch(text, /CUDA/);
    assert.doesNotMatch(text, /^- with /m);
    const description = 'Model to tune';
    assert.ok(text.split(description).length - 1 <= 1, `the model's description at most once:\n${text}`);
    // A short run measures this machine's speed; the hover uses it as soon as the run ends.
    const runArgs = makeTinyProject(workspaceFile('hover-run').fsPath, { args: { max_steps: 12 } });
    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(runArgs)))!;
    await api.runs.runs.manager().session(id)?.exited;
    assert.strictEqual(api.runs.runs.manager().store.open(id).snapshot().status, 'done', `run ${id} trained`);
    text = await poll(`the hover's speed measured in run ${id}`, async () => {
      const t = await hover();
      return t.includes(`from run ${id}: `) && t;
    });
    assert.doesNotMatch(text, /assumed for/);
  });

  test('a fast run: the dashboard shows a pause with the trainer\'s confirmation, current to the step; a stopped run resumes from its checkpoint there', async () => {
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    const file = makeTinyProject(workspaceFile('fast-run').fsPath, { args: { max_steps: 100_000, save_interval: 0 } });
    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(file)))!;
    const session = m.session(id)!;
    await vscode.commands.executeCommand('tuner.openDashboard', id);
    const panel = await waitFor('the dashboard is open', () => api.runs.dashboard(id)?.posted.some((p) => p.type === 'init') && api.runs.dashboard(id));
    await waitFor('a few hundred steps', () => session.snapshot.step > 300, 60_000);
    // Listeners run in the order they were added: the panel's first, then this one. When the
    // trainer's paused event arrives, the panel must already have posted it.
    const atPause = new Promise<{ posted: ReturnType<typeof headerOf>; step: number }>((resolve) => {
      const stop = session.listen({
        onEvent: (e) => {
          if (e.type !== 'paused') return;
          stop();
          resolve({ posted: headerOf(panel.posted.at(-1)), step: session.snapshot.step });
        },
      });
    });
    session.pause();
    const seen = await atPause;
    assert.strictEqual(seen.posted?.status, 'paused', 'the page was told at once');
    assert.strictEqual(seen.posted?.step, seen.step, 'the page is current to the step');
    // Stop: the trainer checkpoints and ends; the page offers Resume from Checkpoint.
    session.stop();
    await session.exited;
    const stopped = await waitFor('the stopped state on the page', () => {
      const h = headerOf(panel.posted.at(-1));
      return h?.status === 'stopped' && h;
    });
    assert.strictEqual(stopped.canResume, true);
    assert.strictEqual(stopped.live, false);
    await panel.receive({ v: 1, type: 'resumeFromCheckpoint' });
    const resumed = await waitFor('the run resumed from the dashboard', () => m.session(id), 60_000);
    await waitFor('the resumed run trains', () => resumed.snapshot.step > stopped.step, 60_000);
    resumed.stop();
    await resumed.exited;
    const starts = m.store.open(id).events().filter((e) => e.type === 'start');
    assert.strictEqual(starts.length, 2, 'a second segment, from the checkpoint');
  });
});
