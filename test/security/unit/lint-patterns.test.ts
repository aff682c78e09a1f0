// Every content pattern of the dataset linter stays linear on input built to defeat it: a
// dataset line is attacker-controlled text, and a pattern that backtracks over it would freeze
// the thread linting it (the extension host's, for a small file). Each case is a 1 MB line
// aimed at one pattern (long runs of the characters a quantifier accepts, with the character
// that would complete a match left out); it is scanned once to warm up on a 64 KB cut of the
// same line, then the CPU time of one scan of the whole line is measured (CPU time, so a busy
// machine does not make a linear scan look slow). A case runs in its own process, so a pattern
// that does backtrack fails the test at a deadline instead of hanging the suite.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, test } from 'node:test';

const CONTENT_CHECKS = path.join(__dirname, '..', '..', '..', 'src', 'core', 'dataset', 'content-checks.js');
const LINE_BYTES = 1 << 20;
/** A linear scan of 1 MB takes a few milliseconds of CPU (at most ~35 on a 2-core laptop); a backtracking one, seconds to hours. */
const LIMIT_MS = 100;
/** A pattern that backtracks takes minutes on 1 MB; the case fails here instead. */
const DEADLINE_MS = 10_000;

interface Case {
  pattern: 'e-mail' | 'URL' | 'HTML tag' | 'HTML entity' | 'phone' | 'placeholder' | 'template marker' | 'control escape';
  what: string;
  /** The line is prefix + unit repeated to 1 MB + suffix. */
  prefix?: string;
  unit: string;
  suffix?: string;
}

const CASES: Case[] = [
  { pattern: 'e-mail', what: '"@" then letters (no dot)', prefix: '@', unit: 'a' },
  { pattern: 'e-mail', what: 'letters then "@"', unit: 'a', suffix: '@' },
  { pattern: 'e-mail', what: 'local part, "@", repeated', unit: 'a@' },
  { pattern: 'e-mail', what: 'one-letter labels (no top-level domain)', prefix: 'x@', unit: 'a.' },
  { pattern: 'e-mail', what: 'labels ending in a digit', prefix: 'x@', unit: 'ab1.' },
  { pattern: 'e-mail', what: 'hyphens after "@"', prefix: 'x@', unit: '-' },
  { pattern: 'e-mail', what: 'local-part symbols around "@"', unit: '.%+-@' },
  { pattern: 'e-mail', what: 'address-like runs without a top-level domain', unit: 'a@b.c ' },
  { pattern: 'URL', what: 'scheme then a 1 MB path', prefix: 'http://', unit: 'a' },
  { pattern: 'URL', what: '"www." then letters (no dot)', prefix: 'www.', unit: 'a' },
  { pattern: 'URL', what: '"www." repeated with hyphens', unit: 'www.-' },
  { pattern: 'URL', what: 'broken schemes repeated', prefix: '://', unit: 'http:/' },
  { pattern: 'URL', what: '"://" repeated', unit: '://' },
  { pattern: 'HTML tag', what: 'an open tag never closed', prefix: '<a', unit: ' ' },
  { pattern: 'HTML tag', what: 'open tags repeated', unit: '<a ' },
  { pattern: 'HTML tag', what: '"</" repeated', unit: '</' },
  { pattern: 'HTML tag', what: '"<" repeated', unit: '<' },
  { pattern: 'HTML tag', what: 'tag-name prefixes repeated', unit: '<blockquot' },
  { pattern: 'HTML entity', what: 'a numeric entity never closed', prefix: '&#', unit: '1' },
  { pattern: 'HTML entity', what: '"&#x" repeated', unit: '&#x' },
  { pattern: 'HTML entity', what: '"&" repeated', unit: '&' },
  { pattern: 'phone', what: 'digits', unit: '1' },
  { pattern: 'phone', what: 'digit groups with separators', unit: '12 ' },
  { pattern: 'phone', what: 'area codes repeated', unit: '(12)' },
  { pattern: 'phone', what: 'country codes repeated', unit: '+1 ' },
  { pattern: 'phone', what: 'almost-numbers repeated', unit: '+123 (1234) 1234-' },
  { pattern: 'placeholder', what: 'placeholder prefixes repeated', unit: '{{nam' },
  { pattern: 'placeholder', what: 'placeholders repeated', unit: '{{name}}' },
  { pattern: 'template marker', what: '"{{" then text never closed', prefix: '{{', unit: 'a' },
  { pattern: 'template marker', what: '"{{" repeated', unit: '{{' },
  { pattern: 'template marker', what: 'markers of 101 characters repeated', unit: `{{${'a'.repeat(101)}}}` },
  { pattern: 'template marker', what: '"[MODEL" repeated', unit: '[MODEL' },
  { pattern: 'control escape', what: 'terminal colour prefixes repeated', unit: '\\u001b[1;' },
  { pattern: 'control escape', what: '"\\u00" repeated', unit: '\\u00' },
  { pattern: 'control escape', what: 'backslashes', unit: '\\' },
];

