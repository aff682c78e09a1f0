// Benchmark: what the inference worker process costs over the engine itself. In one run, on
// the same model, threads and prompt, alternating: the addon driven directly in this process
// (one prefill call, then sample + append per token: the engine at its best) and the worker
// through InferenceClient (template-free text prompt, tokenization, prefill chunks of 64-512
// tokens sized to ~50 ms with a yield between them, incremental detokenization, stop-string scan and one JSON line per token
// over a pipe). Prints prefill tokens/s, time to first token and decode tokens/s of both with
// the ratio worker / direct, and the worker's cancel latency in decode (the cancel written after
// a token arrived -> `done` received, the tokens that still came, and the worker's own cancel_ms).
// Model: the 41.7M bench shape of bench/train-bench.ts (dim 512, 8 layers, 8 heads, ffn 1376,
// vocab 32000, tied), random weights, with GPT-2's tokenizer cut to its first 32000 tokens.
// Run: `npm run bench:infer-worker` (after `npm run build`).
// Options: --quants f32,q8_0,q4_0 --threads N (default all) --prompt 512 --new 128 --rounds R
//   (default 2; the best of each side is kept) --dim 512 --layers 8 --heads 8 --ffn 1376
//   --vocab 32000 (at most GPT-2's 50257) --keep --json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findPackageRoot, loadAddon } from '../src/core/engine/addon';
import type { InferAddon, InferSession, QuantName } from '../src/core/engine/infer-addon';
import { InferenceClient } from '../src/core/engine/infer-client';
import { QUANT_NAMES } from '../src/core/engine/infer-protocol';
import { listOf, parseBenchOptions } from './bench-options';
import { loadTokenizer } from '../src/core/model/tokenizer';
import { writeTinyModel } from '../test/native/tiny-model';

interface Options {
  quants: QuantName[];
  dim: number;
  layers: number;
  heads: number;
  ffn: number;
  vocab: number;
  threads: number;
  prompt: number;
  newTokens: number;
  rounds: number;
  keep: boolean;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const defaults: Options = { quants: ['f32', 'q8_0', 'q4_0'], dim: 512, layers: 8, heads: 8, ffn: 1376, vocab: 32000, threads: os.availableParallelism(), prompt: 512, newTokens: 128, rounds: 2, keep: false, json: false };
  const o = parseBenchOptions(argv, defaults, {
    file: 'bench/infer-worker-bench.ts',
    numeric: { '--threads': 'threads', '--prompt': 'prompt', '--dim': 'dim', '--layers': 'layers', '--heads': 'heads', '--ffn': 'ffn',
      '--vocab': 'vocab', '--new': 'newTokens', '--rounds': 'rounds' },
    flags: { '--keep': 'keep', '--json': 'json' },
    custom: { '--quants': (v, x) => { x.quants = listOf('--quants', v, QUANT_NAMES); } },
  });
  return { ...o, vocab: Math.min(o.vocab, 50257) };
}

/** GPT-2's BPE cut to its first vocab - 1 tokens (and the merges that make them), <|endoftext|> as the last id. */
function writeCutGpt2Tokenizer(root: string, dir: string, vocabSize: number): void {
  const src = path.join(root, 'node_modules', '@lenml', 'tokenizer-gpt2', 'models');
  const tj = JSON.parse(fs.readFileSync(path.join(src, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: Array<string | [string, string]> };
    added_tokens: Array<{ id: number; content: string }>;
  };
  const eos = vocabSize - 1;
  const vocab: Record<string, number> = {};
  for (const [t, id] of Object.entries(tj.model.vocab)) if (id < eos) vocab[t] = id;
  tj.model.merges = tj.model.merges.filter((m) => {
    const [a, b] = typeof m === 'string' ? m.split(' ') : m;
    return vocab[a + b] !== undefined && vocab[a] !== undefined && vocab[b] !== undefined;
  });
  vocab['<|endoftext|>'] = eos;
  tj.model.vocab = vocab;
  tj.added_tokens = tj.added_tokens.map((t) => (t.content === '<|endoftext|>' ? { ...t, id: eos } : t));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
  fs.copyFileSync(path.join(src, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, bos_token_id: eos, eos_token_id: eos }, null, 2));
}

interface SideResult {
  prefillTokensPerS: number;
  ttftMs: number;
  decodeTokensPerS: number;
  generated: number;
}

function best(a: SideResult | undefined, b: SideResult): SideResult {
  if (!a) return b;
  return { prefillTokensPerS: Math.max(a.prefillTokensPerS, b.prefillTokensPerS), ttftMs: Math.min(a.ttftMs, b.ttftMs), decodeTokensPerS: Math.max(a.decodeTokensPerS, b.decodeTokensPerS), generated: b.generated };
}

/** One round on the addon in this process; the session stays loaded between rounds, as the worker's does. */
function direct(s: InferSession, model: string, promptText: string, n: number): SideResult {
  s.truncate(0);
  const t0 = performance.now();
  const ids = loadTokenizerCached(model).encode(promptText);
  const t1 = performance.now();
  s.setSampler({ temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0, seed: 0 });
  s.append(Uint32Array.from(ids));
  const t2 = performance.now();
  let tok = s.sample();
  const first = performance.now();
  for (let i = 1; i < n; i++) {
    s.append(Uint32Array.from([tok]));
    tok = s.sample();
  }
  const last = performance.now();
  return { prefillTokensPerS: (ids.length * 1000) / (t2 - t1), ttftMs: first - t0, decodeTokensPerS: ((n - 1) * 1000) / (last - first), generated: n };
}

