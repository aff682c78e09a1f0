// One planning turn end to end in plain node: the rules with no model, the fallback when the
// language model fails (through the openai client against the loopback server), follow-ups, goal
// parsing, and the README for another machine.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeSecret } from '../../../src/core/args/secrets';
import { validateArgsText } from '../../../src/core/args/validate';
import { describedHardware } from '../../../src/core/hardware/types';
import { workspaceEnvironment } from '../../../src/core/planner/environment';
import { parseGoal } from '../../../src/core/planner/goal';
import { OpenAiBackend } from '../../../src/core/planner/openai-backend';
import { renderTrainingReadme } from '../../../src/core/planner/readme';
import { renderHardware, renderPlan } from '../../../src/core/planner/render';
import { planTurn } from '../../../src/core/planner/session';
import { useServerAndWorkspace } from './workspace';

const fixture = useServerAndWorkspace();
const server = fixture.server;
const hw = describedHardware({ ramGiB: 16, cores: 8 });

test('goals in plain words', () => {
  assert.deepEqual(parseGoal('make it fit in 8 GB').memoryLimitBytes, 8 * 1024 ** 3);
  assert.equal(parseGoal('use Lion').optimizer, 'lion');
  assert.equal(parseGoal('QLoRA on Qwen/Qwen2.5-7B-Instruct with ./data/train.jsonl').model, 'Qwen/Qwen2.5-7B-Instruct');
  assert.equal(parseGoal('QLoRA on Qwen/Qwen2.5-7B-Instruct with ./data/train.jsonl').data, './data/train.jsonl');
  assert.equal(parseGoal('QLoRA on Qwen/Qwen2.5-7B-Instruct').method, 'qlora');
  assert.equal(parseGoal('4-bit please').quantization, 'nf4');
  assert.equal(parseGoal('full fine-tune, 2 epochs, 1024 tokens, lr 1e-5').method, 'full');
  assert.equal(parseGoal('full fine-tune, 2 epochs, 1024 tokens, lr 1e-5').epochs, 2);
  assert.equal(parseGoal('full fine-tune, 2 epochs, 1024 tokens, lr 1e-5').maxLength, 1024);
  assert.equal(parseGoal('full fine-tune, 2 epochs, 1024 tokens, lr 1e-5').learningRate, 1e-5);
  const target = parseGoal('train it on a server with 2 x 48 GB GPUs').targetHardware;
  assert.equal(target?.gpus.length, 2);
  assert.equal(target?.gpus[0].memoryTotalBytes, 48 * 1024 ** 3);
  assert.equal(parseGoal('I can wait 2 hours').timeBudgetHours, 2);
  assert.equal(parseGoal('teach ./models/qwen to answer from ./data/q.jsonl.').model, './models/qwen');
  assert.equal(parseGoal('teach ./models/qwen to answer from ./data/q.jsonl.').data, './data/q.jsonl');
  assert.equal(parseGoal('I have 16 GB of VRAM').memoryLimitBytes, 16 * 1024 ** 3);
  assert.equal(parseGoal('fine-tune Llama 3 8B on my 24GB GPU').modelParams, 8e9);
  assert.equal(parseGoal('fine-tune Llama 3 8B on my 24GB GPU').targetIsOwn, true);
  assert.equal(parseGoal('call it Ada and use Lion').modelName, 'Ada');
});

test('no language model: the rules plan from the workspace (the one model, the one dataset)', async () => {
  const turn = await planTurn({ goal: 'answer router questions', history: [], env: workspaceEnvironment({ workspaceDir: fixture.ws, hardware: hw }) });
  assert.equal(turn.kind, 'plan', renderPlan(turn));
  assert.equal(turn.args?.model, './models/qwen-0.5b');
  assert.equal(turn.args?.data, './train.jsonl');
  assert.deepEqual(validateArgsText(JSON.stringify(turn.args)).problems, []);
  assert.ok(turn.estimate?.fits);
  const md = renderPlan(turn);
  assert.match(md, /\| `method` \| lora \|/);
  assert.match(md, /_Planned by rules\._/);
});

