// Incremental detokenization with real tokenizers (the tokenizer.json files of Llama 3, Qwen 3,
// Gemma 3 and GPT-2): the deltas joined equal a full decode of the output ids, no delta carries
// half a character (U+FFFD) for valid text, each character appears with the token that
// completes it, and a sentencepiece decoder that strips the text's first space (Llama 2,
// Mistral) still gives the first generated word its space when the prompt precedes it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { IncrementalDetokenizer } from '../../../src/core/infer/incremental-detokenizer';
import { loadTokenizer, type ModelTokenizer } from '../../../src/core/model/tokenizer';
import { FAMILIES, familyDir, familyTokenizer } from '../prepare/families';

const TEXTS = [
  'Hello 👋🏽 world! 🇫🇷 family: 👨‍👩‍👧',
  '你好，世界。東京は日本の首都です。한국어 텍스트',
  'naïve café — “quotes” and Größe; Привет мир!',
  "Don't stop . now , ok ? yes 's",
  'def f(x):\n\treturn x  # two  spaces\n\n',
  '∑ ∫ ≈ ≠ → ⟨ψ|φ⟩ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
];

function stream(tok: ModelTokenizer, promptIds: number[], ids: number[]): string[] {
  const d = new IncrementalDetokenizer((x) => tok.decode(x, { cleanUpSpaces: false }), promptIds);
  const deltas = ids.map((id) => d.push(id));
  deltas.push(d.flush());
  return deltas;
}

/**
 * Gemma 3's vocabulary with the decoder Llama 2, Mistral and TinyLlama ship (Replace "▁" with " ",
 * byte fallback, Fuse, then Strip one leading space), written as a tokenizer folder.
 */
function llama2StyleTokenizer(): ModelTokenizer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-detok-'));
  const tj = JSON.parse(fs.readFileSync(path.join(familyDir('gemma3'), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  tj.decoder = {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
  fs.copyFileSync(path.join(familyDir('gemma3'), 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  try {
    return loadTokenizer(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('incremental detokenizer', () => {
  for (const family of FAMILIES) {
    it(`${family}: deltas join to the full decode, never half a character`, () => {
      const tok = familyTokenizer(family);
      const prompt = tok.encode('Answer:');
      for (const text of TEXTS) {
        const ids = tok.encode(text);
        const deltas = stream(tok, prompt, ids);
        const full = tok.decode(ids, { cleanUpSpaces: false });
        assert.equal(deltas.join(''), full, `${family}: ${JSON.stringify(text)}`);
        assert.equal(full, text, 'these texts round-trip through every family');
        for (const d of deltas) assert.ok(!d.includes('\uFFFD'), `${family}: delta ${JSON.stringify(d)} has a replacement character`);
      }
    });

    it(`${family}: text appears with the token that completes it (nothing held longer)`, () => {
      const tok = familyTokenizer(family);
      for (const text of TEXTS) {
        const ids = tok.encode(text);
        const deltas = stream(tok, [], ids);
        let shown = '';
        for (let i = 0; i < ids.length; i++) {
          shown += deltas[i];
          // A full decode of the first i+1 ids, minus an incomplete character at its end, is what must be visible.
          const prefix = tok.decode(ids.slice(0, i + 1), { cleanUpSpaces: false }).replace(/\uFFFD+$/, '');
          assert.equal(shown, prefix, `${family} after token ${i} of ${JSON.stringify(text)}`);
        }
      }
    });
  }

  it('multi-byte characters split over byte-level tokens are emitted whole (GPT-2 splits an emoji into byte tokens)', () => {
    const tok = familyTokenizer('gpt2');
    const ids = tok.encode('🤖');
    assert.ok(ids.length > 1, `GPT-2 splits the robot emoji (${ids.length} tokens)`);
    const deltas = stream(tok, [], ids);
    assert.deepEqual(deltas.filter((d) => d !== ''), ['🤖']);
    assert.equal(deltas[ids.length - 1], '🤖', 'shown with its last byte');
  });

  it('byte-fallback tokens (<0xF0>...) are emitted as one character (Gemma 3)', () => {
    const tok = familyTokenizer('gemma3');
    // A rare supplementary-plane character that Gemma 3 spells with byte-fallback tokens.
    const text = '𓀀';
    const ids = tok.encode(text);
    assert.ok(ids.every((id) => /^<0x[0-9A-F]{2}>$/.test(tok.idToToken(id) ?? '')), `byte tokens: ${ids.map((i) => tok.idToToken(i)).join(' ')}`);
    const deltas = stream(tok, [], ids);
    assert.deepEqual(deltas.filter((d) => d !== ''), [text]);
  });

  it('a Strip decoder (Llama 2 / Mistral): the first word keeps its space after a prompt', () => {
    const tok = llama2StyleTokenizer();
    const prompt = tok.encode('The capital of France is');
    const answer = tok.encode(' Paris, of course.');
    assert.equal(tok.decode(answer, { cleanUpSpaces: false }), 'Paris, of course.', 'decoded alone, the leading space is stripped');
    const deltas = stream(tok, prompt, answer);
    assert.equal(deltas.join(''), ' Paris, of course.', 'decoded after the prompt, it is kept');
    assert.equal(deltas[0], ' Paris');
  });

  it('invalid bytes (a model may sample any byte token) show as U+FFFD and do not stall the stream', () => {
    const tok = familyTokenizer('gemma3');
    const lead = tok.tokenToId('<0xF0>');
    assert.ok(lead !== undefined);
    // Twenty lone lead bytes, then a word: the word must still appear.
    const ids = [...Array<number>(20).fill(lead), ...tok.encode(' ok')];
    const deltas = stream(tok, [], ids);
    const joined = deltas.join('');
    assert.ok(joined.endsWith(' ok'), JSON.stringify(joined));
    assert.ok(deltas.slice(0, ids.length).join('').endsWith(' ok'), 'the word shows before flush');
  });
});
