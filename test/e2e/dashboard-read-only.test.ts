// The dashboard of a live run another window controls, in a real browser: the run's controls
// stay where they are but disabled, a note says it is controlled by another window, and Take
// Control sends the request that makes this window the controller; once it controls the run the
// controls work again. A trainer that stopped answering is said there too. The screenshot is
// checked in as test/e2e/artifacts/dashboard-read-only.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { StepEvent } from '../../src/core/engine/protocol';
import { liveNotes } from '../../src/core/run/live-notes';
import type { RunHeader } from '../../webview/protocol';
import { dashboardServer, post, readEvents } from './dashboard-page';
import { ARTIFACTS } from './webview-page';

const recorded = readEvents('tiny-lora-run.events.jsonl');
const web = dashboardServer();

// Page-side code below runs in the browser; these name its globals for the type checker only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const sent = (page: Page) => page.evaluate(() => window.sent as { type: string }[]);
const button = (page: Page, id: string) => page.evaluate((sel) => {
  const b = document.getElementById(sel);
  return { hidden: b.hidden as boolean, disabled: b.disabled as boolean, title: b.title as string };
}, id);

test('another window controls the run: controls disabled, said so, Take Control asks for it; screenshot', async () => {
  const { page, problems } = await web().open({ runId: '', xAxis: 'step', smoothing: 0.6, compareRunId: null }, { width: 1200, height: 900 });
  const upTo25 = recorded.slice(0, recorded.findIndex((e) => e.type === 'step' && e.step === 26));
  const last = upTo25.filter((e): e is StepEvent => e.type === 'step').at(-1)!;
  const watching = liveNotes('observer', { state: 'alive' });
  const run: RunHeader = {
    id: '20261204-221500', model: 'model', method: 'lora', params: 45_000, trainableParams: 2_048, status: 'running', step: 25, maxSteps: 40,
    loss: last.loss, evalLoss: 2.2874, tokensPerS: last.tokens_per_s, etaMs: 15 * 2000, live: true, readOnly: watching.readOnly, notes: watching.notes,
  };
  await post(page, { v: 1, type: 'init', run, events: upTo25, runs: [] });
  assert.equal(await page.textContent('#run-notes'), 'Read-only: controlled by another window. Take control here if that window is gone.');
  for (const id of ['btn-pause', 'btn-save', 'btn-stop']) {
    assert.deepEqual(await button(page, id), { hidden: false, disabled: true, title: 'Controlled by another window' }, id);
  }
  assert.equal((await button(page, 'btn-take-control')).hidden, false);
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-read-only.png') });
  await page.click('#btn-pause', { force: true }); // disabled: nothing is sent
  await page.click('#btn-take-control');
  assert.deepEqual((await sent(page)).slice(1), [{ v: 1, type: 'takeControl' }]);

  // The trainer made this window the controller: the controls work again, the note goes.
  await post(page, { v: 1, type: 'events', run: { ...run, readOnly: false, notes: undefined }, events: [] });
  assert.equal(await page.isHidden('#run-notes'), true);
  assert.deepEqual(await button(page, 'btn-pause'), { hidden: false, disabled: false, title: 'Pause the run after the current step' });
  assert.equal((await button(page, 'btn-take-control')).hidden, true);
  await page.click('#btn-pause');
  assert.deepEqual((await sent(page)).at(-1), { v: 1, type: 'control', command: 'pause' });

  // A trainer that stopped answering is said where the user acts too.
  const silent = liveNotes('controller', { state: 'unresponsive', silentMs: 42_000 });
  await post(page, { v: 1, type: 'events', run: { ...run, readOnly: silent.readOnly, notes: silent.notes }, events: [] });
  assert.equal(await page.textContent('#run-notes'), 'not responding (no heartbeat for 42 s)');
  assert.equal((await button(page, 'btn-stop')).disabled, false);
  assert.deepEqual(problems, []);
  await page.close();
});
