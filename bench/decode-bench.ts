// Benchmark: text generation of Tuner's engine (tuner-generate on a folder written by
// tuner-export quantize) against llama.cpp (node-llama-cpp 3.21.1, its prebuilt CPU build, on the
// GGUF tuner-export writes) in one run, alternating, on the same model, threads, prompt and greedy
// decoding: prefill of a 512-token prompt and decode of 128 tokens, per weight format: f32, f16, bf16, q8_0, int8 (against llama.cpp's q8_0),
// q4_0, nf4 (against q4_0). Prints tokens/s of both and the ratios, each process's peak RSS, and
// for decode the weight bytes per second streamed against this machine's copy bandwidth measured
// in the same run (decode reads every matrix once per token, so it is bound by memory).
// Run: `npm run bench:decode` (after `npm run build`).
// Options: --threads N (default: all), --rounds R (both sides R times, alternating, each keeping
//   its best; default 2), --formats f32,f16,bf16,q8_0,int8,q4_0,nf4, --prompt 512, --decode 128,
//   --dim 512 --layers 8 --heads 8 --kv-heads 8 --ffn 1376 (the train benchmark's shape; GPT-2's
//   vocabulary of 50257, untied), --keep, --json.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { ensureDebianPackages } from '../test/ensure-debian-packages';
import { listOf, parseBenchOptions } from './bench-options';
import { exportGguf, findTool, REPO_ROOT, tunerExport, writeModelWithTokenizer, type ExportType } from '../test/native/export-fixtures';

type Format = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'int8' | 'q4_0' | 'nf4';
const PEER_FILE: Record<Format, ExportType> = { f32: 'f32', f16: 'f16', bf16: 'bf16', q8_0: 'q8_0', int8: 'q8_0', q4_0: 'q4_0', nf4: 'q4_0' };

interface Options {
  threads: number; rounds: number; formats: Format[]; prompt: number; decode: number;
  dim: number; layers: number; heads: number; kvHeads: number; ffn: number; keep: boolean; json: boolean;
}

function parseOptions(argv: string[]): Options {
  const defaults: Options = { threads: os.availableParallelism(), rounds: 2, formats: ['f32', 'f16', 'bf16', 'q8_0', 'int8', 'q4_0', 'nf4'], prompt: 512, decode: 128,
    dim: 512, layers: 8, heads: 8, kvHeads: 8, ffn: 1376, keep: false, json: false };
  return parseBenchOptions(argv, defaults, {
    file: 'bench/decode-bench.ts',
    numeric: { '--threads': 'threads', '--rounds': 'rounds', '--prompt': 'prompt', '--decode': 'decode',
      '--dim': 'dim', '--layers': 'layers', '--heads': 'heads', '--kv-heads': 'kvHeads', '--ffn': 'ffn' },
    flags: { '--keep': 'keep', '--json': 'json' },
    custom: { '--formats': (v, o) => { o.formats = listOf('--formats', v, Object.keys(PEER_FILE) as Format[]); } },
  });
}

/** Bytes of the matrices one decoded token reads (7 linears per layer and the lm_head) in a format. */
function streamedBytes(o: Options, vocab: number, f: Format): number {
  const hd = o.dim / o.heads;
  const mats: Array<[number, number]> = [];
  for (let l = 0; l < o.layers; l++) {
    mats.push([o.dim, o.dim], [o.kvHeads * hd, o.dim], [o.kvHeads * hd, o.dim], [o.dim, o.dim], [o.ffn, o.dim], [o.ffn, o.dim], [o.dim, o.ffn]);
  }
  mats.push([vocab, o.dim]);
  const per = (rows: number, cols: number): number => {
    switch (f) {
      case 'f32': return rows * cols * 4;
      case 'f16':
      case 'bf16': return rows * cols * 2;
      case 'q8_0': return rows * cols / 32 * 34;
      case 'q4_0': return rows * cols / 32 * 18;
      case 'int8': return rows * cols + rows * 4;
      case 'nf4': return cols % 64 === 0 ? rows * cols / 2 + rows * cols / 64 : rows * cols * 4; // not a block multiple: kept f32
    }
  };
  return mats.reduce((s, [r, c]) => s + per(r, c), 0);
}

