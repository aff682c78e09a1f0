// The playground outside VS Code: the core PlaygroundController with real inference workers, a
// real trained run, real tuner-export and tuner-generate. Base and tuned side by side, streaming,
// Stop, copy as command, merge and GGUF export (loaded back in our engine and in llama.cpp),
// and every bad input as a message, with the workers killed and restarted on the way.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { loadTokenizer } from '../../src/core/model/tokenizer';
import type { PlaygroundController } from '../../src/core/playground/controller';
import type { ModelChoice, PlaygroundPrompt } from '../../webview/protocol';
import { LlamaCppPeer } from './llama-cpp-peer';
import { writeModelWithTokenizer } from './export-fixtures';
import { controllerFor, GREEDY, RecordingHost, trainTinyRun, writeEndlessModel } from './playground-fixtures';
import { tempDir } from './trainer-fixtures';

const ANSWERS = ['paris', 'madrid', 'rome', 'berlin', 'four', 'two', 'eight', 'blue', 'green', 'white'];
const chat = (q: string): PlaygroundPrompt => ({ type: 'chat', messages: [{ role: 'user', content: q }] });

let ws: string;
let runId: string;
let host: RecordingHost;
let pg: PlaygroundController;
let models: ModelChoice[];
let tuned: ModelChoice;
let seq = 0;

async function generate(requests: { side: 0 | 1; prompt: PlaygroundPrompt }[], sampling = GREEDY) {
  const genId = `g${++seq}`;
  const from = host.posted.length;
  await pg.handle({ v: 1, type: 'generate', genId, requests, sampling, history: { mode: 'chat', text: 'q', at: seq } });
  const done = host.of('done', from).filter((d) => d.genId === genId);
  const errors = host.of('genError', from).filter((d) => d.genId === genId);
  const tokens = (side: number) => host.of('token', from).filter((t) => t.genId === genId && t.side === side);
  return { done, errors, tokens, side: (s: number) => done.find((d) => d.side === s) };
}

async function load(side: 0 | 1, modelId: string, quant: 'f32' | 'q8_0' | 'q4_0' = 'f32', force = false) {
  await pg.handle({ v: 1, type: 'load', side, modelId, quant, force });
  return pg.sides[side].status;
}

before(async () => {
  ws = tempDir('playground');
  runId = await trainTinyRun(ws, 120);
  host = new RecordingHost(ws);
  pg = controllerFor(host);
  await pg.handle({ v: 1, type: 'ready' });
  models = host.of('init')[0].models;
  tuned = models.find((m) => m.label === 'final adapter')!;
});

after(async () => {
  await pg?.dispose();
});

test('the run\'s final adapter and checkpoints are listed newest first with step and losses; base and tuned load with their costs', async () => {
  const run = models.filter((m) => m.runId === runId).map((m) => m.label);
  assert.deepEqual(run, ['final adapter', 'checkpoint step 120', 'checkpoint step 60']);
  assert.match(tuned.description, /^step 120 · loss \d\.\d{3} · eval loss \d\.\d{3}$/);
  assert.ok(tuned.adapter && tuned.baseId, 'an adapter, with its base listed');
  const base = await load(0, tuned.baseId!);
  const t = await load(1, tuned.id);
  for (const s of [base, t]) {
    assert.equal(s.phase, 'ready', JSON.stringify(s));
    assert.ok(s.loaded!.loadMs > 0 && s.loaded!.residentBytes > 10_000_000 && s.loaded!.weightBytes > 0 && s.loaded!.kvCacheBytes > 0);
    assert.equal(s.loaded!.contextLength, 64);
  }
  assert.ok(t.loaded!.weightBytes > base.loaded!.weightBytes, 'the adapter adds its LoRA weights');
  assert.ok(pg.sides[0].pid && pg.sides[1].pid && pg.sides[0].pid !== pg.sides[1].pid, 'one inference process per side');
});

