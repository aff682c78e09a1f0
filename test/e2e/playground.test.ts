// The playground webview in a real browser (Debian chromium driven by playwright-core, offline):
// the page the extension serves (same HTML builder, same CSP, same bundle from dist/webview), a
// stand-in for the webview host API that records what the page sends, and host messages posted
// as the extension posts them: tokens streamed one at a time, Stop, side by side with the
// differences marked, history, restore after a reload, the empty state, no CSP violation. The
// screenshots are checked in as test/e2e/artifacts/playground*.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { HostToPlayground, ModelChoice, PlaygroundState, PlaygroundToHost, SideStatus } from '../../webview/protocol';
import { ARTIFACTS, serveWebview, type WebviewServer } from './webview-page';


/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

let web: WebviewServer;

const RUN = '20261123-151512';
const BASE_ID = 'model:/w/tiny/model';
const TUNED_ID = `adapter:/w/runs/${RUN}/adapter`;
const MODELS: ModelChoice[] = [
  { id: TUNED_ID, kind: 'adapter', label: 'final adapter', description: 'step 120 · loss 0.927 · eval loss 1.104', group: `Run ${RUN}`, path: `/w/runs/${RUN}/adapter`, adapter: true, runId: RUN, baseId: BASE_ID },
  { id: `adapter:/w/runs/${RUN}/checkpoints/step-00000060`, kind: 'checkpoint', label: 'checkpoint step 60', description: 'step 60 · loss 1.305 · eval loss 1.287', group: `Run ${RUN}`, path: `/w/runs/${RUN}/checkpoints/step-00000060`, adapter: true, runId: RUN, baseId: BASE_ID },
  { id: BASE_ID, kind: 'model', label: 'tiny/model', description: '18.1k params', group: 'Workspace models', path: '/w/tiny/model', adapter: false },
];

const loaded = (side: 0 | 1, modelId: string, over: Partial<NonNullable<SideStatus['loaded']>> = {}): SideStatus => ({
  side,
  phase: 'ready',
  modelId,
  quant: 'q4_0',
  loaded: { modelId, quant: 'q4_0', loadMs: 1254.7, residentBytes: 276_543_210, weightBytes: 41_234_567, kvCacheBytes: 16_777_216, contextLength: 4096, kernel: 'q4_0 avx512-vnni (int8 dot)', architecture: 'LlamaForCausalLM', chatTemplate: 'model', ...over },
});

before(async () => {
  web = await serveWebview('playground', 'Tuner Playground');
});

after(async () => {
  await web?.close();
});

/** Opens the playground with a stand-in webview API (recording what the page sends) and a dark theme. */
function openPlayground(initial?: PlaygroundState, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; problems: string[] }> {
  return web.open(initial, viewport);
}

const post = (page: Page, m: HostToPlayground) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
const sent = (page: Page) => page.evaluate(() => (window as { sent: PlaygroundToHost[] }).sent) as Promise<PlaygroundToHost[]>;
const state = (page: Page) => page.evaluate(() => (window as { state: PlaygroundState }).state) as Promise<PlaygroundState>;
const text = async (page: Page, sel: string) => ((await page.textContent(sel)) ?? '').trim();
const init = (over: Partial<Extract<HostToPlayground, { type: 'init' }>> = {}): HostToPlayground => ({ v: 1, type: 'init', models: MODELS, exports: [], history: [], sides: [{ side: 0, phase: 'empty' }, { side: 1, phase: 'empty' }], workspace: true, trusted: true, ...over });

/** Types into a toolkit text area as a user would (its inner textarea). */
async function typeInto(page: Page, id: string, value: string): Promise<void> {
  await page.locator(`#${id} textarea`).fill(value);
}