/** Runs in the child process: builds the line, warms up, times one scan of the whole line. */
const CHILD_SOURCE = `
const workerData = JSON.parse(process.argv[1]);
const { scanContent, scanControlEscapes } = require(workerData.module);
const c = workerData.case;
const body = c.unit.repeat(Math.ceil(workerData.bytes / c.unit.length));
const line = ((c.prefix || '') + body).slice(0, workerData.bytes - (c.suffix || '').length) + (c.suffix || '');
const opts = { placeholders: ['{{name}}'], templateMarkers: true, modelName: 'Pip', html: true, privacy: true };
const scan = c.pattern === 'control escape' ? (text, hits) => scanControlEscapes(text, hits) : (text, hits) => scanContent(text, opts, hits);
const warm = line.slice(0, 1 << 16) + (c.suffix || '');
for (let i = 0; i < 3; i++) scan(warm, []);
const hits = [];
const t0 = process.cpuUsage();
scan(line, hits);
const t = process.cpuUsage(t0);
process.stdout.write(JSON.stringify({ ms: (t.user + t.system) / 1000, length: line.length, hits: hits.length }));
`;

function timeCase(c: Case): Promise<{ ms: number; length: number; hits: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE, JSON.stringify({ module: CONTENT_CHECKS, case: c, bytes: LINE_BYTES })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${c.pattern} (${c.what}): scanning a 1 MB line did not finish within ${DEADLINE_MS} ms (the pattern backtracks)`));
    }, DEADLINE_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as { ms: number; length: number; hits: number });
      else reject(new Error(`${c.pattern} (${c.what}): the timing process exited with ${code}`));
    });
  });
}

describe('content patterns stay linear on adversarial 1 MB lines', () => {
  for (const c of CASES) {
    test(`${c.pattern}: ${c.what}`, async (t) => {
      const r = await timeCase(c);
      t.diagnostic(`${r.ms.toFixed(1)} ms of CPU, ${r.hits} hits`);
      assert.equal(r.length, LINE_BYTES);
      assert.ok(r.ms < LIMIT_MS, `${c.pattern} (${c.what}): ${r.ms.toFixed(1)} ms of CPU for a 1 MB line, limit ${LIMIT_MS} ms`);
    });
  }
});

describe('bounded content patterns still find what they are for', () => {
  // The unbounded e-mail pattern the linter used before, as the oracle on ordinary text (short
  // lines, where its backtracking costs nothing).
  const ORACLE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
  const TEXTS = [
    'write to ann.lee+news@mail.example.co.uk today',
    'a@b.org and c_d%e@f-g.io, then x@y.z (no top-level domain)',
    '"contact": "support@example.com."',
    'user@localhost has no dot; me@host.com1 ends in a digit',
    'two in a row: a@b.com@c.org',
    '@handle and trailing@ and @@ and a@.com',
  ];

  test('e-mail addresses: the same hits as the unbounded pattern on ordinary text', async () => {
    const { scanContent } = (await import(CONTENT_CHECKS)) as typeof import('../../../src/core/dataset/content-checks');
    for (const text of TEXTS) {
      const hits: { start: number; end: number; rule: string }[] = [];
      scanContent(text, { placeholders: [], templateMarkers: false, html: false, privacy: true }, hits as never);
      const got = hits.filter((h) => text.slice(h.start, h.end).includes('@')).map((h) => text.slice(h.start, h.end));
      const want = [...text.matchAll(ORACLE)].map((m) => m[0]);
      assert.deepEqual(got, want, text);
    }
  });

  test('a record over maxRecordChars is reported as too long and not scanned for content', async () => {
    const { lintText } = (await import(path.join(path.dirname(CONTENT_CHECKS), 'lint.js'))) as typeof import('../../../src/core/dataset/lint');
    const line = JSON.stringify({ text: 'mail a@b.org ' + 'x'.repeat(100) });
    const short = lintText(line + '\n', { maxRecordChars: 1000 }).problems.map((p) => p.code);
    const long = lintText(line + '\n', { maxRecordChars: 50 }).problems.map((p) => p.code);
    assert.ok(short.includes('TUN503'), `content hint expected on a short record: ${short.join(', ')}`);
    assert.ok(long.includes('TUN403'), `record-too-long expected: ${long.join(', ')}`);
    assert.ok(!long.some((c) => c.startsWith('TUN5')), `no content hint on a record over the limit: ${long.join(', ')}`);
  });
});

describe('rendering a record with the chat template stays linear', () => {
  test('a prompt with a 1 MB run of spaces in the middle renders in linear time', async () => {
    const { ChatRenderer, DEFAULT_CHAT_TEMPLATE } = (await import(path.join(path.dirname(CONTENT_CHECKS), 'chat-template.js'))) as typeof import('../../../src/core/dataset/chat-template');
    const renderer = new ChatRenderer(DEFAULT_CHAT_TEMPLATE, { bosToken: null, eosToken: '</s>', specialTokens: ['</s>'] });
    const conv = { turns: [{ role: 'user' as const, content: `x${' '.repeat(LINE_BYTES)}y` }, { role: 'assistant' as const, content: 'ok' }] };
    renderer.render({ turns: [{ role: 'user', content: 'warm' }, { role: 'assistant', content: 'up' }] }, false);
    const t0 = process.cpuUsage();
    const out = renderer.render(conv, false);
    const t = process.cpuUsage(t0);
    assert.ok(out.segments.some((seg) => seg.trained));
    assert.ok((t.user + t.system) / 1000 < 10 * LIMIT_MS, `${((t.user + t.system) / 1000).toFixed(0)} ms of CPU to render a record with a 1 MB run of spaces`);
  });
});
