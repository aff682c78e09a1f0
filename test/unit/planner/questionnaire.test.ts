// Planning with no language model through the questionnaire (what "Tuner: Plan a Fine-tune…"
// asks), and the streamed chat completions the language model provider serves to VS Code,
// against the scripted OpenAI-compatible server on loopback.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { validateArgsText } from '../../../src/core/args/validate';
import { describedHardware } from '../../../src/core/hardware/types';
import { workspaceEnvironment } from '../../../src/core/planner/environment';
import { OpenAiBackend } from '../../../src/core/planner/openai-backend';
import { planFromAnswers, plannerQuestions } from '../../../src/core/planner/questionnaire';
import { plannerTools } from '../../../src/core/planner/tools';
import { makeWorkspace, useServerAndWorkspace } from './workspace';

const fixture = useServerAndWorkspace();
const hw = describedHardware({ ramGiB: 16, cores: 8 });
const two = makeWorkspace(['qwen-0.5b', 'llama-7b'], 50);
fs.writeFileSync(path.join(two, 'other.jsonl'), '{"text": "one"}\n{"text": "two"}\nnot json\n');
after(() => fs.rmSync(two, { recursive: true, force: true }));

test('the questions a goal leaves open: model, data and method, each choice with what it means', () => {
  const env = workspaceEnvironment({ workspaceDir: two, hardware: hw });
  const { questions } = plannerQuestions('answer router questions', env);
  assert.deepEqual(questions.map((q) => q.id), ['model', 'data', 'method']);
  const [model, data, method] = questions;
  assert.deepEqual(model.choices.map((c) => c.value).sort(), ['./models/llama-7b', './models/qwen-0.5b']);
  assert.match(model.choices.find((c) => c.value === './models/llama-7b')!.detail, /LlamaForCausalLM, 6\.7B parameters, 32 layers/);
  assert.deepEqual(data.choices.map((c) => c.value), ['./other.jsonl', './train.jsonl']);
  assert.match(data.choices[0].detail, /2 records, text format, .*1 with errors/);
  assert.match(data.choices[1].detail, /^50 records, messages format/);
  assert.deepEqual(method.choices.map((c) => c.value), ['auto', 'lora', 'full']);
  for (const q of questions) assert.ok(q.why.length > 20, `${q.id} says why it is asked`);
});

test('a goal that names the model, the data and the method leaves only the method, pre-selected', () => {
  const env = workspaceEnvironment({ workspaceDir: two, hardware: hw });
  const { questions } = plannerQuestions('full fine-tune ./models/qwen-0.5b on ./train.jsonl', env);
  assert.deepEqual(questions.map((q) => q.id), ['method']);
  assert.equal(questions[0].stated, 'full');
});

test('the answers plan with the rules: the chosen model, data and method, a checked ARGS.json', async () => {
  const env = workspaceEnvironment({ workspaceDir: two, hardware: hw });
  // Without answers the rules cannot choose between two models and ask.
  const asked = await planFromAnswers('answer router questions', {}, env);
  assert.equal(asked.kind, 'question');
  assert.match(asked.questions.join(' '), /Which model should I tune\?/);
  const turn = await planFromAnswers('answer router questions', { model: './models/qwen-0.5b', data: './train.jsonl', method: 'full' }, env);
  assert.equal(turn.kind, 'plan', turn.notes.join(' '));
  assert.equal(turn.source, 'rules');
  assert.equal(turn.args?.model, './models/qwen-0.5b');
  assert.equal(turn.args?.data, './train.jsonl');
  assert.equal(turn.args?.method, 'full');
  assert.equal(turn.args?.lora_rank, undefined, 'a full fine-tune writes no adapter settings');
  assert.deepEqual(validateArgsText(JSON.stringify(turn.args)).problems, []);
  assert.match(turn.reasons.method ?? '', /you asked for it/);
  const auto = await planFromAnswers('answer router questions', { model: './models/qwen-0.5b', data: './train.jsonl', method: 'auto' }, env);
  assert.equal(auto.args?.method, 'lora', '"Let Tuner choose" is LoRA when it fits');
});

test('streamed completions: text arrives in pieces, tool calls sent in parts are joined', async () => {
  fixture.server.script([
    { text: 'Hello from the local server, streamed.' },
    { toolCalls: [{ name: 'probe_hardware', arguments: '{}' }, { name: 'inspect_dataset', arguments: '{"path":"./train.jsonl"}' }], text: 'Looking.' },
  ]);
  const backend = new OpenAiBackend({ baseURL: fixture.baseURL, model: 'scripted', timeoutMs: 5000 });
  const pieces: string[] = [];
  const first = await backend.stream([{ role: 'user', content: 'hi' }], [], new AbortController().signal, (t) => pieces.push(t));
  assert.equal(first.text, 'Hello from the local server, streamed.');
  assert.ok(pieces.length > 3, `the text came in ${pieces.length} pieces`);
  assert.equal(pieces.join(''), first.text);
  assert.equal(fixture.server.requests[0].body.stream, true);
  const second = await backend.stream([{ role: 'user', content: 'plan' }], plannerTools(), new AbortController().signal, () => undefined);
  assert.deepEqual(second.toolCalls.map((c) => [c.name, c.arguments]), [['probe_hardware', '{}'], ['inspect_dataset', '{"path":"./train.jsonl"}']]);
  assert.ok(second.toolCalls.every((c) => c.id), 'every call keeps its id');
  assert.deepEqual(fixture.server.requests[1].body.tools?.map((t) => t.function.name), plannerTools().map((t) => t.name));
});

test('a failing endpoint is an error naming it, without the key', async () => {
  fixture.server.script([{ status: 500, body: { error: { message: 'model not loaded (key sk-secret-123)' } } }]);
  const backend = new OpenAiBackend({ baseURL: fixture.baseURL, model: 'scripted', apiKey: 'sk-secret-123', timeoutMs: 5000 });
  await assert.rejects(backend.stream([{ role: 'user', content: 'hi' }], [], new AbortController().signal, () => undefined), (e: Error) => {
    assert.match(e.message, /scripted at http:\/\/127\.0\.0\.1:\d+\/v1 \(HTTP 500\)/);
    assert.ok(!e.message.includes('sk-secret-123'));
    return true;
  });
});
