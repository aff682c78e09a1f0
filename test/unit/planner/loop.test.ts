// The planner's tool loop driven through the real openai client against a scripted
// OpenAI-compatible server on loopback: a normal planning conversation, malformed and invalid
// tool calls (answered with the error, retried a bounded number of times), plans that do not fit,
// timeouts, refusals, HTTP errors (without leaking the API key) and questions.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describedHardware } from '../../../src/core/hardware/types';
import { workspaceEnvironment } from '../../../src/core/planner/environment';
import { runPlannerLoop, type ChatMessage } from '../../../src/core/planner/loop';
import { OpenAiBackend, withoutCredentials } from '../../../src/core/planner/openai-backend';
import { systemPrompt } from '../../../src/core/planner/prompts/system';
import { argsToolSchema, plannerTools } from '../../../src/core/planner/tools';
import { useServerAndWorkspace } from './workspace';

const fixture = useServerAndWorkspace();
const server = fixture.server;
const KEY = 'sk-test1234567890abcdefghijklmnop';

const hw = describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 });
const env = () => workspaceEnvironment({ workspaceDir: fixture.ws, hardware: hw });
const backend = (timeoutMs = 5000) => new OpenAiBackend({ baseURL: fixture.baseURL, model: 'scripted', apiKey: KEY, timeoutMs });
const conversation = (goal: string): ChatMessage[] => [{ role: 'system', content: systemPrompt({ datasets: ['./train.jsonl'], workspaceName: 'ws' }) }, { role: 'user', content: goal }];
const GOOD = { model: './models/qwen-0.5b', data: './train.jsonl', method: 'lora', lora_rank: 8, batch_size: 4, max_length: 256, epochs: 2 };

test('a planning conversation: tools called, results sent back, plan accepted, summary returned', async () => {
  server.script([
    { toolCalls: [{ name: 'probe_hardware', arguments: '{}' }, { name: 'list_local_models', arguments: '' }, { name: 'inspect_dataset', arguments: '{"path": "./train.jsonl"}' }] },
    { toolCalls: [{ name: 'estimate', arguments: JSON.stringify(GOOD) }] },
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify(GOOD) }] },
    { text: 'LoRA on Qwen 0.5B, two epochs.' },
  ]);
  const events: string[] = [];
  const out = await runPlannerLoop(backend(), conversation('answer router questions'), plannerTools(), env(), { onEvent: (e) => e.type === 'tool' && events.push(`${e.name}:${e.ok}`) });
  assert.equal(out.kind, 'plan', JSON.stringify(out));
  if (out.kind !== 'plan') return;
  assert.deepEqual(out.plan.args, GOOD);
  assert.equal(out.text, 'LoRA on Qwen 0.5B, two epochs.');
  assert.ok(out.plan.estimate?.fits);
  assert.deepEqual(events, ['probe_hardware:true', 'list_local_models:true', 'inspect_dataset:true', 'estimate:true', 'set_args:true']);
  // What went over the wire: the key as a bearer token, the ARGS schema as tool parameters, tool results.
  assert.equal(server.requests.length, 4);
  assert.equal(server.requests[0].authorization, `Bearer ${KEY}`);
  assert.equal(server.requests[0].path, '/v1/chat/completions');
  assert.deepEqual(server.requests[0].body.tools?.find((t) => t.function.name === 'set_args')?.function.parameters, argsToolSchema());
  const second = server.requests[1].body.messages;
  const toolResults = second.filter((m) => m.role === 'tool');
  assert.equal(toolResults.length, 3);
  assert.match(String(toolResults[0].content), /"gpus":\[\{"name":"RTX 4090","memory_total_gb":24/);
  assert.match(String(toolResults[1].content), /"ref":"\.\/models\/qwen-0\.5b"/);
  assert.match(String(toolResults[2].content), /"records":300/);
  assert.match(String(JSON.parse(String(server.requests[2].body.messages.at(-1)?.content)).fits), /true/);
});

test('malformed and invalid tool calls are answered with the error and the model may correct itself', async () => {
  server.script([
    { toolCalls: [{ name: 'set_args', arguments: '{"model": "./models/qwen-0.5b", "data": ' }] },
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify({ ...GOOD, 'learning rate': '1e-5' }) }] },
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify(GOOD) }] },
    { text: 'Done.' },
  ]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env(), { maxInvalid: 3 });
  assert.equal(out.kind, 'plan');
  if (out.kind === 'plan') assert.equal(out.rejected, 2);
  const r2 = server.requests[1].body.messages.at(-1);
  assert.equal(r2?.role, 'tool');
  assert.match(String(r2?.content), /not valid JSON/);
  const r3 = server.requests[2].body.messages.at(-1);
  assert.match(String(r3?.content), /LMTuner name of \\"learning_rate\\"/);
});

