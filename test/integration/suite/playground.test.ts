// The playground in a real VS Code extension host: the panel's real webview boots and asks for
// its data; with no model anywhere it gets an empty list (the page's empty state); after a tiny
// run is trained, "Try in Playground" opens base and tuned side by side and the page loads both;
// they generate together (the tuned one answering as the data taught it), Stop ends a long
// generation, the merge and GGUF export commands write into the workspace (the GGUF loaded back
// in llama.cpp), and closing the panel stops its inference processes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { buildCatalog } from '../../../src/core/playground/catalog';
import type { HostToPlayground, PlaygroundPrompt } from '../../../webview/protocol';
import { LlamaCppPeer } from '../../native/llama-cpp-peer';
import { writeModelWithTokenizer } from '../../native/export-fixtures';
import { writeEndlessModel } from '../../native/playground-fixtures';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';
import { workbench, workbenchDriverAvailable } from './workbench-driver';

const ANSWERS = /^(paris|madrid|rome|berlin|four|two|eight|blue|green|white) \.$/;
const GREEDY = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1, no_repeat_ngram_size: 0, seed: 1, max_new_tokens: 12, stop: [] as string[] };
/** The README's picture of the panel, taken in the real workbench. */
const README_SHOT = path.resolve(__dirname, '..', '..', '..', '..', 'test', 'e2e', 'artifacts', 'playground-vscode.png');
const chat = (q: string): PlaygroundPrompt => ({ type: 'chat', messages: [{ role: 'user', content: q }] });
const of = <T extends HostToPlayground['type']>(posted: HostToPlayground[], type: T, from = 0) =>
  posted.slice(from).filter((m): m is Extract<HostToPlayground, { type: T }> => m.type === type);

