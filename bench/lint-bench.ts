// Benchmark: the JSONL linter on a generated ~100 MB file against, in the same run and on the
// same data, a bare loop that only splits lines and calls JSON.parse, and `jq -c .` on an
// error-free copy. Also measures the extension host's event-loop delay while the worker lints
// and the process's peak memory. Run: `npm run bench:lint` (after `npx tsc -p .`).
// Options: --mb N (file size, default 100), --keep (leave the files in the temp folder).

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
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

/** CPU time (user + system, all threads of this process) in ms: steadier than wall time on a busy machine. */
function cpuMs(since?: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
}

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

/** Wall and CPU ms of `jq -c .` (CPU from bash's `times` for its children). */
function jq(file: string): { ms: number; cpu: number } | undefined {
  const probe = spawnSync('jq', ['--version']);
  if (probe.error || probe.status !== 0) return undefined;
  const t0 = performance.now();
  const out = execFileSync('bash', ['-c', 'jq -c . "$1" >/dev/null && times', 'jq-bench', file]).toString();
  const ms = performance.now() - t0;
  const children = out.trim().split('\n')[1] ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { ms, cpu: secs.reduce((a, b) => a + b, 0) * 1000 };
}

interface Timings {
  workerMs: number[];
  inProcessMs: number[];
  bareMs: number[];
  jqMs: number[];
  cpu: { worker: number[]; inProcess: number[]; bare: number[]; jq: number[] };
  delayMaxMs: number[];
  delayP99Ms: number[];
  /** Time the main thread's event loop was busy (ELU active) while the worker linted. */
  mainBusyMs: number[];
}