test('unknown tools, wrong shapes and unfit plans count towards the bound; then the loop stops', async () => {
  server.script([
    { toolCalls: [{ name: 'download_model', arguments: '{}' }] },
    { toolCalls: [{ name: 'set_args', arguments: '[1, 2]' }] },
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify({ ...GOOD, method: 'full', batch_size: 4096, max_length: 8192 }) }] },
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify(GOOD) }] },
  ]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env(), { maxInvalid: 3 });
  assert.equal(out.kind, 'failed');
  if (out.kind === 'failed') {
    assert.equal(out.reason, 'invalid-tool-calls');
    assert.match(out.message, /3 invalid tool calls/);
  }
  assert.equal(server.requests.length, 3, 'no request after the bound');
  assert.match(String(server.requests[1].body.messages.at(-1)?.content), /unknown tool \\"download_model\\"/);
  assert.match(String(server.requests[2].body.messages.at(-1)?.content), /must be a JSON object/);
});

test('a plan that does not fit is rejected with the memory figures', async () => {
  server.script([
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify({ ...GOOD, method: 'full', batch_size: 64, max_length: 4096 }) }] },
    { text: 'Which is more important to you, speed or quality?' },
  ]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env());
  assert.equal(out.kind, 'answer');
  assert.match(String(server.requests[1].body.messages.at(-1)?.content), /needs about [\d.]+ GB on the GPU but only [\d.]+ GB is available/);
});

test('a plan the engine would refuse on its device is rejected with the engine\'s reason', async () => {
  server.script([
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify({ ...GOOD, method: 'lomo', optimizer: 'adamw' }) }] },
    { text: 'Which optimizer would you like?' },
  ]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env());
  assert.equal(out.kind, 'answer');
  assert.match(String(server.requests[1].body.messages.at(-1)?.content), /The engine would refuse this plan on the GPU: method \\"lomo\\" fuses a plain SGD step into backward/);
});

test('a request that stalls past the timeout ends the loop with reason timeout', async () => {
  server.script([{ stallMs: 3000 }]);
  const t0 = Date.now();
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env(), { timeoutMs: 300 });
  assert.equal(out.kind, 'failed');
  if (out.kind === 'failed') assert.equal(out.reason, 'timeout');
  assert.ok(Date.now() - t0 < 2500, 'did not wait for the stalled reply');
});

test('a refusal ends the loop with reason refusal', async () => {
  server.script([{ refusal: 'I cannot help with that.' }]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env());
  assert.equal(out.kind, 'failed');
  if (out.kind === 'failed') {
    assert.equal(out.reason, 'refusal');
    assert.match(out.message, /I cannot help with that/);
  }
});

test('an HTTP error is reported with its status and never with the API key', async () => {
  server.script([{ status: 401, body: (r: { authorization?: string }) => ({ error: { message: `invalid key ${r.authorization}` } }) }]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env());
  assert.equal(out.kind, 'failed');
  if (out.kind === 'failed') {
    assert.equal(out.reason, 'error');
    assert.match(out.message, /HTTP 401/);
    assert.ok(!out.message.includes(KEY), out.message);
    assert.match(out.message, /\[api key\]/);
  }
});

test('a secret in a proposed ARGS.json is rejected', async () => {
  server.script([
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify({ ...GOOD, model_name: KEY }) }] },
    { toolCalls: [{ name: 'set_args', arguments: JSON.stringify(GOOD) }] },
    { text: 'ok' },
  ]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env());
  assert.equal(out.kind, 'plan');
  assert.match(String(server.requests[1].body.messages.at(-1)?.content), /API key or token/);
  if (out.kind === 'plan') assert.ok(!JSON.stringify(out.plan.args).includes(KEY));
});

test('a reply without a plan is nudged once, then returned as an answer', async () => {
  server.script([{ text: 'Sounds good.' }, { text: 'I need the dataset first.' }]);
  const out = await runPlannerLoop(backend(), conversation('plan it'), plannerTools(), env());
  assert.equal(out.kind, 'answer');
  assert.equal(server.requests.length, 2);
  assert.match(String(server.requests[1].body.messages.at(-1)?.content), /Call set_args/);
});

test('endpoint labels shown in chat and logs carry no credentials', () => {
  assert.equal(withoutCredentials('https://user:secret@llm.example.com/v1/'), 'https://llm.example.com/v1');
  assert.equal(new OpenAiBackend({ baseURL: 'http://me:pw@127.0.0.1:8080/v1', model: 'm' }).label, 'm at http://127.0.0.1:8080/v1');
});
