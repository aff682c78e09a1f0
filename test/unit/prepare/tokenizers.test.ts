import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ChatRenderer, checkTemplateEos, DEFAULT_CHAT_TEMPLATE } from '../../../src/core/dataset/chat-template';
import type { Conversation } from '../../../src/core/dataset/formats';
import { tokenizeSegments } from '../../../src/core/dataset/tokenize';
import { modelStopTokens } from '../../../src/core/dataset/prepare-setup';
import { esmImport, FAMILIES, familyDir, familyTokenizer, ROOT, type Family } from './families';

const SAMPLES = [
  'Hello World, how are you?',
  'The quick brown fox jumps over the lazy dog.\n\nSecond paragraph with  double  spaces.',
  'def add(a, b):\n    return a + b  # tabs\tand spaces',
  'Numbers 1234567 and 3.14159, dates 2024-01-31.',
  'Unicode: naïve café, Größe, 東京は日本の首都です。 Привет мир! 🤖🚀',
  "  leading and trailing whitespace  \n",
  "Don't, can't, it's; quotes \"here\" and 'there'.",
];

type Encoder = (text: string) => number[];

async function independentEncoder(f: Family): Promise<Encoder> {
  switch (f) {
    case 'llama3': {
      const mod = await esmImport(path.join(ROOT, 'node_modules/llama3-tokenizer-js/bundle/llama3-tokenizer-with-baked-data.js'));
      const tok = mod.default as { encode(s: string, o: { bos: boolean; eos: boolean }): number[] };
      return (s) => tok.encode(s, { bos: false, eos: false });
    }
    case 'gpt2': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const r50k = require(path.join(ROOT, 'node_modules/gpt-tokenizer/cjs/encoding/r50k_base.js')) as { encode(s: string): number[] };
      return (s) => r50k.encode(s);
    }
    default: {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { TokenizerLoader } = require('@lenml/tokenizers') as { TokenizerLoader: { fromPreTrained(o: object): { encode(s: string, o: object): number[] } } };
      const read = (n: string) => JSON.parse(fs.readFileSync(path.join(familyDir(f), n), 'utf8'));
      const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON: read('tokenizer.json'), tokenizerConfig: read('tokenizer_config.json') });
      return (s) => tok.encode(s, { add_special_tokens: false });
    }
  }
}

const CHAT: Conversation = {
  turns: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'What is LoRA?' },
    { role: 'assistant', content: 'Low-rank adapters.' },
    { role: 'user', content: 'And QLoRA?' },
    { role: 'assistant', content: 'LoRA on a 4-bit base.' },
  ],
};

// The documented prompt format of each family (model cards / tokenizer_config of the shipped
// tokenizer), for CHAT.
const DOCUMENTED: Record<Family, string> = {
  // Meta Llama 3 base tokenizer_config: each message closed by <|eot_id|>; this template always
  // ends with the assistant header.
  llama3:
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nWhat is LoRA?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nLow-rank adapters.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nAnd QLoRA?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\nLoRA on a 4-bit base.<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n',
  // Qwen3 ChatML; the last answer gets an empty think block.
  qwen3:
    '<|im_start|>system\nYou are terse.<|im_end|>\n' +
    '<|im_start|>user\nWhat is LoRA?<|im_end|>\n' +
    '<|im_start|>assistant\nLow-rank adapters.<|im_end|>\n' +
    '<|im_start|>user\nAnd QLoRA?<|im_end|>\n' +
    '<|im_start|>assistant\n<think>\n\n</think>\n\nLoRA on a 4-bit base.<|im_end|>\n',
  // Gemma 3: no system role (prepended to the first user turn), assistant is "model".
  gemma3:
    '<bos><start_of_turn>user\nYou are terse.\n\nWhat is LoRA?<end_of_turn>\n' +
    '<start_of_turn>model\nLow-rank adapters.<end_of_turn>\n' +
    '<start_of_turn>user\nAnd QLoRA?<end_of_turn>\n' +
    '<start_of_turn>model\nLoRA on a 4-bit base.<end_of_turn>\n',
  // GPT-2 ships no template: Tuner's documented default.
  gpt2:
    '<|endoftext|>You are terse.\n\nHuman: What is LoRA?\nAssistant: Low-rank adapters.<|endoftext|>\n' +
    'Human: And QLoRA?\nAssistant: LoRA on a 4-bit base.<|endoftext|>\n',
};

const TURN_END: Record<Family, string> = { llama3: '<|eot_id|>', qwen3: '<|im_end|>', gemma3: '<end_of_turn>', gpt2: '<|endoftext|>' };

function rendererFor(f: Family): ChatRenderer {
  const tok = familyTokenizer(f);
  return new ChatRenderer(tok.chatTemplate ?? DEFAULT_CHAT_TEMPLATE, tok);
}

