// @tuner in a real extension host, as a new user meets it: a goal goes to the participant with
// a chat model registered through the VS Code language model API (a scripted model that calls the
// planner's tools like a real one would, including one rejected proposal), ARGS.json appears and
// validates, and "Start fine-tune" launches a real training run. Also the rule-based path, the
// hardware probe, the README for another machine, and requests typed into the chat view itself.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { validateArgsText } from '../../../src/core/args/validate';
import { argsToolSchema } from '../../../src/core/planner/tools';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';

// registerLanguageModelChatProvider is final API since VS Code 1.104; the typings pinned by the
// extension's engine (1.100) predate it, so the shape used here is declared locally.
interface ChatInformation { id: string; name: string; family: string; version: string; maxInputTokens: number; maxOutputTokens: number; capabilities: { toolCalling?: boolean } }
interface ProviderApi {
  registerLanguageModelChatProvider(vendor: string, provider: {
    provideLanguageModelChatInformation(options: unknown, token: vscode.CancellationToken): Promise<ChatInformation[]>;
    provideLanguageModelChatResponse(model: ChatInformation, messages: readonly { role: number; content: readonly unknown[] }[], options: { tools?: readonly { name: string; inputSchema?: object }[] }, progress: vscode.Progress<unknown>, token: vscode.CancellationToken): Promise<void>;
    provideTokenCount(model: ChatInformation, text: unknown, token: vscode.CancellationToken): Promise<number>;
  }): vscode.Disposable;
}

const PLAN = { model: './chat/model', data: './chat/data.jsonl', method: 'lora', lora_rank: 4, lora_alpha: 8, max_steps: 6, batch_size: 4, max_length: 64, learning_rate: 0.001, output_dir: './chat/output' };

/** Tool results seen so far in a request, by tool call id prefix. */
function toolResults(messages: readonly { content: readonly unknown[] }[]): string[] {
  const out: string[] = [];
  for (const m of messages) {
    for (const part of m.content) {
      if (part && typeof part === 'object' && 'callId' in part && 'content' in part) {
        const content = (part as { content: unknown[] }).content;
        out.push(content.map((c) => (c && typeof c === 'object' && 'value' in c ? String((c as { value: unknown }).value) : '')).join(''));
      }
    }
  }
  return out;
}

function recordingStream(): vscode.ChatResponseStream & { text: string; buttons: vscode.Command[] } {
  const s = {
    text: '',
    buttons: [] as vscode.Command[],
    markdown(v: string | vscode.MarkdownString) { s.text += typeof v === 'string' ? v : v.value; },
    progress() { /* shown transiently in the chat view */ },
    button(c: vscode.Command) { s.buttons.push(c); },
    reference() { /* not used */ },
    anchor() { /* not used */ },
    filetree() { /* not used */ },
    push() { /* not used */ },
  };
  return s as unknown as vscode.ChatResponseStream & { text: string; buttons: vscode.Command[] };
}

async function ask(prompt: string, model: vscode.LanguageModelChat, command?: string) {
  const api = await tunerApi();
  const stream = recordingStream();
  const request = { prompt, command, references: [], toolReferences: [], toolInvocationToken: undefined, model } as unknown as vscode.ChatRequest;
  const result = await api.chatHandler(request, { history: [] } as vscode.ChatContext, stream, new vscode.CancellationTokenSource().token);
  return { stream, result: result as vscode.ChatResult | undefined };
}