suite('playground', function () {
  this.timeout(300_000);
  let runId: string;

  suiteTeardown(async () => {
    (await tunerApi()).playground()?.dispose();
  });

  test('with no model in the workspace or the cache, the real page gets an empty list (its empty state)', async () => {
    const api = await tunerApi();
    // Other suites of a full run may have put models in the workspace before this one.
    const already = buildCatalog({ workspaceDir: vscode.workspace.workspaceFolders![0].uri.fsPath }).entries.map((e) => e.id);
    assert.equal(await vscode.commands.executeCommand('tuner.openPlayground'), 'tuner.playground');
    const panel = await waitFor('the playground page to boot and ask for its data', () => api.playground()?.posted.find((m) => m.type === 'init'), 60_000);
    assert.equal(panel.type, 'init');
    if (panel.type !== 'init') return;
    assert.deepEqual(panel.models.map((m) => m.id), already);
    if (already.length === 0) assert.deepEqual(panel.models, [], 'nothing to pick: the page shows where Tuner looked and "Choose Model Folder…"');
    assert.equal(panel.trusted, true);
    assert.deepEqual(panel.sides.map((s) => s.phase), ['empty', 'empty'], 'no inference process before a model is picked');
    assert.equal(api.playground()!.controller.sides[0].pid, undefined);
  });

  test('Try in Playground on a trained run: base and tuned load side by side and answer together', async () => {
    const api = await tunerApi();
    const prompts = ['what is the colour of grass ?', 'how many legs does a bird have ?'];
    const args = makeTinyProject(workspaceFile('pg-tiny').fsPath, { args: { max_steps: 120, save_interval: 60, learning_rate: 0.02, sample_prompts: prompts, sample_interval: 60 } });
    runId = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(args)))!;
    const session = api.runs.runs.manager().session(runId);
    if (session) await session.exited;
    assert.equal(api.runs.runs.manager().store.open(runId).snapshot().status, 'done');
    // The dashboard got the samples decoded, step by step; by the last one the answers have the data's form.
    const dashboard = await waitFor('the dashboard with its samples', () => {
      const d = api.runs.dashboard(runId);
      const rows = d?.posted.flatMap((m) => (m.type === 'init' || m.type === 'events' ? m.samples ?? [] : []));
      return rows && rows.some((r) => r.step === 120) && rows;
    });
    assert.deepEqual(dashboard.map((r) => r.step), [60, 120]);
    for (const a of dashboard.at(-1)!.answers) assert.match(a.text, /^\w+ ?\.$/, JSON.stringify(a));

    const tunedId = await vscode.commands.executeCommand<string>('tuner.tryInPlayground', runId);
    assert.match(tunedId ?? '', /^adapter:.*adapter$/);
    const panel = api.playground()!;
    // The real page got the picks and asked for both loads itself.
    await waitFor('both sides loaded by the page', () => panel.controller.sides.every((s) => s.status.phase === 'ready'), 120_000);
    const [base, tuned] = panel.controller.sides.map((s) => s.status);
    assert.equal(tuned.modelId, tunedId);
    assert.ok(base.loaded!.loadMs > 0 && base.loaded!.residentBytes > 0 && tuned.loaded!.weightBytes > base.loaded!.weightBytes);

    for (const q of ['what is the capital of france ?', 'what is the colour of snow ?']) {
      const from = panel.posted.length;
      await panel.receive({ v: 1, type: 'generate', genId: `g-${q.length}`, requests: [{ side: 0, prompt: chat(q) }, { side: 1, prompt: chat(q) }], sampling: GREEDY, history: { mode: 'chat', text: q, at: Date.now() } });
      const done = of(panel.posted, 'done', from);
      assert.equal(done.length, 2, JSON.stringify(of(panel.posted, 'genError', from)));
      const t = done.find((d) => d.side === 1)!;
      const b = done.find((d) => d.side === 0)!;
      assert.match(t.text.trim(), ANSWERS, `tuned: ${JSON.stringify(t.text)}`);
      assert.doesNotMatch(b.text.trim(), ANSWERS, `base: ${JSON.stringify(b.text)}`);
      assert.equal(of(panel.posted, 'token', from).filter((x) => x.side === 1).map((x) => x.text).join(''), t.text, 'streamed to the page token by token');
    }

    // A question typed into the real page and sent as a user does: both sides answer on the
    // page, and the window is the README's picture of the playground.
    if (workbenchDriverAvailable) {
      for (const c of ['workbench.action.closeSidebar', 'workbench.action.closePanel', 'workbench.action.closeAuxiliaryBar']) await vscode.commands.executeCommand(c);
      const from = panel.posted.length;
      await workbench({ do: 'fill', selector: '#draft textarea', text: 'what is the colour of grass ?' });
      await workbench({ do: 'click', selector: '#send' });
      const answers = await waitFor('both answers on the page', () => of(panel.posted, 'done', from).length === 2 && of(panel.posted, 'done', from), 60_000);
      assert.match(answers.find((d) => d.side === 1)!.text.trim(), ANSWERS);
      await new Promise((r) => setTimeout(r, 500)); // the page paints the last token
      await workbench({ do: 'screenshot', path: README_SHOT });
      assert.ok(fs.statSync(README_SHOT).size > 20_000, 'a picture of the workbench');
    }
  });

  test('Stop ends a long generation within a token or two', async () => {
    const api = await tunerApi();
    const dir = writeEndlessModel(workspaceFile('pg-endless').fsPath);
    const panel = api.playground()!;
    await panel.receive({ v: 1, type: 'refresh' });
    await panel.receive({ v: 1, type: 'load', side: 0, modelId: `model:${dir}`, quant: 'f32', force: false });
    assert.equal(panel.controller.sides[0].status.phase, 'ready', JSON.stringify(panel.controller.sides[0].status));
    const from = panel.posted.length;
    const running = panel.receive({ v: 1, type: 'generate', genId: 'long', requests: [{ side: 0, prompt: { type: 'text', text: 'what is the' } }], sampling: { ...GREEDY, max_new_tokens: 3000 }, history: { mode: 'text', text: 'what is the', at: Date.now() } });
    await waitFor('20 tokens', () => of(panel.posted, 'token', from).length >= 20, 60_000);
    await panel.receive({ v: 1, type: 'stop', genId: 'long' });
    await running;
    const done = of(panel.posted, 'done', from)[0];
    assert.equal(done.stats.reason, 'cancelled');
    assert.ok(done.stats.generatedTokens < 3000, 'it stopped early');
    // The extension host reads token lines in bursts, so what it has seen lags the worker; the
    // worker's own clock says how long stopping took once it read Stop: at most about a token.
    const msPerToken = 1000 / done.stats.tokensPerS!;
    assert.ok(done.stats.cancelMs! <= 3 * msPerToken + 100, `stopped ${done.stats.cancelMs} ms after reading Stop (${msPerToken.toFixed(1)} ms per token)`);
  });

  test('merge and GGUF export commands write into the workspace; llama.cpp loads the GGUF', async () => {
    const merged = await vscode.commands.executeCommand<string>('tuner.mergeAdapter', runId);
    assert.equal(merged, workspaceFile(`runs/${runId}/exports/merged-final`).fsPath);
    assert.ok(fs.existsSync(path.join(merged!, 'model.safetensors')) && fs.existsSync(path.join(merged!, 'config.json')));
    // The runs view lists the run's adapter, checkpoints and the merged folder under the run;
    // Try in Playground on one of them puts it beside its base.
    const api = await tunerApi();
    const runItem = api.runs.runTree.getChildren().find((i) => 'run' in i && i.run.meta.id === runId)!;
    const children = api.runs.runTree.getChildren(runItem);
    assert.deepEqual(children.map((c) => c.label), ['final adapter', 'checkpoint step 120', 'checkpoint step 60', 'merged: merged-final']);
    assert.equal(children[2].contextValue, 'tunerCheckpoint');
    const step60 = await vscode.commands.executeCommand<string>('tuner.tryInPlayground', children[2]);
    assert.match(step60 ?? '', /checkpoints\/step-00000060$/);
    const selected = await waitFor('the playground picks base and checkpoint', () => of(api.playground()!.posted, 'select').at(-1));
    assert.deepEqual(selected.picks.map((p) => p?.modelId), [(await waitFor('base id', () => of(api.playground()!.posted, 'models').at(-1)))!.models.find((m) => m.id === step60)!.baseId, step60]);
    // The dashboard's Try in Playground on the finished run opens its final adapter.
    const before = api.playground()!.posted.length;
    await api.runs.dashboard(runId)!.receive({ v: 1, type: 'tryInPlayground' });
    const fromDashboard = await waitFor('a select from the dashboard', () => of(api.playground()!.posted, 'select', before).at(-1));
    assert.match(fromDashboard.picks[1]?.modelId ?? '', /runs\/[\d-]+\/adapter$/);
    const gpt2 = writeModelWithTokenizer(workspaceFile('pg-gpt2').fsPath, { tokenizer: 'gpt2', hidden: 64, heads: 4, kvHeads: 2, intermediate: 96, maxPos: 128, seed: 5 });
    const gguf = await vscode.commands.executeCommand<string>('tuner.exportGguf', gpt2, 'q8_0');
    assert.equal(gguf, workspaceFile('exports/pg-gpt2-q8_0.gguf').fsPath);
    const peer = await LlamaCppPeer.open();
    const m = await peer.load(gguf!, { contextSize: 64, threads: 1 });
    try {
      assert.equal((await m.greedy(m.tokenize('Hello world'), 3)).length, 3, 'llama.cpp generates from the exported file');
    } finally {
      await m.dispose();
    }
    const panel = (await tunerApi()).playground()!;
    await panel.receive({ v: 1, type: 'refresh' });
    const listed = of(panel.posted, 'models').at(-1)!;
    assert.ok(listed.models.some((x) => x.kind === 'merged' && x.path === merged), 'the merged folder is offered in the picker');
    assert.ok(listed.exports.some((x) => x.path === gguf && x.kind === 'gguf'));
  });

  test('Try in Playground on the dashboard of a paused run saves a checkpoint where it stands and opens it beside its base', async () => {
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    // Long enough that the pause lands well before the end and before its own first checkpoint,
    // however late a busy host delivers it (the tiny model trains a step in well under a
    // millisecond: once, 515 steps passed between the request and the pause).
    const file = makeTinyProject(workspaceFile('pg-paused').fsPath, { args: { max_steps: 1_000_000, save_interval: 500_000 } });
    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(file)))!;
    const session = m.session(id)!;
    session.listen({ onEvent: (e) => e.type === 'step' && e.step === 5 && session.pause() });
    await waitFor('the run paused', () => session.snapshot.status === 'paused', 60_000);
    const pausedAt = session.snapshot.step;
    assert.ok(pausedAt >= 5 && pausedAt < 500_000, `paused at step ${pausedAt}`);
    assert.equal(m.store.open(id).lastCheckpoint(), undefined, 'no checkpoint yet');
    const dashboard = await waitFor('the run\'s dashboard', () => api.runs.dashboard(id));
    const before = api.playground()?.posted.length ?? 0;
    await dashboard.receive({ v: 1, type: 'tryInPlayground' });
    const ckpt = m.store.open(id).lastCheckpoint();
    assert.equal(ckpt?.step, pausedAt, 'the save wrote a checkpoint at the step the run is paused on');
    const picked = await waitFor('the playground to pick the new checkpoint', () => of(api.playground()!.posted, 'select', before).at(-1));
    assert.match(picked.picks[1]?.modelId ?? '', new RegExp(`runs/${id}/checkpoints/step-${String(pausedAt).padStart(8, '0')}$`));
    assert.match(picked.picks[0]?.modelId ?? '', /pg-paused\/model$/, 'its base beside it');
    assert.equal(session.snapshot.status, 'paused', 'the run stays paused');
    session.stop();
    await session.exited;
  });

  test('closing the panel stops its inference processes', async () => {
    const panel = (await tunerApi()).playground()!;
    const pids = panel.controller.sides.map((s) => s.pid).filter((p): p is number => p !== undefined);
    assert.ok(pids.length > 0);
    panel.panel.dispose();
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor('the workers to exit', () => pids.every((p) => !alive(p)), 20_000);
    assert.equal((await tunerApi()).playground(), undefined);
  });
});