const tokenizers = new Map<string, ReturnType<typeof loadTokenizer>>();
function loadTokenizerCached(dir: string): ReturnType<typeof loadTokenizer> {
  let t = tokenizers.get(dir);
  if (!t) tokenizers.set(dir, (t = loadTokenizer(dir)));
  return t;
}

async function viaWorker(client: InferenceClient, promptText: string, n: number): Promise<SideResult> {
  const sent = performance.now();
  const g = client.generate({ prompt: { type: 'text', text: promptText, add_bos: false }, max_new_tokens: n });
  let first = 0;
  for await (const e of g) if (e.type === 'token' && first === 0) first = performance.now();
  const t = (await g.done).timings;
  return {
    prefillTokensPerS: t.prompt_tokens_per_s ?? 0,
    ttftMs: first - sent, // as the client sees it: request written -> first token read
    // The worker's own clock (first to last sampled token, every per-token step of the worker
    // included): token events reach the client in bursts, so arrival times would overstate it.
    decodeTokensPerS: t.tokens_per_s ?? 0,
    generated: t.generated_tokens,
  };
}

async function cancelLatency(client: InferenceClient, promptText: string): Promise<{ clientMs: number; workerMs: number; tokensAfter: number }> {
  const g = client.generate({ prompt: { type: 'text', text: promptText, add_bos: false }, max_new_tokens: 100000 });
  let sentAt = 0;
  let after = 0;
  for await (const e of g) {
    if (e.type !== 'token') continue;
    if (sentAt) after++;
    else if (e.index === 8) {
      sentAt = performance.now();
      g.cancel();
    }
  }
  const done = await g.done;
  return { clientMs: performance.now() - sentAt, workerMs: done.timings.cancel_ms ?? NaN, tokensAfter: after };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const root = findPackageRoot();
  if (!root) throw new Error('run from the Tuner package (npm run bench:infer-worker)');
  const addon = loadAddon() as ReturnType<typeof loadAddon> & Partial<InferAddon>;
  if (typeof addon.inferLoad !== 'function') throw new Error('the addon has no inferLoad: run `npm run build:native`');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-infer-bench-'));
  try {
    const model = writeTinyModel(path.join(tmp, 'model'), { vocab: o.vocab, hidden: o.dim, layers: o.layers, heads: o.heads, kvHeads: o.heads, intermediate: o.ffn, maxPos: 2048, tied: true, seed: 1 });
    writeCutGpt2Tokenizer(root, model, o.vocab);
    const tok = loadTokenizerCached(model);
    let promptText = '';
    for (let k = 0; tok.encode(promptText).length < o.prompt; k++) promptText += `Line ${k}: the quick brown fox jumps over the lazy dog. `;
    while (tok.encode(promptText).length > o.prompt) promptText = promptText.slice(0, -1);
    const workerPath = path.join(root, 'out', 'src', 'core', 'infer', 'worker-main.js');
    console.log(`infer-worker-bench: Llama dim ${o.dim}, ${o.layers} layers, ${o.heads} heads, ffn ${o.ffn}, vocab ${o.vocab} (tied), ${o.threads} threads, prompt ${tok.encode(promptText).length} tokens, ${o.newTokens} new, best of ${o.rounds} rounds`);
    for (const quant of o.quants) {
      const client = new InferenceClient({ workerPath });
      const session = (addon as InferAddon).inferLoad({ model, quant, contextLength: 1024, threads: o.threads });
      let d: SideResult | undefined;
      let w: SideResult | undefined;
      try {
        await client.load({ model, quant, context_length: 1024, threads: o.threads });
        for (let r = 0; r < o.rounds; r++) {
          // A different first word each time, so the worker's KV cache has no prefix to reuse.
          const text = `Round ${r + 1} (${quant}). ${promptText}`;
          d = best(d, direct(session, model, text, o.newTokens));
          w = best(w, await viaWorker(client, text, o.newTokens));
        }
        const cancel = await cancelLatency(client, 'Once upon a time');
        const dd = d as SideResult, ww = w as SideResult;
        const row = {
          quant,
          prefill_tokens_per_s: { direct: dd.prefillTokensPerS, worker: ww.prefillTokensPerS, ratio: ww.prefillTokensPerS / dd.prefillTokensPerS },
          ttft_ms: { direct: dd.ttftMs, worker: ww.ttftMs, ratio: ww.ttftMs / dd.ttftMs },
          decode_tokens_per_s: { direct: dd.decodeTokensPerS, worker: ww.decodeTokensPerS, ratio: ww.decodeTokensPerS / dd.decodeTokensPerS },
          cancel: { client_ms: cancel.clientMs, worker_ms: cancel.workerMs, tokens_after_cancel: cancel.tokensAfter },
        };
        if (o.json) console.log(JSON.stringify(row));
        else {
          const f = (x: number) => x.toFixed(1);
          console.log(
            `${quant.padEnd(5)} prefill ${f(dd.prefillTokensPerS)} -> ${f(ww.prefillTokensPerS)} tok/s (x${row.prefill_tokens_per_s.ratio.toFixed(3)})` +
              ` | first token ${f(dd.ttftMs)} -> ${f(ww.ttftMs)} ms (x${row.ttft_ms.ratio.toFixed(3)})` +
              ` | decode ${f(dd.decodeTokensPerS)} -> ${f(ww.decodeTokensPerS)} tok/s (x${row.decode_tokens_per_s.ratio.toFixed(3)})` +
              ` | cancel ${f(cancel.clientMs)} ms seen by the client, ${cancel.workerMs.toFixed(2)} ms in the worker, ${cancel.tokensAfter} token(s) after it`,
          );
        }
      } finally {
        session.free();
        await client.dispose();
      }
    }
    console.log('(direct = the addon in this process; worker = InferenceClient over the child process; x = worker / direct)');
  } finally {
    if (o.keep) console.log(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