/** Copy bandwidth of this machine with `threads` threads: bytes read + written per second. */
async function copyBandwidth(threads: number): Promise<number> {
  const code = `const { parentPort, workerData } = require('node:worker_threads');
    const a = Buffer.alloc(workerData.bytes, 1), b = Buffer.alloc(workerData.bytes);
    a.copy(b);
    parentPort.on('message', () => { const t = process.hrtime.bigint(); for (let i = 0; i < workerData.reps; i++) (i % 2 ? b : a).copy(i % 2 ? a : b);
      parentPort.postMessage(Number(process.hrtime.bigint() - t) / 1e9); });
    parentPort.postMessage('ready');`;
  const bytes = 128 << 20, reps = 8;
  const workers = Array.from({ length: threads }, () => new Worker(code, { eval: true, workerData: { bytes, reps } }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  let best = 0;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    await Promise.all(workers.map((w) => new Promise((r) => { w.once('message', r); w.postMessage('go'); })));
    best = Math.max(best, (2 * bytes * reps * threads) / ((performance.now() - t0) / 1e3));
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return best;
}

interface Measured { prefill: number; decode: number; rssMiB: number; ids: number[] }

/** Runs a command under GNU time; its JSON line and its peak RSS. */
function timed(cmd: string, args: string[]): Measured {
  const r = spawnSync('/usr/bin/time', ['-f', 'peak-rss-kib %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')} … failed (${r.status}):\n${r.stderr}`);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { prefill_tokens_per_s: number; decode_tokens_per_s: number; ids: number[] };
  const rss = /peak-rss-kib (\d+)/.exec(r.stderr);
  return { prefill: j.prefill_tokens_per_s, decode: j.decode_tokens_per_s, rssMiB: rss ? Number(rss[1]) / 1024 : NaN, ids: j.ids };
}

function best(a: Measured | undefined, b: Measured): Measured {
  if (!a) return b;
  return { prefill: Math.max(a.prefill, b.prefill), decode: Math.max(a.decode, b.decode), rssMiB: Math.min(a.rssMiB, b.rssMiB), ids: b.ids };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const loadBefore = os.loadavg()[0].toFixed(1);
  ensureDebianPackages(['time']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-decode-bench-'));
  const vocab = 50257;
  const model = writeModelWithTokenizer(path.join(dir, 'model'), {
    tokenizer: 'gpt2', hidden: o.dim, layers: o.layers, heads: o.heads, kvHeads: o.kvHeads, intermediate: o.ffn, maxPos: 2048, seed: 7,
  });
  // llama.cpp loads a file written in its format; so does our engine (a quantized folder,
  // tuner-export quantize), so neither side pays for reading f32 weights at load.
  const files = new Map<ExportType, string>();
  const folders = new Map<Format, string>([['f32', model]]);
  for (const f of o.formats) {
    const t = PEER_FILE[f];
    if (!files.has(t)) files.set(t, exportGguf(model, t, path.join(dir, `${t}.gguf`)).out);
    if (!folders.has(f)) folders.set(f, tunerExport(['quantize', '--model', model, '--quant', f, '--out', path.join(dir, `folder-${f}`)]).out);
  }
  let s = 12345;
  const prompt = Array.from({ length: o.prompt }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % vocab);
  const promptFile = path.join(dir, 'prompt.json');
  fs.writeFileSync(promptFile, JSON.stringify(prompt));
  const context = String(o.prompt + o.decode + 16);
  const copy = await copyBandwidth(o.threads);
  const peerScript = path.join(REPO_ROOT, 'out', 'bench', 'llama-cpp-decode.js');

  const ours = new Map<Format, Measured>(), theirs = new Map<Format, Measured>();
  for (let round = 0; round < o.rounds; round++) {
    for (const f of o.formats) {
      ours.set(f, best(ours.get(f), timed(findTool('tuner-generate'), ['--model', folders.get(f)!, '--greedy', '--ids', prompt.join(','),
        '--max-new', String(o.decode), '--context', context, '--threads', String(o.threads)])));
      theirs.set(f, best(theirs.get(f), timed(process.execPath, [peerScript, files.get(PEER_FILE[f])!, promptFile, String(o.decode), String(o.threads), context])));
    }
  }

  const gb = (x: number) => (x / 1e9).toFixed(2);
  const rows = o.formats.map((f) => {
    const a = ours.get(f)!, b = theirs.get(f)!, bytes = streamedBytes(o, vocab, f), peerBytes = streamedBytes(o, vocab, PEER_FILE[f]);
    return { format: f, peer: PEER_FILE[f], prefill: [a.prefill, b.prefill, a.prefill / b.prefill], decode: [a.decode, b.decode, a.decode / b.decode],
      rssMiB: [a.rssMiB, b.rssMiB], streamedGBs: [bytes * a.decode / 1e9, peerBytes * b.decode / 1e9], weightMiB: bytes / 2 ** 20 };
  });
  if (o.json) {
    for (const r of rows) process.stdout.write(JSON.stringify({ ...r, copyGBs: copy / 1e9, threads: o.threads }) + '\n');
  } else {
    const params = (streamedBytes(o, vocab, 'f32') / 4 + vocab * o.dim) / 1e6;
    console.log(`Decode benchmark: ${o.layers} layers x ${o.dim} (ffn ${o.ffn}, vocab ${vocab}, untied, ${params.toFixed(1)}M params), ` +
      `prompt ${o.prompt}, decode ${o.decode}, ${o.threads} threads, best of ${o.rounds} alternating rounds`);
    console.log(`copy bandwidth (memcpy, ${o.threads} threads, read + written): ${gb(copy)} GB/s; load average ${loadBefore} before, ` +
      `${os.loadavg()[0].toFixed(1)} after on ${os.availableParallelism()} CPUs\n`);
    console.log('| format (llama.cpp file) | prefill tok/s ours / llama.cpp (ratio) | decode tok/s ours / llama.cpp (ratio) | peak RSS MiB ours / llama.cpp | decode weight GB/s ours / llama.cpp (of copy) |');
    console.log('|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.format} (${r.peer}) | ${r.prefill[0].toFixed(0)} / ${r.prefill[1].toFixed(0)} (${r.prefill[2].toFixed(2)}x) | ` +
        `${r.decode[0].toFixed(1)} / ${r.decode[1].toFixed(1)} (${r.decode[2].toFixed(2)}x) | ${r.rssMiB[0].toFixed(0)} / ${r.rssMiB[1].toFixed(0)} | ` +
        `${r.streamedGBs[0].toFixed(2)} / ${r.streamedGBs[1].toFixed(2)} (${(100 * r.streamedGBs[0] * 1e9 / copy).toFixed(0)}% / ${(100 * r.streamedGBs[1] * 1e9 / copy).toFixed(0)}%) |`);
    }
    console.log('\nllama.cpp runs node-llama-cpp\'s prebuilt CPU build in a node process (its RSS includes node, ~45 MiB). ' +
      'Its threads spin while they wait for each other, so on a machine whose other load leaves fewer free cores than --threads its rates collapse; compare on a quiet machine.');
  }
  if (!o.keep) fs.rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}

main().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exit(1);
});
