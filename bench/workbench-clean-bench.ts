// Cleaning benchmark: writes a synthetic JSONL file (default 1024 MB: prompt/answer records of
// about 1 KB from three sources, with e-mails, phone numbers and URLs, 4% exact and 4% near
// duplicates), cleans it with a typical recipe (normalise, personal data, exact and near
// duplicates, a 5% eval split) and prints time, MB/s and peak RSS. Peer, measured in the same
// run on the same file: a plain line-by-line copy (the same line reader, buffered writes). Each
// side runs in its own process so its peak RSS is its own; the ratios say what cleaning costs
// over reading and writing the data, and that memory stays bounded by the kept hashes and
// signatures rather than by the data.
//
//   npm run build:ts && npm run bench:workbench-clean -- [--mb 1024] [--keep]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readLines } from '../src/core/dataset/prepare';
import { formatBytes, formatCount, formatDuration, significant } from '../src/core/units';
import { AtomicLines } from '../src/core/workbench/clean/atomic-lines';
import { cleanDataset } from '../src/core/workbench/clean/pipeline';
import { defaultRecipe, type Recipe } from '../src/core/workbench/clean/recipe';
import { seededRandom } from '../src/core/workbench/split';
import { parseBenchOptions } from './bench-options';

interface Options {
  mb: number;
  keep: boolean;
}

function writeDataset(file: string, bytes: number): number {
  const random = seededRandom(11);
  const syllables = ['ka', 'lo', 'ra', 'tin', 'mo', 'se', 'qua', 'der', 'ni', 'po', 'ul', 'ex', 'ta', 'vi', 'gon', 'el', 'ar', 'is', 'bre', 'st'];
  const words = ['the', 'a', 'of', 'to', 'and', 'in', 'is', 'that', 'for', 'it', 'with', 'as', 'on', 'model', 'data', 'train'];
  while (words.length < 8000) {
    let w = '';
    for (let i = 0, k = 1 + Math.floor(random() * 4); i < k; i++) w += syllables[Math.floor(random() * syllables.length)];
    words.push(w);
  }
  const sentence = (n: number) => Array.from({ length: n }, () => words[Math.floor(words.length * random() ** 2)]).join(' ') + '.';
  const sources = ['forum', 'docs', 'mail'];
  const fd = fs.openSync(file, 'w');
  const recent: { input: string; output: string }[] = [];
  let written = 0, rows = 0, buf = '';
  while (written < bytes) {
    let rec: { input: string; output: string };
    const roll = random();
    if (roll < 0.04 && recent.length > 0) {
      rec = { ...recent[Math.floor(random() * recent.length)] };
    } else if (roll < 0.08 && recent.length > 0) {
      const base = recent[Math.floor(random() * recent.length)];
      const w = base.output.split(' ');
      for (let e = 0; e < 3; e++) w[Math.floor(random() * w.length)] = words[Math.floor(random() * words.length)];
      rec = { input: base.input, output: w.join(' ') };
    } else {
      const parts = [sentence(40), sentence(60), sentence(40)];
      if (random() < 0.2) parts.push(`Write to user${rows}@example.com or call +1 415-555-${String(rows % 10000).padStart(4, '0')}.`);
      if (random() < 0.2) parts.push(`See https://docs.example.com/page/${rows}.`);
      rec = { input: sentence(12 + Math.floor(random() * 20)), output: parts.join('  ') };
      if (recent.length < 2000) recent.push(rec);
      else recent[Math.floor(random() * recent.length)] = rec;
    }
    buf += JSON.stringify({ ...rec, source: sources[rows % 3] }) + '\n';
    rows++;
    if (buf.length > 1 << 20) {
      written += fs.writeSync(fd, buf);
      buf = '';
    }
  }
  if (buf) fs.writeSync(fd, buf);
  fs.closeSync(fd);
  return rows;
}

function typicalRecipe(): Recipe {
  return { ...defaultRecipe(), split: { evalRatio: 0.05, stratify: true } };
}

/** One side, in this (child) process: prints seconds, peak RSS and records as JSON. */
function runSide(side: string, input: string, outDir: string): void {
  const started = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let records = 0;
  if (side === 'copy') {
    const out = new AtomicLines(path.join(outDir, 'copy.jsonl'));
    for (const { text } of readLines(input)) {
      out.write(text);
      records++;
    }
    out.commit();
  } else {
    const r = cleanDataset({ input, recipe: typicalRecipe(), recipeDir: outDir, outDir });
    records = r.records;
    console.error(`clean: ${formatCount(r.records)} in, ${formatCount(r.train)} train, ${formatCount(r.eval)} eval, ${formatCount(r.removed)} removed (${r.steps.map((s) => `${s.title} ${formatCount(s.in - s.out)}`).join(', ')})`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes: process.resourceUsage().maxRSS * 1024, records }));
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] === '--side') return runSide(argv[1], argv[2], argv[3]);
  const o = parseBenchOptions<Options>(argv, { mb: 1024, keep: false }, { file: 'bench/workbench-clean-bench.ts', numeric: { '--mb': 'mb' }, flags: { '--keep': 'keep' } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-clean-bench-'));
  const input = path.join(dir, 'data.jsonl');
  try {
    const t0 = Date.now();
    const rows = writeDataset(input, o.mb * 1024 * 1024);
    const size = fs.statSync(input).size;
    console.log(`data: ${formatBytes(size)}, ${formatCount(rows)} records, written in ${formatDuration((Date.now() - t0) / 1000)}`);
    const side = (name: string) => JSON.parse(execFileSync(process.execPath, [__filename, '--side', name, input, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 })) as { seconds: number; cpuSeconds: number; rssBytes: number; records: number };
    const copy = side('copy');
    const clean = side('clean');
    const mbps = (s: number) => `${significant(size / 1048576 / s, 3)} MB/s`;
    // CPU time is shown too: on a shared machine the wall time includes waiting for a core.
    console.log(`copy  (peer): ${formatDuration(copy.seconds)} wall, ${formatDuration(copy.cpuSeconds)} CPU, ${mbps(copy.seconds)}, peak RSS ${formatBytes(copy.rssBytes)}`);
    console.log(`clean:        ${formatDuration(clean.seconds)} wall, ${formatDuration(clean.cpuSeconds)} CPU, ${mbps(clean.seconds)}, peak RSS ${formatBytes(clean.rssBytes)}`);
    console.log(`clean / copy: wall time ×${significant(clean.seconds / copy.seconds, 3)}, CPU time ×${significant(clean.cpuSeconds / copy.cpuSeconds, 3)}, peak RSS ×${significant(clean.rssBytes / copy.rssBytes, 3)}; clean's peak RSS is ${significant((100 * clean.rssBytes) / size, 3)}% of the file`);
  } finally {
    if (!o.keep) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}

main();
