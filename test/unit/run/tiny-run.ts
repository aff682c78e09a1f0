// A complete tiny fine-tuning project for run tests: a random Llama-family model (written in
// TypeScript by test/native/tiny-model.ts, no Python), a word-level tokenizer.json (a real Hugging Face tokenizer file, loaded
// by the product's tokenizer code), a JSONL dataset and an ARGS.json. Training it takes well
// under a second per step on one core, so tests can run whole runs.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeTinyModel } from '../../native/tiny-model';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

const WORDS = (
  'what is the capital of france paris spain madrid italy rome germany berlin ' +
  'how many legs does a cat have dog bird spider four two eight ' +
  'colour sky grass snow blue green white human assistant : ? .'
).split(' ');
const SPECIAL = ['<unk>', '<s>', '</s>'];

const FACTS: [string, string][] = [
  ['what is the capital of france ?', 'paris .'],
  ['what is the capital of spain ?', 'madrid .'],
  ['what is the capital of italy ?', 'rome .'],
  ['what is the capital of germany ?', 'berlin .'],
  ['how many legs does a cat have ?', 'four .'],
  ['how many legs does a bird have ?', 'two .'],
  ['how many legs does a spider have ?', 'eight .'],
  ['what is the colour of the sky ?', 'blue .'],
  ['what is the colour of grass ?', 'green .'],
  ['what is the colour of snow ?', 'white .'],
];

export interface TinyProjectOptions {
  /** Extra ARGS.json fields (override the defaults below). */
  args?: Record<string, unknown>;
  /** Records in data.jsonl (cycled from the fact list). */
  records?: number;
  layers?: number;
}

/** The vocabulary size of the tiny tokenizer (the model is generated with the same). */
export const TINY_VOCAB = SPECIAL.length + new Set(WORDS).size;

export function writeTokenizer(dir: string): void {
  const vocab: Record<string, number> = {};
  for (const t of [...SPECIAL, ...WORDS]) if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' }));
}

/** Writes model/, data.jsonl and ARGS.json into `dir`; returns the ARGS.json path. */
export function makeTinyProject(dir: string, o: TinyProjectOptions = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const modelDir = path.join(dir, 'model');
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) {
    writeTinyModel(modelDir, { vocab: TINY_VOCAB, layers: o.layers ?? 2 });
    writeTokenizer(modelDir);
  }
  const n = o.records ?? 40;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const [input, output] = FACTS[i % FACTS.length];
    lines.push(JSON.stringify({ input, output }));
  }
  fs.writeFileSync(path.join(dir, 'data.jsonl'), lines.join('\n') + '\n');
  const args = {
    model: './model',
    data: './data.jsonl',
    method: 'lora',
    lora_rank: 4,
    lora_dropout: 0,
    learning_rate: 0.01,
    schedule: 'constant',
    max_steps: 12,
    batch_size: 2,
    max_length: 32,
    chat_template: 'default',
    save_interval: 4,
    threads: 1,
    ...o.args,
  };
  const file = path.join(dir, 'ARGS.json');
  fs.writeFileSync(file, JSON.stringify(args, null, 2) + '\n');
  return file;
}

/** The compiled prepare-worker script (out/src/core/dataset), as the extension's dist/ bundle would be. */
export const PREPARE_WORKER = path.join(__dirname, '..', '..', '..', 'src', 'core', 'dataset', 'prepare-worker.js');
