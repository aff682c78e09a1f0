// Shared set-up for the inference worker tests: tiny Llama models with GPT-2's real tokenizer
// (written by tiny-model.ts), a client on out/'s worker, and helpers to collect a generation,
// expect an error and run the engine directly as the oracle for the worker's tokens.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadAddon } from '../../src/core/engine/addon';
import type { InferAddon, SamplerSettings } from '../../src/core/engine/infer-addon';
import { InferenceClient, InferenceError, type Generation, type GenerateOptions } from '../../src/core/engine/infer-client';
import type { DoneEvent, TokenEvent } from '../../src/core/engine/infer-protocol';
import { writeTinyModel, type TinyModelSpec } from './tiny-model';

const ROOT = path.resolve(__dirname, '..', '..', '..');
export const WORKER = path.join(__dirname, '..', '..', 'src', 'core', 'infer', 'worker-main.js');
const GPT2 = path.join(ROOT, 'node_modules', '@lenml', 'tokenizer-gpt2', 'models');
export const EOS = 50256; // GPT-2's <|endoftext|>
const GREEDY: SamplerSettings = { temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0, seed: 0 };

function addonWithInference(): (ReturnType<typeof loadAddon> & Partial<InferAddon>) | undefined {
  try {
    return loadAddon() as ReturnType<typeof loadAddon> & Partial<InferAddon>;
  } catch {
    return undefined;
  }
}
export const addon = addonWithInference();
export const skip = typeof addon?.inferLoad === 'function' ? false : 'the addon in build/native has no inferLoad yet: run `npm run build:native`';

/** A tiny Llama with GPT-2's tokenizer (its vocabulary sets the embedding size) and EOS. */
export function modelWithTokenizer(dir: string, spec: TinyModelSpec): string {
  writeTinyModel(dir, { vocab: 50257, tied: true, ...spec });
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, bos_token_id: EOS, eos_token_id: EOS }, null, 2));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(GPT2, f), path.join(dir, f));
  return dir;
}

/** A copy of a model folder (weights linked, not copied) to vary its side files. */
export function variant(tmp: string, from: string, name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(from)) {
    if (f === 'model.safetensors') fs.symlinkSync(path.join(from, f), path.join(dir, f));
    else fs.copyFileSync(path.join(from, f), path.join(dir, f));
  }
  return dir;
}

export function client(): InferenceClient {
  return new InferenceClient({ workerPath: WORKER, shutdownGraceMs: 5000 });
}

export async function collect(g: Generation): Promise<{ tokens: TokenEvent[]; done: DoneEvent }> {
  const tokens: TokenEvent[] = [];
  for await (const e of g) if (e.type === 'token') tokens.push(e);
  return { tokens, done: await g.done };
}

export async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<InferenceError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InferenceError, `an InferenceError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    assert.ok(e.hint.length > 0, 'with a hint');
    return e;
  }
  assert.fail(`expected an error ${code}`);
}

/** Greedy ids through the addon in this process: the oracle for the worker's tokens. */
export function directGreedy(model: string, prompt: number[], n: number): number[] {
  const s = (addon as InferAddon).inferLoad({ model, quant: 'f32', contextLength: 256, threads: 2 });
  try {
    s.setSampler(GREEDY);
    s.append(Uint32Array.from(prompt));
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = s.sample();
      out.push(t);
      if (t === EOS) break;
      s.append(Uint32Array.from([t]));
    }
    return out;
  } finally {
    s.free();
  }
}

export const PROMPT = 'Once upon a time, in a small village by the sea,';
export const greedy = (max: number, extra: Partial<GenerateOptions> = {}): GenerateOptions => ({ prompt: { type: 'text', text: PROMPT }, max_new_tokens: max, ...extra });

/** A temporary folder for one test file, removed when it ends (TUNER_KEEP_TEST_DIRS=1 keeps it). */
export function tempRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-infer-worker-'));
  process.on('exit', () => {
    if (!process.env.TUNER_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** The small model (fast, for correctness) and the slow one (a token takes milliseconds, for cancel timing). */
export const SMALL: TinyModelSpec = { hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, maxPos: 1024, seed: 11 };
export const SLOW: TinyModelSpec = { hidden: 256, intermediate: 768, layers: 4, heads: 8, kvHeads: 4, maxPos: 4096, seed: 12 };