test('base and tuned answer the same prompt together, streamed token by token; the tuned one answers as the data taught it', async () => {
  for (const q of ['what is the capital of france ?', 'how many legs does a spider have ?', 'what is the colour of snow ?']) {
    const r = await generate([{ side: 0, prompt: chat(q) }, { side: 1, prompt: chat(q) }]);
    assert.deepEqual(r.errors, []);
    const [b, t] = [r.side(0)!, r.side(1)!];
    for (const s of [0, 1]) assert.equal(r.tokens(s).map((x) => x.text).join(''), r.side(s)!.text, 'the streamed pieces add up to the answer');
    assert.match(t.text.trim(), new RegExp(`^(${ANSWERS.join('|')}) \\.$`), `tuned answer to "${q}": ${JSON.stringify(t.text)}`);
    assert.equal(t.stats.reason, 'eos', 'and then ends its turn');
    assert.doesNotMatch(b.text.trim(), new RegExp(`^(${ANSWERS.join('|')}) \\.$`), `base answer: ${JSON.stringify(b.text)}`);
    assert.ok(t.stats.timeToFirstTokenMs! > 0 && t.stats.generatedTokens >= 2 && t.stats.promptTokens > 5);
  }
  assert.equal(host.history[0].text, 'q', 'the prompt is in the workspace history');
});

test('copy as command: tuner-generate run from the copied line produces the tokens the playground generated', async () => {
  const q = 'how many legs does a cat have ?';
  const r = await generate([{ side: 1, prompt: chat(q) }]);
  const line = await pg.copyCommand(1, chat(q), GREEDY);
  assert.equal(host.clipboard, line);
  const out = JSON.parse(execFileSync('sh', ['-c', line!.trimEnd().split('\n').at(-1)!], { encoding: 'utf8' }).trim().split('\n').at(-1)!) as { ids: number[]; stop: string };
  const tok = loadTokenizer(path.join(ws, 'tiny', 'model'));
  const ids = out.stop === 'stop_id' ? out.ids.slice(0, -1) : out.ids;
  // Decoded after the prompt, as the worker streams text (a word-level tokenizer joins with a space).
  const prompt = /--ids ([\d,]+)/.exec(line!)![1].split(',').map(Number);
  const text = tok.decode([...prompt, ...ids], { cleanUpSpaces: false }).slice(tok.decode(prompt, { cleanUpSpaces: false }).length);
  assert.equal(text, r.side(1)!.text);
});

test('Stop ends a generation within a token or two, and the side keeps working', async () => {
  const endless = writeEndlessModel(path.join(ws, 'models', 'endless'));
  await pg.handle({ v: 1, type: 'refresh' });
  assert.equal((await load(0, `model:${endless}`)).phase, 'ready');
  const genId = `g${++seq}`;
  const from = host.posted.length;
  const running = pg.handle({ v: 1, type: 'generate', genId, requests: [{ side: 0, prompt: { type: 'text', text: 'what is the' } }], sampling: { ...GREEDY, max_new_tokens: 3000 }, history: { mode: 'text', text: 'what is the', at: 1 } });
  await host.waitFor('20 tokens', () => (host.of('token', from).length >= 20 ? true : undefined));
  await pg.handle({ v: 1, type: 'stop', genId });
  await running;
  const done = host.of('done', from)[0];
  assert.equal(done.stats.reason, 'cancelled');
  assert.ok(done.stats.generatedTokens < 3000, 'it stopped early');
  // What this process has seen lags the worker on a busy machine; the worker's own clock says how
  // long stopping took once it read Stop: about a token at most.
  const msPerToken = 1000 / done.stats.tokensPerS!;
  assert.ok(done.stats.cancelMs !== undefined && done.stats.cancelMs <= 3 * msPerToken + 100, `stopped ${done.stats.cancelMs} ms after the worker read Stop (${msPerToken.toFixed(1)} ms per token)`);
  const again = await generate([{ side: 0, prompt: { type: 'text', text: 'what is the' } }], { ...GREEDY, max_new_tokens: 5 });
  assert.equal(again.side(0)!.stats.generatedTokens, 5);
});