/** Runs in a fresh child process, so the generator's garbage does not disturb the timings. */
async function measure(file: string, valid: string, rounds: number): Promise<void> {
  const workerPath = resolve(__dirname, '../src/core/dataset/lint-worker.js');
  const t: Timings = { workerMs: [], inProcessMs: [], bareMs: [], jqMs: [], delayMaxMs: [], delayP99Ms: [], mainBusyMs: [], cpu: { worker: [], inProcess: [], bare: [], jq: [] } };
  let rssAfterLint = 0;
  let summary = '';
  let progressEvents = 0;
  // Baseline: the event-loop delay of this process doing nothing, so the figure measured while
  // the worker lints can be told apart from the machine's own scheduling noise.
  const idle = monitorEventLoopDelay({ resolution: 10 });
  idle.enable();
  await new Promise((r) => setTimeout(r, 2000));
  idle.disable();
  const idleMaxMs = idle.max / 1e6;
  for (let round = 0; round < rounds; round++) {
    // Worker lint first, so peak memory reflects the linter rather than the bare loop's string.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const elu0 = performance.eventLoopUtilization();
    const w0 = performance.now();
    const wc = process.cpuUsage();
    progressEvents = 0;
    const result = await lintInWorker(workerPath, { filePath: file }, {}, () => progressEvents++);
    t.workerMs.push(performance.now() - w0);
    t.mainBusyMs.push(performance.eventLoopUtilization(elu0).active);
    t.cpu.worker.push(cpuMs(wc));
    delay.disable();
    t.delayMaxMs.push(delay.max / 1e6);
    t.delayP99Ms.push(delay.percentile(99) / 1e6);
    if (round === 0) {
      rssAfterLint = process.resourceUsage().maxRSS / 1024;
      const counts = Object.entries(result.stats?.problemCounts ?? {}).map(([c, n]) => `${c}:${n}`).join(' ');
      summary = `records ${result.records.toLocaleString('en-US')}, format ${result.format}, problems ${counts}`;
    }
    const i0 = performance.now();
    const ic = process.cpuUsage();
    lintFile(file, {});
    t.inProcessMs.push(performance.now() - i0);
    t.cpu.inProcess.push(cpuMs(ic));
    const bc = process.cpuUsage();
    t.bareMs.push(bareLoop(file).ms);
    t.cpu.bare.push(cpuMs(bc));
    if (round < 2) {
      const j = jq(valid);
      if (j !== undefined) {
        t.jqMs.push(j.ms);
        t.cpu.jq.push(j.cpu);
      }
    }
  }
  process.stdout.write(JSON.stringify({ t, rssAfterLint, summary, progressEvents, idleMaxMs }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--measure') {
    await measure(args[1], args[2], Number(args[3]));
    return;
  }
  const mbArg = args.indexOf('--mb');
  const mb = mbArg >= 0 ? Number(args[mbArg + 1]) : 100;
  const roundsArg = args.indexOf('--rounds');
  const rounds = roundsArg >= 0 ? Number(args[roundsArg + 1]) : 3;
  const keep = args.includes('--keep');
  const dir = mkdtempSync(join(tmpdir(), 'tuner-lint-bench-'));
  try {
    const g0 = performance.now();
    const { file, valid, lines } = generate(dir, mb * 1024 * 1024);
    const size = statSync(file).size;
    console.log(`generated ${(size / 1048576).toFixed(1)} MB, ${lines.toLocaleString('en-US')} lines (7 formats, 0.2% broken lines, 0.5% duplicates) in ${((performance.now() - g0) / 1000).toFixed(1)} s`);
    const out = execFileSync(process.execPath, [__filename, '--measure', file, valid, String(rounds)], { maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] });
    const { t, rssAfterLint, summary, progressEvents, idleMaxMs } = JSON.parse(out.toString()) as { t: Timings; rssAfterLint: number; summary: string; progressEvents: number; idleMaxMs: number };
    const best = (xs: number[]): number => Math.min(...xs);
    const bare = best(t.bareMs), inProc = best(t.inProcessMs), worker = best(t.workerMs);
    const all = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join('/');
    console.log(summary);
    console.log(`best of ${rounds} rounds (all rounds in brackets), load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs:`);
    console.log(`bare split+JSON.parse : ${bare.toFixed(0)} ms [${all(t.bareMs)}]`);
    console.log(`lint (in process)     : ${inProc.toFixed(0)} ms [${all(t.inProcessMs)}]  ratio vs bare ${(inProc / bare).toFixed(2)}x`);
    console.log(`lint (worker, stream) : ${worker.toFixed(0)} ms [${all(t.workerMs)}]  ratio vs bare ${(worker / bare).toFixed(2)}x  (${progressEvents} progress events)`);
    if (t.jqMs.length) {
      const jqBest = best(t.jqMs);
      console.log(`jq -c . (valid copy)  : ${jqBest.toFixed(0)} ms [${all(t.jqMs)}]  lint/jq ${(inProc / jqBest).toFixed(2)}x (worker ${(worker / jqBest).toFixed(2)}x)`);
    } else {
      console.log('jq -c . (valid copy)  : jq not installed, skipped');
    }
    const c = t.cpu;
    const cBare = best(c.bare), cIn = best(c.inProcess), cWorker = best(c.worker);
    console.log(`CPU time (all threads): bare ${cBare.toFixed(0)} ms, lint in process ${cIn.toFixed(0)} ms (${(cIn / cBare).toFixed(2)}x), worker ${cWorker.toFixed(0)} ms (${(cWorker / cBare).toFixed(2)}x)` +
      (c.jq.length ? `, jq ${best(c.jq).toFixed(0)} ms (lint/jq ${(cIn / best(c.jq)).toFixed(2)}x)` : ''));
    const maxDelay = Math.max(...t.delayMaxMs);
    console.log(`event-loop delay while the worker linted: max ${maxDelay.toFixed(1)} ms [per round ${all(t.delayMaxMs)}], p99 ${Math.max(...t.delayP99Ms).toFixed(1)} ms (target < 50 ms); idle baseline max ${idleMaxMs.toFixed(1)} ms`);
    console.log(`main thread busy while the worker linted (event-loop utilisation): ${all(t.mainBusyMs)} ms per round, over ${all(t.workerMs)} ms`);
    console.log(`peak RSS after the worker lint: ${rssAfterLint.toFixed(0)} MB for a ${(size / 1048576).toFixed(0)} MB file`);
    const jqOk = t.jqMs.length === 0 || inProc < best(t.jqMs);
    console.log(`targets: lint <= 1.5x bare ${inProc <= 1.5 * bare ? 'met' : 'NOT met'}; faster than jq ${jqOk ? 'met' : 'NOT met'}; event loop < 50 ms ${maxDelay < 50 ? 'met' : 'NOT met'}`);
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    else console.log(`files kept in ${dir}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
