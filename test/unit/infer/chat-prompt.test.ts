// Prompts for generation with the real chat templates of Llama 3, Qwen 3, Gemma 3 (and Tuner's
// default for GPT-2, which ships none): the generation prompt each model card documents, the
// stop ids (EOS and the template's end of turn), BOS for raw text as the tokenizer adds it, and
// multi-turn prompts that extend the previous turn's ids so the KV cache is reused.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import type { ChatMessage } from '../../../src/core/engine/infer-protocol';
import { PromptBuilder } from '../../../src/core/infer/chat-prompt';
import { InferFailure } from '../../../src/core/infer/errors';
import { tokenizerAddsBos } from '../../../src/core/model/tokenizer';
import { FAMILIES, familyDir, familyTokenizer, type Family } from '../prepare/families';

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'What is LoRA?' },
];

// The generation prompt of each family for CONVERSATION (model cards / the shipped templates).
const GENERATION_PROMPT: Record<Family, string> = {
  llama3:
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nWhat is LoRA?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n',
  qwen3: '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhat is LoRA?<|im_end|>\n<|im_start|>assistant\n',
  gemma3: '<bos><start_of_turn>user\nYou are terse.\n\nWhat is LoRA?<end_of_turn>\n<start_of_turn>model\n',
  gpt2: '<|endoftext|>You are terse.\n\nHuman: What is LoRA?\nAssistant:',
};

const TURN_END: Record<Family, string> = { llama3: '<|eot_id|>', qwen3: '<|im_end|>', gemma3: '<end_of_turn>', gpt2: '<|endoftext|>' };

function builder(f: Family, override: string | null = null, eosTokenIds: number[] = []): PromptBuilder {
  return PromptBuilder.forModel(familyDir(f), familyTokenizer(f), { eosTokenIds }, override);
}

function readJson(f: Family, name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(familyDir(f), name), 'utf8')) as Record<string, unknown>;
}

