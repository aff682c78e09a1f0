// Ollama Modelfiles from real chat templates: the tokenizer packages in devDependencies (GPT-2
// without a template, Llama 3, Qwen3, Gemma 3) and the published Llama 2 chat, Mistral instruct
// and Qwen2 instruct templates; the family, stops, default system prompt and sampling
// parameters each Modelfile carries. test/native/modelfile-go.test.ts renders the TEMPLATEs with
// Go's text/template (as Ollama does) against the Jinja originals.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { buildModelfile, modelfileForFolder, recogniseChatTemplate, writeModelfile, type ModelfileInput } from '../../../src/core/export/modelfile';
import { DEFAULT_CHAT_TEMPLATE } from '../../../src/core/dataset/chat-template';
import { familyDir } from '../prepare/families';
import { LLAMA2_CHAT, MISTRAL_INSTRUCT, QWEN2_INSTRUCT } from './chat-templates';


function input(chatTemplate: string | null, extra: Partial<ModelfileInput> = {}): ModelfileInput {
  return { from: './model.gguf', chatTemplate, bosToken: '<s>', eosToken: '</s>', ...extra };
}

test('the tokenizer packages: GPT-2 plain, Llama 3, Qwen3 ChatML, Gemma 3', () => {
  const expected = { gpt2: 'plain', llama3: 'llama3', qwen3: 'chatml', gemma3: 'gemma' } as const;
  for (const [pkg, family] of Object.entries(expected)) {
    const m = modelfileForFolder(familyDir(pkg as keyof typeof expected), './model.gguf');
    assert.equal(m.family, family, pkg);
    assert.match(m.text, /^FROM \.\/model\.gguf$/m, pkg);
    assert.match(m.text, /^TEMPLATE """[\s\S]+"""$/m, pkg);
    assert.equal(m.system, null, `${pkg}: no default system prompt`);
  }
  const llama3 = modelfileForFolder(familyDir('llama3'), './model.gguf');
  assert.deepEqual(llama3.stops, ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|end_of_text|>']);
  assert.match(llama3.text, /^PARAMETER stop "<\|eot_id\|>"$/m);
  const qwen = modelfileForFolder(familyDir('qwen3'), './model.gguf');
  assert.deepEqual(qwen.stops, ['<|im_start|>', '<|im_end|>']); // the EOS token is <|im_end|> itself
  const gpt2 = modelfileForFolder(familyDir('gpt2'), './model.gguf');
  assert.match(gpt2.text, /Assistant: \{\{ \.Content \}\}<\|endoftext\|>/, 'the plain form closes answers with EOS, as Tuner trains it');
  assert.deepEqual(gpt2.stops, ['Human:', '<|endoftext|>']);
});

test('Llama 2 chat, Mistral instruct and Qwen2 instruct templates', () => {
  assert.deepEqual(recogniseChatTemplate(input(LLAMA2_CHAT)), { family: 'llama2', system: null });
  assert.deepEqual(recogniseChatTemplate(input(MISTRAL_INSTRUCT)), { family: 'mistral', system: null }); // raises on a system turn
  const qwen2 = buildModelfile(input(QWEN2_INSTRUCT, { eosToken: '<|im_end|>' }));
  assert.equal(qwen2.family, 'chatml');
  assert.equal(qwen2.system, 'You are a helpful assistant.');
  assert.match(qwen2.text, /^SYSTEM """You are a helpful assistant\."""$/m);
  const mistral = buildModelfile(input(MISTRAL_INSTRUCT));
  assert.deepEqual(mistral.stops, ['[INST]', '[/INST]', '</s>']);
});

test('a template of no known family falls back to the plain form and says so', () => {
  const alpaca = "{% for m in messages %}{% if m.role == 'user' %}### Instruction:\n{{ m.content }}\n\n{% else %}### Response:\n{{ m.content }}\n\n{% endif %}{% endfor %}### Response:\n";
  const m = buildModelfile(input(alpaca));
  assert.equal(m.family, 'unknown');
  assert.match(m.text, /belongs to no family Tuner translates/);
  assert.match(m.text, /Human: \{\{ \.Content \}\}/);
  assert.equal(buildModelfile(input('{% for m in messages %}{{ m.content ')).family, 'unknown', 'a template that does not parse');
  assert.equal(buildModelfile(input(null)).family, 'plain');
  assert.equal(buildModelfile(input(DEFAULT_CHAT_TEMPLATE)).family, 'plain', "Tuner's own default template");
});

test('sampling parameters come from generation_config.json, temperature 0.8 without one', () => {
  assert.deepEqual(buildModelfile(input(QWEN2_INSTRUCT)).parameters, { temperature: 0.8 });
  const gen = { do_sample: true, temperature: 0.7, top_p: 0.8, top_k: 20, repetition_penalty: 1.05, min_p: 0.05, no_repeat_ngram_size: 2 };
  const m = buildModelfile(input(QWEN2_INSTRUCT, { generationConfig: gen, contextLength: 4096 }));
  assert.deepEqual(m.parameters, { temperature: 0.7, top_p: 0.8, top_k: 20, min_p: 0.05, repeat_penalty: 1.05, num_ctx: 4096 });
  assert.match(m.text, /^PARAMETER repeat_penalty 1\.05$/m);
  assert.match(m.text, /^# no_repeat_ngram_size 2 has no Ollama parameter/m);
  assert.deepEqual(buildModelfile(input(QWEN2_INSTRUCT, { generationConfig: { do_sample: false, temperature: 0.6 } })).parameters, { temperature: 0 },
    'greedy when generation_config says do_sample false');
  assert.deepEqual(buildModelfile(input(QWEN2_INSTRUCT, { generationConfig: { top_p: 1.0, top_k: 0, repetition_penalty: 1.0 } })).parameters,
    { temperature: 0.8 }, 'neutral values are left out');
});

test('writeModelfile puts the Modelfile beside the GGUF, FROM its file name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-modelfile-'));
  try {
    const m = writeModelfile(path.join(dir, 'tuned-q4_0.gguf'), familyDir('llama3'), 8192);
    const text = fs.readFileSync(path.join(dir, 'Modelfile'), 'utf8');
    assert.equal(text, m.text);
    assert.match(text, /^FROM \.\/tuned-q4_0\.gguf$/m);
    assert.match(text, /^PARAMETER num_ctx 8192$/m);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['Modelfile']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