test('picking a model loads it; tokens stream in one by one; Stop stops; the numbers read well', async () => {
  const { page, problems } = await openPlayground();
  await post(page, init());
  // Picking a model on side A asks the host to load it (no separate Load step).
  await page.evaluate((id) => {
    const box = document.getElementById('model-0');
    box.value = id;
    box.dispatchEvent(new Event('change'));
  }, TUNED_ID);
  assert.deepEqual((await sent(page)).at(-1), { v: 1, type: 'load', side: 0, modelId: TUNED_ID, quant: 'f32', force: false });
  // Every weight format the engine runs is offered, each with what it means.
  const formats = await page.$$eval('#quant-0 vscode-option', (opts) =>
    opts.map((o) => `${o.getAttribute('value')}: ${o.getAttribute('title')}`));
  assert.deepEqual(formats.map((f) => f.split(':')[0]), ['f32', 'f16', 'bf16', 'q8_0', 'int8', 'q4_0', 'nf4']);
  assert.match(formats[2], /bfloat16.*half the memory.*AVX512_BF16/);
  await post(page, { v: 1, type: 'side', status: { side: 0, phase: 'loading', modelId: TUNED_ID, quant: 'f32' } });
  assert.match(await text(page, '#status-0'), /Loading final adapter \(f32\)/);
  await post(page, { v: 1, type: 'side', status: loaded(0, TUNED_ID) });
  assert.equal(await text(page, '[data-fact="load time"]'), '1.25 s');
  assert.equal(await text(page, '[data-fact="resident memory"]'), '264 MiB');
  assert.equal(await text(page, '[data-fact="context"]'), '4,096 tokens');

  await typeInto(page, 'draft', 'what is the capital of france ?');
  await page.click('#send');
  assert.equal(await page.inputValue('#draft textarea'), '', 'the sent message leaves the box');
  const gen = (await sent(page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
  assert.equal(gen.type, 'generate');
  assert.deepEqual(gen.requests, [{ side: 0, prompt: { type: 'chat', messages: [{ role: 'user', content: 'what is the capital of france ?' }] } }]);
  assert.deepEqual({ t: gen.sampling.temperature, n: gen.sampling.no_repeat_ngram_size }, { t: 0.8, n: 2 }, 'the Balanced preset by default');
  const pieces = [' the', ' capital', ' of', ' france', ' is', ' paris'];
  for (let i = 0; i < pieces.length; i++) {
    await post(page, { v: 1, type: 'token', side: 0, genId: gen.genId, text: pieces[i] });
    assert.equal(await page.textContent('#reply-text-0-0'), pieces.slice(0, i + 1).join(''), `after token ${i + 1}`);
  }
  assert.equal(await page.getAttribute('#reply-text-0-0', 'class'), 'reply-text streaming');
  await page.click('#stop');
  assert.deepEqual((await sent(page)).at(-1), { v: 1, type: 'stop', genId: gen.genId });
  await post(page, { v: 1, type: 'done', side: 0, genId: gen.genId, text: pieces.join(''), stats: { reason: 'cancelled', promptTokens: 30, cachedTokens: 0, generatedTokens: 6, timeToFirstTokenMs: 85.4321, tokensPerS: 23.456789, totalMs: 340, stop: null, cancelMs: 1.7 } });
  assert.equal(await text(page, '#stats-0-0'), 'first token 85 ms · 23.5 tok/s · 6 tokens · prompt 30 · ended: stopped (1.7 ms after Stop)');
  assert.equal(await page.getAttribute('#reply-text-0-0', 'class'), 'reply-text');
  assert.equal((await state(page)).exchanges[0].replies[0], ' the capital of france is paris', 'the reply is kept in the webview state');
  assert.deepEqual(problems, []);
  await page.close();
});

test('side by side: both sides get the same prompt; the words only one said are marked; edit and resend drops later turns', async () => {
  const { page, problems } = await openPlayground();
  await post(page, init());
  await page.click('#side-by-side');
  assert.equal((await state(page)).sideBySide, true);
  assert.equal(await page.locator('.side').count(), 2);
  await post(page, { v: 1, type: 'side', status: loaded(0, BASE_ID) });
  await post(page, { v: 1, type: 'side', status: loaded(1, TUNED_ID) });
  await typeInto(page, 'draft', 'how many legs does a spider have ?');
  await page.click('#send');
  const gen = (await sent(page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
  assert.deepEqual(gen.requests.map((r) => r.side), [0, 1]);
  const stats = { reason: 'eos' as const, promptTokens: 13, cachedTokens: 3, generatedTokens: 3, timeToFirstTokenMs: 2.1, tokensPerS: 3656.26, totalMs: 25.6, stop: '</s>' };
  await post(page, { v: 1, type: 'done', side: 0, genId: gen.genId, text: ' spiders have six legs .', stats: { ...stats, reason: 'length' } });
  await post(page, { v: 1, type: 'done', side: 1, genId: gen.genId, text: ' spiders have eight legs .', stats });
  assert.deepEqual(await page.locator('#reply-text-0-0 mark.diff').allTextContents(), ['six ']);
  assert.deepEqual(await page.locator('#reply-text-0-1 mark.diff').allTextContents(), ['eight ']);
  assert.match(await text(page, '#stats-0-1'), /3,656 tok\/s .* ended: end of text$/);
  // A second turn, then edit the first: the second goes, the first is asked again.
  await typeInto(page, 'draft', 'and a cat ?');
  await page.click('#send');
  const second = (await sent(page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
  const msgs = second.requests[1].prompt.type === 'chat' ? second.requests[1].prompt.messages : [];
  assert.deepEqual(msgs.map((m) => m.content), ['how many legs does a spider have ?', ' spiders have eight legs .', 'and a cat ?'], 'side B continues its own conversation');
  for (const side of [0, 1] as const) await post(page, { v: 1, type: 'done', side, genId: second.genId, text: ' four .', stats });
  await page.click('#edit-0');
  await typeInto(page, 'edit-0', 'how many legs does a bird have ?');
  await page.click('#resend-0');
  const resent = (await sent(page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
  assert.deepEqual(resent.requests[0].prompt, { type: 'chat', messages: [{ role: 'user', content: 'how many legs does a bird have ?' }] });
  assert.equal((await state(page)).exchanges.length, 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test('history and sampling settings: a picked prompt fills the draft; a bad value is named and blocks Send', async () => {
  const { page, problems } = await openPlayground();
  await post(page, init({ history: [{ mode: 'chat', text: 'what is the colour of snow ?', system: 'answer in one word', at: 2 }, { mode: 'text', text: 'Once upon a time', at: 1 }] }));
  await post(page, { v: 1, type: 'side', status: loaded(0, BASE_ID) });
  await page.evaluate(() => {
    const box = document.getElementById('history');
    box.value = '0';
    box.dispatchEvent(new Event('change'));
  });
  const s = await state(page);
  assert.deepEqual([s.draft, s.system], ['what is the colour of snow ?', 'answer in one word']);
  assert.equal(await page.inputValue('#draft textarea'), 'what is the colour of snow ?');
  await page.locator('#sampling-top_p input').fill('1.5');
  assert.equal(await text(page, '#sampling-top_p-error'), 'Top-p must be more than 0 and at most 1 (1 = off)');
  assert.equal(await page.getAttribute('#send', 'disabled'), '');
  assert.equal(await text(page, '#send-blocker'), 'Top-p must be more than 0 and at most 1 (1 = off)');
  await page.locator('#sampling-top_p input').fill('0.9');
  assert.equal(await page.getAttribute('#send', 'disabled'), null);
  await page.evaluate(() => {
    const box = document.getElementById('preset');
    box.value = 'greedy';
    box.dispatchEvent(new Event('change'));
  });
  assert.equal((await state(page)).sampling.temperature, 0);
  assert.equal(await page.inputValue('#sampling-temperature input'), '0');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a restored panel shows the conversation again and reloads the models it had loaded', async () => {
  const first = await openPlayground();
  await post(first.page, init());
  await first.page.click('#side-by-side');
  await post(first.page, { v: 1, type: 'side', status: loaded(0, BASE_ID) });
  await post(first.page, { v: 1, type: 'side', status: loaded(1, TUNED_ID) });
  await typeInto(first.page, 'draft', 'what is the capital of spain ?');
  await first.page.click('#send');
  const gen = (await sent(first.page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
  for (const side of [0, 1] as const) await post(first.page, { v: 1, type: 'done', side, genId: gen.genId, text: side ? ' madrid .' : ' rome rome', stats: { reason: 'eos', promptTokens: 12, cachedTokens: 0, generatedTokens: 3, timeToFirstTokenMs: 30, tokensPerS: 60.75, totalMs: 63.4, stop: '</s>' } });
  const saved = await state(first.page);
  await first.page.close();
  // The webview is recreated (a window reload): same saved state, fresh page, empty sides on the host.
  const { page, problems } = await openPlayground(saved);
  await post(page, init());
  assert.equal(await text(page, '.user-text'), 'what is the capital of spain ?');
  assert.equal(await page.textContent('#reply-text-0-1'), ' madrid .');
  assert.equal(await page.locator('.side').count(), 2);
  const loads = (await sent(page)).filter((m) => m.type === 'load');
  assert.deepEqual(loads.map((m) => (m.type === 'load' ? [m.side, m.modelId] : [])), [[0, BASE_ID], [1, TUNED_ID]]);
  assert.deepEqual(problems, []);
  await page.close();
});

test('errors and warnings are shown with their hint; Load Anyway forces the load; a bad host message is shown', async () => {
  const { page, problems } = await openPlayground();
  await post(page, init());
  await post(page, { v: 1, type: 'side', status: { side: 0, phase: 'error', modelId: MODELS[1].id, quant: 'f32', error: { message: `/w/runs/${RUN}/checkpoints/step-00000060 does not exist any more (deleted checkpoint?)`, hint: 'Refresh the list and pick another checkpoint.' } } });
  assert.match(await text(page, '#side-error-0'), /does not exist any more/);
  assert.match(await text(page, '#status-0'), /Refresh the list and pick another checkpoint/);
  await post(page, { v: 1, type: 'side', status: { side: 0, phase: 'empty', modelId: BASE_ID, quant: 'f32', memoryWarning: 'This model needs about 31 GiB in f32 (29.9 GiB of weights, 1 GiB of KV cache for 4,096 tokens), but only 8 GiB of memory is available. Choose int4 (q4_0) or nf4, close other programs, or load anyway.' } });
  await page.evaluate((id) => {
    const box = document.getElementById('model-0');
    box.value = id;
    box.dispatchEvent(new Event('change'));
  }, BASE_ID);
  await page.click('#load-anyway-0');
  assert.deepEqual((await sent(page)).at(-1), { v: 1, type: 'load', side: 0, modelId: BASE_ID, quant: 'f32', force: true });
  await page.evaluate(() => window.postMessage({ v: 99, type: 'init' }, '*'));
  assert.match(await text(page, '#panel-error'), /version 99/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('no model anywhere: a clear empty state that says where Tuner looked and offers to choose a folder; Restricted Mode banner', async () => {
  const { page, problems } = await openPlayground(undefined, { width: 1100, height: 700 });
  await post(page, init({ models: [], workspace: false }));
  assert.match(await text(page, '#empty-state'), /No model to try yet.*Hugging Face model folders.*Hugging Face cache.*runs\/.*No folder is open/s);
  await page.click('#empty-pick-folder');
  assert.deepEqual((await sent(page)).at(-1), { v: 1, type: 'pickFolder' });
  await page.screenshot({ path: path.join(ARTIFACTS, 'playground-empty.png'), fullPage: true });
  assert.equal(await page.locator('#draft').count(), 0, 'no message box while there is nothing to talk to');
  await post(page, init({ trusted: false }));
  assert.match(await text(page, '#untrusted'), /Restricted Mode/);
  await page.click('#manage-trust');
  assert.deepEqual((await sent(page)).at(-1), { v: 1, type: 'manageTrust' });
  assert.equal(await page.getAttribute('#send', 'disabled'), '');
  assert.equal(await page.getAttribute('#gguf-0', 'disabled'), '', 'no export in Restricted Mode');
  assert.deepEqual(problems, []);
  await page.close();
});

test('screenshot: base vs tuned side by side, with costs, stats, settings and an export', async () => {
  const { page, problems } = await openPlayground(undefined, { width: 1400, height: 1000 });
  await post(page, init({ exports: [{ path: `/w/runs/${RUN}/exports/merged-final`, kind: 'merged', runId: RUN, bytes: 148_221_952 }], history: [{ mode: 'chat', text: 'what is the colour of grass ?', at: 1 }] }));
  await post(page, { v: 1, type: 'select', picks: [{ modelId: BASE_ID, quant: 'q4_0' }, { modelId: TUNED_ID, quant: 'q4_0' }] });
  const loads = (await sent(page)).filter((m) => m.type === 'load');
  assert.equal(loads.length, 2, '"Try in Playground" picks and loads both sides');
  assert.equal((await state(page)).sideBySide, true);
  await post(page, { v: 1, type: 'side', status: loaded(0, BASE_ID, { loadMs: 412.3, residentBytes: 61_210_624, weightBytes: 10_436_608, kvCacheBytes: 2_097_152, contextLength: 2048, kernel: 'q4_0 avx512-vnni (int8 dot)' }) });
  await post(page, { v: 1, type: 'side', status: loaded(1, TUNED_ID, { loadMs: 468.9, residentBytes: 62_365_696, weightBytes: 10_551_296, kvCacheBytes: 2_097_152, contextLength: 2048, kernel: 'q4_0 avx512-vnni (int8 dot)' }) });
  await page.evaluate(() => {
    const box = document.getElementById('system');
    box.value = 'Answer with one word and a full stop.';
    box.dispatchEvent(new Event('input'));
  });
  const turns: [string, string, string][] = [
    ['what is the capital of france ?', ' the capital of france is a city in europe , the', ' paris .'],
    ['how many legs does a spider have ?', ' a spider has many legs and it can walk on the', ' eight .'],
  ];
  for (const [q, a, b] of turns) {
    await typeInto(page, 'draft', q);
    await page.click('#send');
    const gen = (await sent(page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
    await post(page, { v: 1, type: 'done', side: 0, genId: gen.genId, text: a, stats: { reason: 'length', promptTokens: 31, cachedTokens: 14, generatedTokens: 12, timeToFirstTokenMs: 38.21, tokensPerS: 187.3914, totalMs: 101.2, stop: null } });
    await post(page, { v: 1, type: 'done', side: 1, genId: gen.genId, text: b, stats: { reason: 'eos', promptTokens: 31, cachedTokens: 14, generatedTokens: 3, timeToFirstTokenMs: 41.77, tokensPerS: 176.0232, totalMs: 58.9, stop: '</s>' } });
  }
  await typeInto(page, 'draft', 'what is the colour of grass ?');
  await page.click('#send');
  const live = (await sent(page)).at(-1) as Extract<PlaygroundToHost, { type: 'generate' }>;
  await post(page, { v: 1, type: 'prefill', side: 0, genId: live.genId, done: 64, total: 160 });
  for (const t of [' green', ' .']) await post(page, { v: 1, type: 'token', side: 1, genId: live.genId, text: t });
  await post(page, { v: 1, type: 'job', job: { id: 'export-1', kind: 'gguf', source: `run ${RUN} · final adapter`, phase: 'running', message: 'merging and writing GGUF q4_0… 3 s' } });
  await post(page, { v: 1, type: 'job', job: { id: 'export-0', kind: 'merge', source: `run ${RUN} · final adapter`, phase: 'done', message: 'done in 1.8 s', out: `runs/${RUN}/exports/merged-final` } });
  assert.deepEqual(await page.evaluate(() => [document.getElementById('model-0').value, document.getElementById('model-1').value]), [BASE_ID, TUNED_ID], 'the pickers show the models');
  const shown = await page.locator('body').innerText();
  assert.doesNotMatch(shown, /\d\.\d+e[+-]\d|\d\.\d{5,}/, 'no exponent and no float noise anywhere');
  await page.screenshot({ path: path.join(ARTIFACTS, 'playground.png'), fullPage: true });
  // The format picker open: every format with its name as the engine knows it.
  await page.click('#quant-1');
  await page.screenshot({ path: path.join(ARTIFACTS, 'playground-formats.png'), clip: { x: 0, y: 0, width: 1280, height: 420 } });
  await page.keyboard.press('Escape');
  assert.deepEqual(problems, []);
  await page.close();
});
