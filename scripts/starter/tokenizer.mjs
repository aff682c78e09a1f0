// The starter model's tokenizer: a byte-level BPE (GPT-2's scheme, so any text encodes and
// llama.cpp reads it as "gpt2" / "gpt-2") trained with Hugging Face's `tokenizers` library on
// the starter corpus. The library's Node trainer has no vocabulary-size option, so it learns
// its full merge list and we keep the first merges: BPE training is greedy, so the first K
// merges are exactly what a run stopped at K merges learns. The vocabulary is the special
// tokens, all 256 byte symbols (so no text is ever unencodable), then the kept merges in order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'];

/** ChatML, as Qwen2 and many small chat models use it; the answer closes with <|im_end|>. */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * Trains on `textFile` and writes tokenizer.json and tokenizer_config.json into `outDir`.
 * Returns {vocabSize, merges}.
 */
export function trainTokenizer(textFile, outDir, vocabSize) {
  const tk = require('tokenizers');
  const trainer = new tk.Tokenizer(tk.BPE.empty());
  trainer.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
  trainer.train([textFile]);
  const scratch = path.join(outDir, 'tokenizer.full.json');
  trainer.save(scratch);
  const full = JSON.parse(fs.readFileSync(scratch, 'utf8'));
  fs.rmSync(scratch);

  const vocab = {};
  for (const t of SPECIAL_TOKENS) vocab[t] = Object.keys(vocab).length;
  for (const b of byteAlphabet()) vocab[b] = Object.keys(vocab).length;
  const merges = [];
  for (const m of full.model.merges) {
    if (Object.keys(vocab).length >= vocabSize) break;
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    if (!(a in vocab) || !(b in vocab)) throw new Error(`tokenizer: merge ${a} ${b} uses a symbol not in the vocabulary`);
    merges.push([a, b]);
    if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length;
  }

  // The library wrote the pre-tokenizer; the decoder and added tokens follow GPT-2's file.
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: full.pre_tokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { ...full.model, vocab, merges },
  };
  fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(tokenizerJson) + '\n');
  const config = {
    add_bos_token: false,
    add_eos_token: false,
    bos_token: null,
    eos_token: '<|endoftext|>',
    pad_token: '<|endoftext|>',
    unk_token: null,
    model_max_length: 512,
    clean_up_tokenization_spaces: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
    chat_template: CHAT_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(SPECIAL_TOKENS.map((content, id) => [String(id), { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true }])),
  };
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  return { vocabSize: Object.keys(vocab).length, merges: merges.length };
}

/** GPT-2's byte -> printable character map, in byte order (bytes_to_unicode). */
export function byteAlphabet() {
  const keep = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const chars = new Map(keep.map((b) => [b, String.fromCharCode(b)]));
  let n = 0;
  for (let b = 0; b < 256; b++) if (!chars.has(b)) chars.set(b, String.fromCharCode(256 + n++));
  return [...Array(256).keys()].map((b) => chars.get(b));
}
