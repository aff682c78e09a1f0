// One llama.cpp measurement for bench/decode-bench.ts, in its own process (so its peak RSS is its
// own, as tuner-generate's is): load a GGUF with node-llama-cpp (CPU prebuilt binaries), prefill
// the prompt in one batch, then decode greedily through node-llama-cpp's streaming evaluate, the
// path an application uses. Prints one JSON line with the same fields tuner-generate prints.
//   node out/bench/llama-cpp-decode.js FILE.gguf PROMPT.json DECODE THREADS CONTEXT
import * as fs from 'node:fs';

import { LlamaCppPeer } from '../test/native/llama-cpp-peer';

async function main(): Promise<void> {
  const [file, promptFile, decodeArg, threadsArg, contextArg] = process.argv.slice(2);
  const prompt = JSON.parse(fs.readFileSync(promptFile, 'utf8')) as number[];
  const decode = Number(decodeArg), threads = Number(threadsArg), context = Number(contextArg);
  const peer = await LlamaCppPeer.open();
  const t0 = performance.now();
  const m = await peer.load(file, { contextSize: context, threads, batchSize: Math.max(prompt.length, 1) });
  const loadMs = performance.now() - t0;
  const seq = m.sequence;
  const ids: number[] = [];
  const start = performance.now();
  let firstAt = 0;
  for await (const tok of seq.evaluate(prompt as never[], { temperature: 0, yieldEogToken: true })) {
    if (ids.length === 0) firstAt = performance.now();
    ids.push(tok as number);
    if (ids.length >= decode) break;
  }
  const end = performance.now();
  const prefillMs = firstAt - start, decodeMs = end - firstAt;
  process.stdout.write(JSON.stringify({
    prompt: prompt.length, ids, load_ms: loadMs, prefill_ms: prefillMs, prefill_tokens_per_s: prompt.length * 1000 / prefillMs,
    decode_ms: decodeMs, decode_tokens_per_s: (ids.length - 1) * 1000 / decodeMs, llama: peer.describe(),
  }) + '\n');
  await m.dispose();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