/** Hugging Face's Rust tokenizers (the reference implementation, Node binding). */
function rustEncoder(f: Family): (text: string) => Promise<number[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Tokenizer } = require('tokenizers') as { Tokenizer: { fromFile(p: string): { encode(s: string, pair: null, o: { addSpecialTokens: boolean }): Promise<{ getIds(): number[] }> } } };
  const tok = Tokenizer.fromFile(path.join(familyDir(f), 'tokenizer.json'));
  return async (s) => (await tok.encode(s, null, { addSpecialTokens: false })).getIds();
}

for (const f of FAMILIES) {
  describe(`${f} tokenizer and chat template`, () => {
    it('ids equal Hugging Face\'s Rust tokenizers (the reference), rendered chats included', async () => {
      const tok = familyTokenizer(f);
      const rust = rustEncoder(f);
      const rendered = rendererFor(f).render(CHAT, false).segments.map((s) => s.text).join('');
      for (const s of [...SAMPLES, rendered]) assert.deepEqual(tok.encode(s), await rust(s), `${f}: ${JSON.stringify(s)}`);
    });

    it('ids equal an independent implementation\'s', async () => {
      const tok = familyTokenizer(f);
      const other = await independentEncoder(f);
      for (const s of SAMPLES) assert.deepEqual(tok.encode(s), other(s), `${f}: ${JSON.stringify(s)}`);
    });

    it('renders the documented prompt format', () => {
      const segs = rendererFor(f).render(CHAT, false).segments;
      assert.equal(segs.map((s) => s.text).join(''), DOCUMENTED[f]);
    });

    it('trains on exactly the answers and their end-of-turn token', () => {
      const r = rendererFor(f);
      assert.equal(r.turnEnd, TURN_END[f]);
      const trained = r.render(CHAT, false).segments.filter((s) => s.trained).map((s) => s.text);
      const lead = f === 'gpt2' ? ' ' : ''; // "Assistant: Low…": the space is part of the answer's first token
      assert.deepEqual(trained, [`${lead}Low-rank adapters.${TURN_END[f]}`, `${lead}LoRA on a 4-bit base.${TURN_END[f]}`]);
    });

    it('segment-wise ids equal the ids of the whole rendered text, and the mask decodes to the answers', () => {
      const tok = familyTokenizer(f);
      const { segments } = rendererFor(f).render(CHAT, false);
      const ex = tokenizeSegments(segments, tok);
      assert.deepEqual(ex.ids, tok.encode(segments.map((s) => s.text).join('')));
      const trainedText = tok.decode(ex.ids.filter((_, i) => ex.mask[i] === 1));
      const lead = f === 'gpt2' ? ' ' : '';
      assert.equal(trainedText, `${lead}Low-rank adapters.${TURN_END[f]}${lead}LoRA on a 4-bit base.${TURN_END[f]}`);
      assert.equal(ex.mask[0], 0);
    });

    it('train on all tokens marks everything but the first', () => {
      const ex = tokenizeSegments(rendererFor(f).render(CHAT, true).segments, familyTokenizer(f));
      assert.deepEqual(ex.mask, ex.ids.map((_, i) => (i === 0 ? 0 : 1)));
    });
  });
}

describe('EOS check', () => {
  it('flags Llama 3 base: answers end with <|eot_id|> but the model stops at <|end_of_text|>', () => {
    const tok = familyTokenizer('llama3');
    const msg = checkTemplateEos(rendererFor('llama3').turnEnd, modelStopTokens(undefined, tok), tok.eosToken);
    assert.match(msg ?? '', /ends each answer with <\|eot_id\|>, but the model stops at <\|end_of_text\|>/);
  });

  it('accepts Llama 3 once generation_config lists <|eot_id|> (128009)', () => {
    const tok = familyTokenizer('llama3');
    const spec = { eosTokenIds: [128001, 128009] } as Parameters<typeof modelStopTokens>[0];
    assert.equal(checkTemplateEos(rendererFor('llama3').turnEnd, modelStopTokens(spec, tok), tok.eosToken), undefined);
  });

  for (const f of ['qwen3', 'gemma3', 'gpt2'] as Family[]) {
    it(`${f}: the template's end of answer is the model's EOS`, () => {
      const tok = familyTokenizer(f);
      assert.equal(checkTemplateEos(rendererFor(f).turnEnd, modelStopTokens(undefined, tok), tok.eosToken), undefined);
    });
  }

  it('appends EOS when a template closes answers with no stop token', () => {
    const tok = familyTokenizer('gpt2');
    const r = new ChatRenderer("{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}", tok);
    assert.equal(r.turnEnd, null);
    const out = r.render({ turns: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello' }] }, false);
    assert.equal(out.eosAppended, true);
    assert.deepEqual(out.segments, [
      { text: 'user: Hi\nassistant:', trained: false },
      { text: ' Hello<|endoftext|>', trained: true },
      { text: '\n', trained: false },
    ]);
  });

  it('a template that refuses a conversation gives its reason', () => {
    // Gemma's template requires alternating user/assistant turns.
    assert.throws(() => rendererFor('gemma3').render({ turns: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'assistant', content: 'c' }] }, false), /refused this conversation: .*alternate/);
  });
});