test('when the language model fails, the rules plan and the reply says why', async () => {
  server.script([{ refusal: 'no' }]);
  const backend = new OpenAiBackend({ baseURL: fixture.baseURL, model: 'scripted', timeoutMs: 5000 });
  const turn = await planTurn({ goal: 'answer router questions', history: [], env: workspaceEnvironment({ workspaceDir: fixture.ws, hardware: hw }), backend });
  assert.equal(turn.kind, 'plan');
  assert.match(turn.notes[0], /could not plan this \(refusal: .*declined: no\)/);
  assert.equal(turn.source, `rules (after scripted at ${fixture.baseURL})`);
});

test('a follow-up keeps the settled memory limit and changes only what it names', async () => {
  const env = workspaceEnvironment({ workspaceDir: fixture.ws, hardware: hw });
  const first = await planTurn({ goal: 'answer router questions, fit in 4 GB', history: [], env });
  assert.equal(first.kind, 'plan');
  const second = await planTurn({ goal: 'use Lion', history: [{ user: 'answer router questions, fit in 4 GB', reply: '' }], current: first.args, env });
  assert.equal(second.args?.optimizer, 'lion');
  assert.equal(second.args?.lora_rank, first.args?.lora_rank);
  assert.ok((second.estimate?.budgetBytes ?? Infinity) <= 4 * 1024 ** 3, 'the 4 GB limit still applies');
});

test('README for another machine: needs, bundle, exact command line, resume; no secrets', async () => {
  const env = workspaceEnvironment({ workspaceDir: fixture.ws, hardware: hw });
  const turn = await planTurn({ goal: 'answer router questions', history: [], env });
  const target = describedHardware({ gpus: 2, gpuMemoryGiB: 48, ramGiB: 256 });
  const args = { ...turn.args!, device: 'cuda' as const, gpus: 2, precision: 'bf16' as const };
  const model = env.findModel(args.model)!;
  const estimate = env.estimator({ ...(await import('../../../src/core/args/fields')).resolveArgs(args) }, { model: model.spec, hardware: target });
  const md = renderTrainingReadme({ args, argsFile: 'ARGS.json', model, estimate, hardware: target });
  assert.match(md, /2 NVIDIA GPUs with at least \*\*[\d.]+ GiB\*\*/);
  assert.match(md, /tuner-train --plan plan\.json > events\.jsonl/);
  assert.match(md, /--resume output\/checkpoints\/step-N/);
  assert.match(md, /"model_dir": "model"/);
  assert.match(md, /\{"version":1,"type":"pause"\}/);
  for (const w of md.split(/[\s"'`,]+/)) assert.ok(!looksLikeSecret(w), w);
  assert.match(renderHardware(target), /\| GPU 1 \| GPU with 48 GB: 48 GiB/);
});

test('a language model\'s plan gets the warnings a rule plan gets: records cut short, a run too long for this machine', async () => {
  const plan = { model: './models/qwen-0.5b', data: './train.jsonl', method: 'lora', lora_rank: 8, batch_size: 1, max_length: 16, epochs: 1000 };
  server.script([{ toolCalls: [{ name: 'set_args', arguments: JSON.stringify(plan) }] }, { text: 'LoRA, a thousand passes.' }]);
  const backend = new OpenAiBackend({ baseURL: fixture.baseURL, model: 'scripted', timeoutMs: 5000 });
  const turn = await planTurn({ goal: 'answer router questions', history: [], env: workspaceEnvironment({ workspaceDir: fixture.ws, hardware: hw }), backend });
  assert.equal(turn.kind, 'plan', renderPlan(turn));
  assert.equal(turn.source, `scripted at ${fixture.baseURL}`);
  const notes = turn.notes.join('\n');
  assert.match(notes, /^max_length 16 cuts (more than )?[\d,]+ of 300 records \(\d+%\) short/m);
  assert.match(notes, /This run would take about .+ on this machine's 8-core CPU \([\d,]+ steps\): too long to be practical here\. Alternatives: a machine with a GPU/);
  assert.match(renderPlan(turn), /\n> This run would take about/);
});
