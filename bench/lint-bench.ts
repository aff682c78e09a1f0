// Benchmark: the JSONL linter on a generated ~100 MB file against, in the same run and on the
// same data, a bare loop that only splits lines and calls JSON.parse, and `jq -c .` on an
// error-free copy. Also measures the extension host's event-loop delay while the worker lints
// and the process's peak memory. Run: `npm run bench:lint` (after `npx tsc -p .`).
// Options: --mb N (file size, default 100), --keep (leave the files in the temp folder).

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { lintInWorker } from '../src/core/dataset/lint-client';
import { lintFile } from '../src/core/dataset/stream-lint';

// ---- deterministic data generation ----

let seed = 0x2545f491;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
const WORDS = 'the model learns from examples of a task and adapts its weights with low rank updates while the base stays frozen data quality matters more than size so clean duplicates and check every record carefully before training on your own machine'.split(' ');
const UNICODE = ['caffè', 'naïve', '数据', 'Ελληνικά', 'emoji 🙂', 'København'];
function words(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rand() < 0.02 ? UNICODE[Math.floor(rand() * UNICODE.length)] : WORDS[Math.floor(rand() * WORDS.length)]);
  return out.join(' ');
}
/** Word counts with a long tail: most records are short, a few are very long. */
function length(): number {
  const r = rand();
  if (r < 0.6) return 10 + Math.floor(rand() * 60);
  if (r < 0.9) return 70 + Math.floor(rand() * 300);
  if (r < 0.995) return 370 + Math.floor(rand() * 1500);
  return 2000 + Math.floor(rand() * 6000);
}

function record(): object {
  const r = rand();
  if (r < 0.45) {
    const turns: object[] = rand() < 0.5 ? [{ role: 'system', content: words(12) }] : [];
    const rounds = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < rounds; i++) turns.push({ role: 'user', content: words(length() / 3) }, { role: 'assistant', content: words(length()) });
    return { messages: turns };
  }
  if (r < 0.6) return { instruction: words(15), input: rand() < 0.5 ? '' : words(length() / 2), output: words(length()) };
  if (r < 0.7) return { conversations: [{ from: 'human', value: words(length() / 3) }, { from: 'gpt', value: words(length()) }] };
  if (r < 0.8) return { input: rand() < 0.2 ? '' : words(20), output: words(length()) };
  if (r < 0.85) return { question: words(15), answer: words(length()) };
  if (r < 0.95) return { text: words(length() * 2) };
  return { prompt: words(20), chosen: words(length()), rejected: words(length()) };
}

/** A broken variant of a valid line (about 1 in 500 lines): what real files get wrong. */
function broken(line: string): string {
  const k = Math.floor(rand() * 5);
  if (k === 0) return line.slice(0, Math.floor(line.length / 2)); // truncated
  if (k === 1) return line.replace(/}$/, ',}'); // trailing comma
  if (k === 2) return line.replace('"role":"user"', '"role":"assistant"'); // role order
  if (k === 3) return line.replace(/"([a-z]+)":"/, '"$1":""," extra":"'); // empty + extra field
  return '{"foo": 1}'; // unknown format
}

function generate(dir: string, targetBytes: number): { file: string; valid: string; lines: number } {
  const file = join(dir, 'dataset.jsonl');
  const valid = join(dir, 'dataset.valid.jsonl');
  const fd = openSync(file, 'w');
  const fdValid = openSync(valid, 'w');
  let bytes = 0;
  let lines = 0;
  const recent: string[] = [];
  let batch: string[] = [];
  let batchValid: string[] = [];
  const flush = (): void => {
    writeSync(fd, batch.join(''));
    writeSync(fdValid, batchValid.join(''));
    batch = [];
    batchValid = [];
  };
  while (bytes < targetBytes) {
    let line = JSON.stringify(record());
    const r = rand();
    if (r < 0.005 && recent.length) line = recent[Math.floor(rand() * recent.length)]; // duplicate
    recent.push(line);
    if (recent.length > 1000) recent.shift();
    batchValid.push(line + '\n');
    if (r > 0.998) line = broken(line);
    batch.push(line + '\n');
    bytes += Buffer.byteLength(line) + 1;
    lines++;
    if (batch.length >= 2000) flush();
  }
  flush();
  closeSync(fd);
  closeSync(fdValid);
  return { file, valid, lines };
}

