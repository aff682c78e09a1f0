// The dashboard of a DPO run in a real browser: the events of a recorded tiny LoRA DPO run (with
// eval pairs every 5 steps) draw the reward margin and reward accuracy charts, train and eval,
// exactly as the trainer reported them; a run without rewards keeps those charts hidden. The
// screenshot is checked in as test/e2e/artifacts/dashboard-dpo.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { EvalEvent, StepEvent } from '../../src/core/engine/protocol';
import type { RunHeader } from '../../webview/protocol';
import { chartData, dashboardServer, hidden, post, readEvents } from './dashboard-page';
import { ROOT } from './webview-page';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const dpo = readEvents('tiny-dpo-run.events.jsonl');
const sft = readEvents('tiny-lora-run.events.jsonl');

const web = dashboardServer();

const header: RunHeader = {
  id: '20261204-223000', model: 'model', method: 'lora', params: 86_336, trainableParams: 7_168, status: 'done',
  step: 40, maxSteps: 40, loss: 0.07, tokensPerS: 4_000, live: false,
};

test('a DPO run charts its reward margin and accuracy, train and eval; other runs do not show those charts', async () => {
  const page = await web().open({ runId: '', xAxis: 'step', smoothing: 0, compareRunId: null }, { width: 1200, height: 1100 });
  await post(page.page, { v: 1, type: 'init', run: header, events: dpo, runs: [] });
  const data = await chartData(page.page);
  const steps = dpo.filter((e): e is StepEvent => e.type === 'step');
  const evals = dpo.filter((e): e is EvalEvent => e.type === 'eval');
  assert.equal(steps.length, 40);
  assert.deepEqual(data.reward_margin[0].points, steps.map((s) => ({ x: s.step, y: s.rewards!.margin })));
  assert.deepEqual(data.reward_margin[1].points, evals.map((e) => ({ x: e.step, y: e.rewards!.margin })));
  assert.deepEqual(data.reward_accuracy[0].points.map((p) => p.y), steps.map((s) => s.rewards!.accuracy * 100));
  assert.deepEqual(data.reward_accuracy.map((s) => s.label), ['reward accuracy (%)', 'eval reward accuracy (%)']);
  await page.page.waitForFunction(() => document.getElementById('section-reward_margin').hidden === false);
  assert.equal(await hidden(page.page, 'section-reward_accuracy'), false);
  // The pairs end up ranked right: the last eval's accuracy is 100 % with a positive margin.
  assert.ok(evals.at(-1)!.rewards!.margin > 0 && evals.at(-1)!.rewards!.accuracy === 1);
  await page.page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-dpo.png'), fullPage: true });

  await post(page.page, { v: 1, type: 'init', run: { ...header, id: 'sft' }, events: sft, runs: [] });
  await page.page.waitForFunction(() => document.getElementById('section-reward_margin').hidden === true);
  assert.deepEqual((await chartData(page.page)).reward_margin, []);
  assert.deepEqual(page.problems, []);
  await page.page.close();
});