test('merge and GGUF export write under the run; the merged folder answers as the adapter does; llama.cpp loads the GGUF', async () => {
  await load(1, tuned.id);
  const job = pg.startExport(1, 'merge', 'f16')!;
  const merged = await job.result;
  assert.equal(merged.out, path.join(ws, 'runs', runId, 'exports', 'merged-final'));
  assert.ok(fs.existsSync(path.join(merged.out, 'model.safetensors')) && fs.existsSync(path.join(merged.out, 'tokenizer.json')));
  assert.equal(host.finished.at(-1)?.result.out, merged.out, 'the editor is told, to offer Open Folder');
  const listed = host.of('models').at(-1)!.models.find((m) => m.kind === 'merged')!;
  assert.equal(listed.path, merged.out);
  const q = chat('what is the colour of grass ?');
  const viaAdapter = (await generate([{ side: 1, prompt: q }])).side(1)!.text;
  assert.equal((await load(0, listed.id)).phase, 'ready');
  assert.equal((await generate([{ side: 0, prompt: q }])).side(0)!.text, viaAdapter, 'merged = base + adapter on the fly');

  // The tiny run's word-level tokenizer has no GGUF form: the job fails saying so.
  await assert.rejects(pg.startExport(1, 'gguf', 'f16')!.result);
  const refused = host.of('job').at(-1)!.job;
  assert.equal(refused.phase, 'failed');
  assert.match(refused.message, /tokenizer model "WordLevel" is not supported for GGUF export/);
  assert.equal(fs.existsSync(path.join(ws, 'runs', runId, 'exports', 'final-f16.gguf')), false, 'nothing half-written is left');
});

test('GGUF export of a model with a real tokenizer: progress, the file under exports/, llama.cpp generates what we generate', async () => {
  const dir = writeModelWithTokenizer(path.join(ws, 'models', 'gpt2-tiny'), { tokenizer: 'gpt2', hidden: 64, heads: 4, kvHeads: 2, intermediate: 96, maxPos: 128, seed: 3 });
  await pg.handle({ v: 1, type: 'refresh' });
  assert.equal((await load(0, `model:${dir}`, 'f16' as never)).phase, 'ready');
  const from = host.posted.length;
  const gguf = await pg.startExport(0, 'gguf', 'f16')!.result;
  assert.equal(gguf.out, path.join(ws, 'exports', 'gpt2-tiny-f16.gguf'));
  assert.equal(fs.readFileSync(gguf.out).subarray(0, 4).toString('latin1'), 'GGUF');
  const jobs = host.of('job', from);
  assert.ok(jobs.some((j) => j.job.phase === 'running' && /writing GGUF f16/.test(j.job.message)), 'progress names the stage');
  assert.deepEqual([jobs.at(-1)!.job.phase, jobs.at(-1)!.job.out], ['done', 'exports/gpt2-tiny-f16.gguf']);
  assert.ok(host.of('models').at(-1)!.exports.some((x) => x.path === gguf.out && x.kind === 'gguf'), 'the export is listed');
  const ours = await generate([{ side: 0, prompt: { type: 'text', text: 'The capital of France is' } }], { ...GREEDY, max_new_tokens: 4 });
  const peer = await LlamaCppPeer.open();
  const m = await peer.load(gguf.out, { contextSize: 128, threads: 1 });
  try {
    const tok = loadTokenizer(dir);
    const ids = await m.greedy(tok.encode('The capital of France is'), 4);
    assert.equal(tok.decode(ids, { cleanUpSpaces: false }), ours.side(0)!.text, 'llama.cpp on the exported file continues as the playground did');
  } finally {
    await m.dispose();
  }
  // For Ollama: the GGUF and a Modelfile naming it, in one folder.
  const ollama = await pg.startExport(0, 'ollama', 'q4_0')!.result;
  assert.equal(ollama.out, path.join(ws, 'exports', 'ollama-gpt2-tiny-q4_0'));
  assert.equal(ollama.ollamaName, 'tuner-gpt2-tiny');
  assert.deepEqual(fs.readdirSync(ollama.out).sort(), ['Modelfile', 'model-q4_0.gguf']);
  assert.match(fs.readFileSync(path.join(ollama.out, 'Modelfile'), 'utf8'), /^FROM \.\/model-q4_0\.gguf$/m);
});

