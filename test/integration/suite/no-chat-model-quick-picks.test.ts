// A VS Code with no chat model (npm run test:host:no-chat-model): @tuner asked for a plan with
// no model or data named answers with its questions and an "Answer with quick picks…" button;
// clicking it in the chat view opens Plan a Fine-tune… on the same goal, whose quick picks are
// answered as a user would, and ARGS.json is written from the answers.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { validateArgsText } from '../../../src/core/args/validate';
import { makeTinyProject, REPO_ROOT } from '../../unit/run/tiny-run';
import { tunerApi, waitFor, workspaceFile } from './helpers';
import { answerQuickInput as answer, workbench, workbenchDriverAvailable } from './workbench-driver';

const inThisHost = process.env.TUNER_HOST_NO_CHAT_MODEL === '1';

(inThisHost ? suite : suite.skip)('no chat model: the chat\'s "Answer with quick picks…" button', function () {
  this.timeout(180_000);
  const argsFile = () => workspaceFile('ARGS.json').fsPath;

  suiteSetup(() => {
    makeTinyProject(workspaceFile('qp').fsPath, { records: 30 });
    fs.rmSync(workspaceFile('qp/ARGS.json').fsPath, { force: true });
  });

  test('@tuner asks what the rules need; its button plans the same goal through quick picks', async () => {
    assert.ok(workbenchDriverAvailable, 'this suite runs under run-host.mjs');
    const api = await tunerApi();
    fs.rmSync(argsFile(), { force: true });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const before = api.chatTurns().length;
    const goal = 'teach it the capitals of Europe';
    await vscode.commands.executeCommand('workbench.action.chat.open', { query: `@tuner ${goal}`, isPartialQuery: false });
    const turn = await waitFor('@tuner to answer the goal', () => api.chatTurns().length > before && api.chatTurns().at(-1), 60_000);
    assert.equal(turn.metadata?.kind, 'question', turn.markdown);
    const button = turn.buttons.find((b) => b.title === 'Answer with quick picks…');
    assert.ok(button, `the question offers quick picks: ${turn.buttons.map((b) => b.title).join(', ')}`);
    assert.deepEqual(button.arguments, [{ goal }], 'the button carries the goal, so it is not asked again');
    assert.ok(!fs.existsSync(argsFile()), 'a question writes no ARGS.json');
    // The button, clicked in the chat view as a user would.
    await workbench({ do: 'click', selector: '.interactive-session .monaco-button:has-text("Answer with quick picks…")' });
    await answer('Which model should be fine-tuned?', './qp/model');
    await answer('Which JSON lines file holds the training data?', './qp/data.jsonl');
    await answer('How should the model be trained?', 'LoRA adapters');
    const text = await waitFor('ARGS.json written by the plan', () => fs.existsSync(argsFile()) && fs.readFileSync(argsFile(), 'utf8'), 60_000);
    assert.deepEqual(validateArgsText(text).problems.filter((p) => p.severity === 'error'), []);
    const args = JSON.parse(text);
    assert.equal(args.model, './qp/model');
    assert.equal(args.data, './qp/data.jsonl');
    assert.equal(args.method, 'lora');
    const preview = await waitFor('the explanation in a Markdown preview', () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => /Fine-tune plan/.test(t.label)));
    assert.ok(preview);
    await new Promise((r) => setTimeout(r, 1500)); // the preview renders
    await workbench({ do: 'screenshot', path: path.join(REPO_ROOT, 'test/e2e/artifacts/chat-quick-picks-plan.png') });
    fs.rmSync(argsFile(), { force: true });
  });
});
