// A VS Code with no chat model at all (npm run test:host:no-chat-model: run-host.mjs installs no
// test vendor and leaves the chat on), as a new user without Copilot meets Tuner: every way to
// plan still works. The runs view's welcome offers "Plan a Fine-tune…", whose questions are
// answered by typing into the quick input; @tuner typed into the chat view is answered (by the
// rules, through Tuner's own language model); and with an OpenAI-compatible endpoint configured
// (the scripted server standing in for a local Ollama) that endpoint is a chat model of its own,
// streamed, and plans for @tuner.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { validateArgsText } from '../../../src/core/args/validate';
import { ScriptedServer } from '../../unit/planner/scripted-server';
import { makeTinyProject, REPO_ROOT } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';
import { answerQuickInput as answer, quickInput, workbench, workbenchDriverAvailable } from './workbench-driver';

const inThisHost = process.env.TUNER_HOST_NO_CHAT_MODEL === '1';
const shot = (name: string) => path.join(REPO_ROOT, 'test/e2e/artifacts', name);

(inThisHost ? suite : suite.skip)('no chat model: every way to plan works', function () {
  this.timeout(240_000);
  const argsFile = () => workspaceFile('ARGS.json').fsPath;
  const server = new ScriptedServer();

  suiteSetup(() => {
    makeTinyProject(workspaceFile('nc').fsPath, { records: 30 });
    fs.rmSync(workspaceFile('nc/ARGS.json').fsPath, { force: true });
  });

  suiteTeardown(async () => {
    const planner = vscode.workspace.getConfiguration('tuner.planner');
    await planner.update('openai.baseUrl', undefined, vscode.ConfigurationTarget.Global);
    await planner.update('openai.model', undefined, vscode.ConfigurationTarget.Global);
    await server.stop().catch(() => undefined);
  });

  test('VS Code offers no chat model but Tuner\'s rules planner', async () => {
    const models = await vscode.lm.selectChatModels();
    assert.deepEqual(models.map((m) => `${m.vendor}/${m.id}`), ['tuner/tuner-rules']);
  });

  test('the empty runs view welcomes with Plan a Fine-tune… and Start; Plan asks its questions in quick picks and writes ARGS.json', async () => {
    assert.ok(workbenchDriverAvailable, 'this suite runs under run-host.mjs');
    const api = await tunerApi();
    assert.deepEqual(api.runs.runTree.getChildren(), [], 'no runs yet: the welcome content shows');
    await vscode.commands.executeCommand('tuner.runs.focus');
    await workbench({ do: 'screenshot', path: shot('runs-welcome.png') });
    // The welcome's button, clicked as a user would.
    await workbench({ do: 'click', selector: '.welcome-view-content .monaco-button:has-text("Plan a Fine-tune…")' });
    await answer('Plan a Fine-tune (1/4): the goal', 'teach it the capitals');
    await answer('Which model should be fine-tuned?', './nc/model');
    await answer('Which JSON lines file holds the training data?', './nc/data.jsonl');
    await workbench({ do: 'fill', selector: quickInput('How should the model be trained?'), text: 'LoRA adapters' });
    await workbench({ do: 'screenshot', path: shot('plan-method-pick.png') });
    await workbench({ do: 'press', key: 'Enter' });
    const text = await waitFor('ARGS.json written by the plan', () => fs.existsSync(argsFile()) && fs.readFileSync(argsFile(), 'utf8'), 60_000);
    assert.deepEqual(validateArgsText(text).problems.filter((p) => p.severity === 'error'), []);
    const args = JSON.parse(text);
    assert.equal(args.model, './nc/model');
    assert.equal(args.data, './nc/data.jsonl');
    assert.equal(args.method, 'lora');
    await waitFor('the explanation in a Markdown preview', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => /Fine-tune plan/.test(t.label)));
    await workbench({ do: 'screenshot', path: shot('plan-explanation.png') });
  });

  test('@tuner typed into the chat view is answered: /hardware, then a goal planned by the rules', async () => {
    const api = await tunerApi();
    fs.rmSync(argsFile(), { force: true });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    let before = api.chatTurns().length;
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@tuner /hardware', isPartialQuery: false });
    const hw = await waitFor('@tuner to answer /hardware', () => api.chatTurns().length > before && api.chatTurns().at(-1), 60_000).catch(async (e) => {
      await workbench({ do: 'screenshot', path: shot('chat-no-model-unanswered.png') });
      throw e;
    });
    assert.match(hw.markdown, /\| CPU \|/);
    before = api.chatTurns().length;
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@tuner fine-tune ./nc/model on ./nc/data.jsonl', isPartialQuery: false });
    const plan = await waitFor('@tuner to plan the goal', () => api.chatTurns().length > before && api.chatTurns().at(-1), 60_000);
    assert.equal(plan.metadata?.kind, 'plan', plan.markdown);
    assert.match(plan.markdown, /_Planned by rules\._/);
    assert.ok(plan.buttons.some((b) => b.title === 'Start fine-tune'));
    // Every plan explains itself in the same four sentences (src/core/planner/explain.ts).
    for (const sentence of [/Targeted modules: /, /Lengths: /, /Time: /, /Given up for speed: /]) assert.match(plan.markdown, sentence);
    assert.deepEqual(validateArgsText(fs.readFileSync(argsFile(), 'utf8')).problems.filter((p) => p.severity === 'error'), []);
    await workbench({ do: 'screenshot', path: shot('chat-no-model.png') });
  });

  test('with a local OpenAI-compatible endpoint set, it is a streamed chat model and @tuner plans through it', async () => {
    const api = await tunerApi();
    const baseUrl = await server.start();
    const planner = vscode.workspace.getConfiguration('tuner.planner');
    await planner.update('openai.baseUrl', baseUrl, vscode.ConfigurationTarget.Global);
    await planner.update('openai.model', 'local-model', vscode.ConfigurationTarget.Global);
    let models: vscode.LanguageModelChat[] = [];
    for (let i = 0; i < 100 && !models.some((m) => m.id === 'local-model'); i++) {
      models = await vscode.lm.selectChatModels({ vendor: 'tuner' });
      await new Promise((r) => setTimeout(r, 100));
    }
    const local = models.find((m) => m.id === 'local-model');
    assert.ok(local, `the endpoint's model is offered: ${models.map((m) => m.id).join(', ')}`);
    assert.ok(!models.some((m) => m.id === 'tuner-rules'), 'the rules model gives way to it');

    server.script([{ text: 'Hello from the local server, token by token.' }]);
    const reply = await local.sendRequest([vscode.LanguageModelChatMessage.User('Say hello')], {}, new vscode.CancellationTokenSource().token);
    const parts: string[] = [];
    for await (const t of reply.text) parts.push(t);
    assert.equal(parts.join(''), 'Hello from the local server, token by token.');
    assert.ok(parts.length > 1, 'streamed in pieces');
    assert.equal(server.requests[0].body.stream, true);
    assert.equal(server.requests[0].body.model, 'local-model');

    const plan = { model: './nc/model', data: './nc/data.jsonl', method: 'lora', lora_rank: 4, lora_alpha: 8, max_steps: 6, batch_size: 4, max_length: 64, learning_rate: 0.001 };
    server.script([{ toolCalls: [{ name: 'set_args', arguments: JSON.stringify(plan) }] }, { text: 'LoRA rank 4 on the tiny model for 6 steps.' }]);
    fs.rmSync(argsFile(), { force: true });
    const before = api.chatTurns().length;
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@tuner teach ./nc/model the capitals in ./nc/data.jsonl', isPartialQuery: false, modelSelector: { vendor: 'tuner', id: 'local-model' } });
    const turn = await waitFor('@tuner to plan through the endpoint', () => api.chatTurns().length > before && api.chatTurns().at(-1), 60_000);
    assert.equal(turn.metadata?.kind, 'plan', turn.markdown);
    assert.match(turn.markdown, /Planned by local-model at http:\/\/127\.0\.0\.1:\d+\/v1/);
    assert.deepEqual(JSON.parse(fs.readFileSync(argsFile(), 'utf8')), plan);
    await workbench({ do: 'screenshot', path: shot('chat-local-endpoint.png') });
  });
});
