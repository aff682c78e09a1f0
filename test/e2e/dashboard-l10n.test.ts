// The dashboard in the display language: the extension writes its bundle into the page
// (dashboard-html.ts) and webview/l10n.ts hands it to @vscode/l10n before the page is built, so
// the buttons, facts, chart titles, run state and the series names src/core composes all come out
// translated. With the pseudo-localised bundle (test/unit/pseudo-l10n.ts) every visible text is
// ⟦…⟧; the screenshot is test/e2e/artifacts/dashboard-pseudo-l10n.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { RunHeader } from '../../webview/protocol';
import { pseudo, pseudoBundle, translated } from '../unit/pseudo-l10n';
import { chartData, post, readEvents } from './dashboard-page';
import { ARTIFACTS, serveWebview, type WebviewServer } from './webview-page';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

let web: WebviewServer;
before(async () => {
  web = await serveWebview('dashboard', undefined, pseudoBundle());
});
after(async () => {
  await web?.close();
});

const header: RunHeader = { id: '20261123-151512', model: 'model', method: 'lora', params: 45_000, trainableParams: 2_048, status: 'paused', step: 20, maxSteps: 40, loss: 1.5, tokensPerS: 12_000, etaMs: 65_000, live: true };

test('with a pseudo-localised bundle the dashboard shows every text of its own translated', async () => {
  const { page, problems } = await web.open({ runId: '', xAxis: 'step', smoothing: 0, compareRunId: null }, { width: 1200, height: 900 });
  await post(page, { v: 1, type: 'init', run: header, events: readEvents('tiny-lora-run.events.jsonl').slice(0, 60), runs: [] });
  assert.equal(await page.textContent('#run-status'), pseudo('paused'));
  assert.equal(await page.textContent('#run-title'), pseudo('{0} · {1} · run {2}').replace('{0}', 'model').replace('{1}', 'lora').replace('{2}', header.id));
  assert.equal(await page.textContent('#btn-resume'), pseudo('Resume'));
  assert.equal(await page.getAttribute('#btn-save', 'title'), pseudo('Save a checkpoint now'));
  // the facts keep their ids (and values); their names are translated
  assert.equal(await page.textContent('#fact-step'), '20 / 40');
  const keys = (await page.evaluate(() => [...document.querySelectorAll('#run-facts .key')].map((e: { textContent: string }) => e.textContent))) as string[];
  assert.deepEqual(keys, ['step', 'loss', 'eval loss', 'speed', 'trainable', 'ETA'].map(pseudo));
  const titles = (await page.evaluate(() => [...document.querySelectorAll('h2, h3')].filter((e: { offsetParent: unknown }) => e.offsetParent).map((e: { textContent: string }) => e.textContent))) as string[];
  assert.ok(titles.length >= 4, titles.join(' | '));
  for (const t of titles) assert.ok(translated(t), `chart title not translated: ${t}`);
  assert.equal(await page.textContent('.toolbar label'), `${pseudo('Smoothing')} `);
  // the series names come from src/core/run/series.ts, bundled into the page
  const data = await chartData(page);
  assert.equal(data.loss[0].label, pseudo('train loss'));
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'qps-ploc');
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-pseudo-l10n.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