suite('@tuner chat participant', function () {
  this.timeout(180_000);
  const requests: { tools: string[]; setArgsSchema?: object; results: string[] }[] = [];
  let provider: vscode.Disposable | undefined;
  let model: vscode.LanguageModelChat;
  let aiFeaturesSetting: boolean | undefined;
  const argsUri = () => workspaceFile('ARGS.json');

  suiteSetup(async () => {
    // The runner's defaults turn AI features off; this suite needs the chat and language model APIs.
    aiFeaturesSetting = vscode.workspace.getConfiguration('chat').inspect<boolean>('disableAIFeatures')?.globalValue;
    await vscode.workspace.getConfiguration('chat').update('disableAIFeatures', false, vscode.ConfigurationTarget.Global);
    makeTinyProject(workspaceFile('chat').fsPath, { records: 40 });
    fs.rmSync(workspaceFile('chat/ARGS.json').fsPath, { force: true });
    provider = (vscode.lm as unknown as ProviderApi).registerLanguageModelChatProvider('tuner-test', {
      async provideLanguageModelChatInformation() {
        return [{ id: 'scripted-planner', name: 'Scripted planner', family: 'scripted', version: '1', maxInputTokens: 200_000, maxOutputTokens: 8_000, capabilities: { toolCalling: true } }];
      },
      async provideLanguageModelChatResponse(_m, messages, options, progress) {
        const results = toolResults(messages);
        requests.push({ tools: (options.tools ?? []).map((t) => t.name), setArgsSchema: options.tools?.find((t) => t.name === 'set_args')?.inputSchema, results });
        const call = (id: string, name: string, input: object) => progress.report(new vscode.LanguageModelToolCallPart(id, name, input));
        if (results.length === 0) {
          call('c1', 'list_local_models', {});
          call('c2', 'inspect_dataset', { path: './chat/data.jsonl' });
        } else if (results.length === 2) {
          call('c3', 'set_args', { ...PLAN, batch_size: 0 }); // out of range: must be rejected, then corrected
        } else if (!results.some((r) => r.includes('"accepted":true'))) {
          call('c4', 'set_args', PLAN);
        } else {
          progress.report(new vscode.LanguageModelTextPart('LoRA rank 4 on the tiny model for 6 steps.'));
        }
      },
      async provideTokenCount(_m, text) {
        return Math.ceil(JSON.stringify(text).length / 4);
      },
    });
    const models = await vscode.lm.selectChatModels({ vendor: 'tuner-test' });
    assert.equal(models.length, 1, 'the scripted chat model is registered through the language model API');
    model = models[0];
  });

  suiteTeardown(async () => {
    provider?.dispose();
    await vscode.workspace.getConfiguration('tuner.planner').update('backend', undefined, vscode.ConfigurationTarget.Global);
    // Back to the runner's setting, and the chat view closed, so later suites run as before.
    await vscode.commands.executeCommand('workbench.action.closeAuxiliaryBar');
    await vscode.workspace.getConfiguration('chat').update('disableAIFeatures', aiFeaturesSetting, vscode.ConfigurationTarget.Global);
    fs.rmSync(argsUri().fsPath, { force: true });
    fs.rmSync(workspaceFile('TRAINING.md').fsPath, { force: true });
  });

  test('a goal planned by the chat model through the tool loop: ARGS.json appears, validates, table shown', async () => {
    const { stream, result } = await ask('Teach this model the capitals in ./chat/data.jsonl', model);
    assert.equal(result?.metadata?.kind, 'plan', stream.text);
    assert.ok(requests.length >= 4, `the model was asked ${requests.length} times`);
    assert.deepEqual(requests[0].tools, ['probe_hardware', 'list_local_models', 'inspect_dataset', 'estimate', 'set_args']);
    assert.deepEqual(requests[0].setArgsSchema, argsToolSchema(), 'set_args takes the ARGS.json schema');
    assert.match(requests[1].results[0], /"ref":"\.\/chat\/model"/, 'list_local_models found the workspace model');
    assert.match(requests[1].results[1], /"records":40/, 'inspect_dataset read the data');
    assert.match(requests[2].results[2], /batch_size.*at least 1/, 'the invalid proposal was answered with the error');
    const text = fs.readFileSync(argsUri().fsPath, 'utf8');
    const check = validateArgsText(text);
    assert.deepEqual(check.problems.map((p) => p.message), []);
    assert.deepEqual(JSON.parse(text), PLAN);
    assert.match(stream.text, /\| Setting \| Value \| Why \|/);
    assert.match(stream.text, /\| `method` \| lora \| trains small adapters/);
    assert.match(stream.text, /Estimate: peak .* \(fits\)/);
    assert.match(stream.text, /Planned by Scripted planner/);
    assert.deepEqual(stream.buttons.map((b) => b.title), ['Start fine-tune', 'Open ARGS.json']);
  });

  test('"Start fine-tune" launches a training run of that ARGS.json', async () => {
    const api = await tunerApi();
    const start = api.chatTurns().at(-1)?.buttons.find((b) => b.title === 'Start fine-tune');
    assert.ok(start, 'the last turn offered Start fine-tune');
    assert.equal((start.arguments[0] as vscode.Uri).toString(), argsUri().toString());
    const id = await vscode.commands.executeCommand<string>(start.command, ...start.arguments);
    assert.ok(id, `${start.command} returned a run id`);
    const session = api.runs.runs.manager().session(id);
    if (session) await session.exited;
    const snap = api.runs.runs.manager().store.open(id).snapshot();
    assert.equal(snap.status, 'done');
    assert.equal(snap.step, 6);
  });

  test('with the rules only: a plain goal gives a checked plan; follow-up edits show a diff button', async () => {
    await vscode.workspace.getConfiguration('tuner.planner').update('backend', 'rules', vscode.ConfigurationTarget.Global); // an application setting: user settings only
    const before = requests.length;
    const { stream, result } = await ask('fine-tune ./chat/model on ./chat/data.jsonl, use Lion', model);
    assert.equal(result?.metadata?.kind, 'plan', stream.text);
    assert.equal(requests.length, before, 'no language model was asked');
    const args = JSON.parse(fs.readFileSync(argsUri().fsPath, 'utf8'));
    assert.equal(args.model, './chat/model');
    assert.equal(args.optimizer, 'lion');
    assert.deepEqual(validateArgsText(JSON.stringify(args)).problems, []);
    assert.match(stream.text, /_Planned by rules\._/);
    assert.ok(stream.buttons.some((b) => b.title === 'Show changes' && b.command === 'vscode.diff'), 'the earlier ARGS.json can be compared');
  });

  test('/fix renames LMTuner keys, converts their string values and checks the fit', async () => {
    // Typed into the open editor (the file is open from the earlier plans), as a user would.
    const doc = await vscode.workspace.openTextDocument(argsUri());
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, doc.validateRange(new vscode.Range(0, 0, doc.lineCount + 1, 0)), JSON.stringify({ model: './chat/model', data: './chat/data.jsonl', 'learning rate': '1e-4', 'batch size': '4', max_steps: 4 }, null, 2) + '\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    await doc.save();
    const { stream, result } = await ask('', model, 'fix');
    assert.equal(result?.metadata?.kind, 'fix', stream.text);
    assert.match(stream.text, /Applied 2 quick fixes/);
    assert.match(stream.text, /is valid and fits/);
    const text = fs.readFileSync(argsUri().fsPath, 'utf8');
    assert.deepEqual(validateArgsText(text).problems, []);
    assert.deepEqual(JSON.parse(text), { model: './chat/model', data: './chat/data.jsonl', learning_rate: 1e-4, batch_size: 4, max_steps: 4 });
  });

  test('/hardware shows this machine; /readme writes TRAINING.md with the tuner-train command', async () => {
    const hw = await ask('', model, 'hardware');
    assert.match(hw.stream.text, /\| CPU \| .* cores/);
    assert.match(hw.stream.text, /\| GPU \| none found|\| GPU 0 \|/);
    const readme = await ask('for a server with 2 x 48 GB GPUs', model, 'readme');
    assert.equal(readme.result?.metadata?.kind, 'readme', readme.stream.text);
    const md = fs.readFileSync(workspaceFile('TRAINING.md').fsPath, 'utf8');
    assert.match(md, /tuner-train --plan plan\.json/);
    assert.match(md, /--resume output\/checkpoints\/step-N/);
    assert.match(md, /2 NVIDIA GPUs/);
  });
  test('typed into the chat view: "@tuner /hardware" reaches the participant', async () => {
    const api = await tunerApi();
    const before = api.chatTurns().length;
    // The scripted model chosen explicitly: which model the view picks by itself depends on what
    // earlier tests registered (the host without any model is test:host:no-chat-model's).
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@tuner /hardware', isPartialQuery: false, modelSelector: { vendor: 'tuner-test' } });
    const turn = await waitFor('the chat view to send the request to @tuner', () => api.chatTurns().length > before && api.chatTurns().at(-1), 30_000);
    assert.equal(turn.command, 'hardware');
    assert.match(turn.markdown, /\| CPU \|/);
  });
  test('typed into the chat view with the scripted model selected: a goal becomes a checked ARGS.json', async () => {
    const api = await tunerApi();
    await vscode.workspace.getConfiguration('tuner.planner').update('backend', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(argsUri().fsPath, { force: true });
    const before = api.chatTurns().length;
    const asked = requests.length;
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: '@tuner Teach this model the capitals in ./chat/data.jsonl', isPartialQuery: false, modelSelector: { vendor: 'tuner-test' } });
    const turn = await waitFor('@tuner to answer the goal typed into the chat view', () => api.chatTurns().length > before && api.chatTurns().at(-1), 60_000);
    assert.equal(turn.metadata?.kind, 'plan', turn.markdown);
    assert.ok(requests.length > asked, 'the chat view passed the scripted model to @tuner as request.model');
    assert.match(turn.markdown, /Planned by Scripted planner/);
    assert.deepEqual(validateArgsText(fs.readFileSync(argsUri().fsPath, 'utf8')).problems, []);
    assert.ok(turn.buttons.some((b) => b.title === 'Start fine-tune' && b.command === 'tuner.startRun'));
  });
});