// ---- measurements ----

function bareLoop(file: string): { ms: number; parsed: number } {
  const t0 = performance.now();
  const text = readFileSync(file, 'utf8');
  let parsed = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      JSON.parse(line);
      parsed++;
    } catch {
      // counted as not parsed
    }
  }
  return { ms: performance.now() - t0, parsed };
}

function jq(file: string): number | undefined {
  const probe = spawnSync('jq', ['--version']);
  if (probe.error || probe.status !== 0) return undefined;
  const t0 = performance.now();
  execFileSync('sh', ['-c', `jq -c . "${file}" >/dev/null`], { stdio: 'inherit' });
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mbArg = args.indexOf('--mb');
  const mb = mbArg >= 0 ? Number(args[mbArg + 1]) : 100;
  const keep = args.includes('--keep');
  const dir = mkdtempSync(join(tmpdir(), 'tuner-lint-bench-'));
  const workerPath = resolve(__dirname, '../src/core/dataset/lint-worker.js');
  try {
    const g0 = performance.now();
    const { file, valid, lines } = generate(dir, mb * 1024 * 1024);
    const size = statSync(file).size;
    console.log(`generated ${(size / 1048576).toFixed(1)} MB, ${lines.toLocaleString('en-US')} lines in ${((performance.now() - g0) / 1000).toFixed(1)} s`);

    // Worker lint first, so peak memory reflects the linter rather than the bare loop's string.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    let progressEvents = 0;
    delay.enable();
    const w0 = performance.now();
    const result = await lintInWorker(workerPath, { filePath: file }, { nearDuplicates: false }, () => progressEvents++);
    const workerMs = performance.now() - w0;
    delay.disable();
    const rssAfterLint = process.resourceUsage().maxRSS / 1024;

    const i0 = performance.now();
    const inProcess = lintFile(file, {});
    const inProcessMs = performance.now() - i0;

    const bare = bareLoop(file);
    const jqMs = jq(valid);

    const counts = Object.entries(inProcess.stats?.problemCounts ?? {}).map(([c, n]) => `${c}:${n}`).join(' ');
    console.log(`records ${result.records.toLocaleString('en-US')}, format ${result.format}, problems ${counts}`);
    console.log(`bare split+JSON.parse : ${bare.ms.toFixed(0)} ms (${bare.parsed.toLocaleString('en-US')} parsed)`);
    console.log(`lint (in process)     : ${inProcessMs.toFixed(0)} ms  ratio vs bare ${(inProcessMs / bare.ms).toFixed(2)}x`);
    console.log(`lint (worker, stream) : ${workerMs.toFixed(0)} ms  ratio vs bare ${(workerMs / bare.ms).toFixed(2)}x  (${progressEvents} progress events)`);
    if (jqMs !== undefined) {
      console.log(`jq -c . (valid copy)  : ${jqMs.toFixed(0)} ms  lint/jq ${(inProcessMs / jqMs).toFixed(2)}x (worker ${(workerMs / jqMs).toFixed(2)}x)`);
    } else {
      console.log('jq -c . (valid copy)  : jq not installed, skipped');
    }
    console.log(`event-loop delay while the worker linted: max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms (target < 50 ms)`);
    console.log(`peak RSS after the worker lint: ${rssAfterLint.toFixed(0)} MB for a ${(size / 1048576).toFixed(0)} MB file`);
    const ok = inProcessMs <= 1.5 * bare.ms && (jqMs === undefined || inProcessMs < jqMs) && delay.max / 1e6 < 50;
    console.log(ok ? 'targets met' : 'targets NOT met');
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`files kept in ${dir}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