test('a cancelled export removes its partial output; exports outside a workspace are refused', async () => {
  const job = pg.startExport(1, 'gguf', 'q8_0')!;
  job.cancel();
  await assert.rejects(job.result);
  assert.equal(host.of('job').filter((j) => j.job.id === job.plan.out || j.job.phase === 'cancelled').at(-1)?.job.phase, 'cancelled');
  assert.equal(fs.existsSync(job.plan.out), false);
  const lone = new RecordingHost(undefined);
  const c = controllerFor(lone);
  c.sides[0].status = { side: 0, phase: 'ready', modelId: tuned.id };
  c.refreshCatalog();
  assert.equal(c.startExport(0, 'gguf', 'q4_0'), undefined);
  assert.match(lone.of('job')[0].job.message, /pick a model|no folder is open/);
});

test('bad input is a message in the panel, never a hang: deleted checkpoint, missing base, too big, prompt too long, worker killed', async () => {
  // A checkpoint deleted after the list was made.
  const ck = models.find((m) => m.label === 'checkpoint step 60')!;
  fs.rmSync(ck.path, { recursive: true });
  let s = await load(1, ck.id);
  assert.equal(s.phase, 'error');
  assert.match(s.error!.message, /does not exist any more/);
  // An adapter whose base model folder is gone.
  const base = path.join(ws, 'tiny', 'model');
  fs.renameSync(base, `${base}.away`);
  try {
    s = await load(1, tuned.id);
    assert.match(s.error!.message, /base model of this adapter, .*tiny\/model, is missing/);
    assert.match(s.error!.hint, /model_dir/);
  } finally {
    fs.renameSync(`${base}.away`, base);
  }
  // Too big for the memory there is: a warning first, loading only when asked.
  const small = controllerFor(host, { availableMemory: () => 1024 * 1024 });
  await small.handle({ v: 1, type: 'refresh' });
  await small.load(0, tuned.id, 'f32', false);
  assert.match(small.sides[0].status.memoryWarning!, /needs about .* but only 1 MiB of memory is available/);
  assert.equal(small.sides[0].status.phase, 'empty', 'nothing was loaded');
  await small.load(0, tuned.id, 'q8_0', true);
  assert.equal(small.sides[0].status.phase, 'ready');
  assert.equal(small.sides[0].status.loaded!.quant, 'q8_0');
  await small.dispose();
  // A prompt longer than the context (64 tokens).
  assert.equal((await load(1, tuned.id)).phase, 'ready');
  const long = await generate([{ side: 1, prompt: chat('what is the capital of france ? '.repeat(20)) }]);
  assert.match(long.errors[0].message, /the prompt is \d+ tokens, but the model was loaded with a context of 64/);
  assert.match(long.errors[0].hint, /Shorten the prompt/);
  // The worker killed (as the kernel's OOM killer would): the side says so, loading again works.
  process.kill(pg.sides[1].pid!, 'SIGKILL');
  await host.waitFor('the side reports the dead worker', () => (pg.sides[1].status.phase === 'error' ? true : undefined));
  assert.match(pg.sides[1].status.error!.message, /killed by SIGKILL/);
  assert.equal((await load(1, tuned.id)).phase, 'ready');
  assert.equal((await generate([{ side: 1, prompt: chat('what is the colour of snow ?') }])).done.length, 1);
  // Sampling out of range is refused before it reaches a worker.
  const bad = await generate([{ side: 1, prompt: chat('x') }], { ...GREEDY, top_p: 2 });
  assert.match(bad.errors[0].message, /Top-p must be more than 0 and at most 1/);
});

test('Restricted Mode: nothing loads, generates or exports', async () => {
  host.isTrusted = false;
  try {
    const s = await load(0, tuned.id);
    assert.match(s.error!.message, /Restricted Mode/);
    const r = await generate([{ side: 1, prompt: chat('hello') }]);
    assert.match(r.errors[0].message, /Restricted Mode/);
    assert.equal(pg.startExport(1, 'gguf', 'q4_0'), undefined);
  } finally {
    host.isTrusted = true;
  }
});