describe('chat prompts', () => {
  for (const f of FAMILIES) {
    it(`${f}: renders the documented generation prompt and tokenizes it`, () => {
      const b = builder(f);
      assert.equal(b.templateSource, f === 'gpt2' ? 'default' : 'model');
      const p = b.build({ type: 'chat', messages: CONVERSATION });
      assert.equal(p.text, GENERATION_PROMPT[f]);
      assert.deepEqual(p.ids, familyTokenizer(f).encode(GENERATION_PROMPT[f]));
    });

    it(`${f}: stops at the template's end of turn in chat, at EOS and generation_config ids always`, () => {
      const tok = familyTokenizer(f);
      const b = builder(f, null, [7]);
      const turnEnd = tok.tokenToId(TURN_END[f]) as number;
      const eos = tok.tokenToId(tok.eosToken as string) as number;
      const chat = b.build({ type: 'chat', messages: CONVERSATION }).stopTokenIds;
      const text = b.build({ type: 'text', text: 'Once' }).stopTokenIds;
      assert.ok(chat.has(turnEnd) && chat.has(eos) && chat.has(7), `chat stops ${[...chat].join(',')}`);
      assert.ok(text.has(eos) && text.has(7));
      // Raw completion of a base model stops where the model's own config says, not at a chat turn end.
      if (turnEnd !== eos) assert.ok(!text.has(turnEnd));
    });

    it(`${f}: the next turn's prompt starts with this turn's prompt and answer (the KV cache is reused)`, () => {
      const b = builder(f);
      const first = b.build({ type: 'chat', messages: CONVERSATION });
      // What the model generates: after "Assistant:" GPT-2's first answer token carries the space.
      const answerIds = familyTokenizer(f).encode(`${f === 'gpt2' ? ' ' : ''}Low-rank adapters.`);
      const second = b.build({ type: 'chat', messages: [...CONVERSATION, { role: 'assistant', content: 'Low-rank adapters.' }, { role: 'user', content: 'And QLoRA?' }] });
      let common = 0;
      const cached = [...first.ids, ...answerIds];
      while (common < cached.length && cached[common] === second.ids[common]) common++;
      // Everything before the answer is always reused; Qwen 3 alone rewrites the last answer's
      // think block once it is no longer last, so only its prompt part is shared.
      assert.ok(common >= first.ids.length, `${f}: ${common} of ${first.ids.length} prompt ids shared`);
      if (f !== 'qwen3') assert.equal(common, cached.length, `${f}: the answer is shared too`);
    });
  }

  it('raw text gets BOS exactly when the tokenizer adds one', () => {
    assert.equal(builder('gemma3').build({ type: 'text', text: 'Once upon' }).ids[0], familyTokenizer('gemma3').tokenToId('<bos>'), 'gemma3: add_bos_token true');
    const gpt2 = builder('gpt2').build({ type: 'text', text: 'Once upon' }).ids;
    assert.deepEqual(gpt2, familyTokenizer('gpt2').encode('Once upon'), 'gpt2 adds none');
    assert.deepEqual(builder('qwen3').build({ type: 'text', text: 'Once' }).ids, familyTokenizer('qwen3').encode('Once'), 'qwen3 has no BOS');
    // Asked for explicitly, either way.
    assert.equal(builder('gpt2').build({ type: 'text', text: 'Once', add_bos: true }).ids[0], familyTokenizer('gpt2').tokenToId('<|endoftext|>'));
    assert.notEqual(builder('gemma3').build({ type: 'text', text: 'Once', add_bos: false }).ids[0], familyTokenizer('gemma3').tokenToId('<bos>'));
    // BOS alone is a valid prompt (unconditional generation); nothing at all is not.
    assert.equal(builder('gemma3').build({ type: 'text', text: '' }).ids.length, 1);
    assert.throws(() => builder('qwen3').build({ type: 'text', text: '' }), (e: unknown) => e instanceof InferFailure && e.code === 'bad_request');
  });

  it('a TemplateProcessing post-processor that starts with BOS means BOS (Llama 3 / Gemma tokenizer.json)', () => {
    const tj = readJson('gemma3', 'tokenizer.json');
    const config = { ...readJson('gemma3', 'tokenizer_config.json') };
    delete config.add_bos_token;
    assert.equal(tokenizerAddsBos(tj, config, '<bos>'), true);
    assert.equal(tokenizerAddsBos({ post_processor: { type: 'Sequence', processors: [{ type: 'ByteLevel' }, tj.post_processor] } }, {}, '<bos>'), true);
    assert.equal(tokenizerAddsBos(readJson('gpt2', 'tokenizer.json'), readJson('gpt2', 'tokenizer_config.json'), '<|endoftext|>'), false);
    assert.equal(tokenizerAddsBos(tj, { add_bos_token: false }, '<bos>'), false, 'add_bos_token decides when present');
    assert.equal(tokenizerAddsBos(tj, {}, null), false, 'no BOS token, no BOS');
  });

  it('the "default" override renders Tuner\'s Human/Assistant format', () => {
    const b = builder('qwen3', 'default');
    assert.equal(b.templateSource, 'override');
    assert.equal(b.build({ type: 'chat', messages: [{ role: 'user', content: 'Hi' }] }).text, 'Human: Hi\nAssistant:');
  });

  it('inline Jinja as the override', () => {
    const b = builder('gpt2', '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>');
    assert.equal(b.build({ type: 'chat', messages: [{ role: 'user', content: 'Hi' }] }).text, '<user>Hi<assistant>');
  });

  it('a conversation the template refuses is a template_error with a hint', () => {
    // Gemma 3's template raises on turns that do not alternate.
    const b = builder('gemma3');
    assert.throws(
      () => b.build({ type: 'chat', messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }),
      (e: unknown) => e instanceof InferFailure && e.code === 'template_error' && /alternate/.test(e.message) && e.hint.length > 0,
    );
    assert.throws(() => b.build({ type: 'chat', messages: [] }), (e: unknown) => e instanceof InferFailure && e.code === 'bad_request');
  });
});
