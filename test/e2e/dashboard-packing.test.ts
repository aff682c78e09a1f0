// The dashboard of a packed run with generation metrics, in a real browser: the events of a
// recorded tiny LoRA run on packed records (evaluating every 5 steps, each evaluation answering
// the eval records greedily) draw the padding share of every step and the eval answers' ROUGE-L
// F1 and BLEU-4, exactly as the trainer reported them; a run without them keeps the generation
// chart hidden. The screenshot is checked in as test/e2e/artifacts/dashboard-packing.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { EvalEvent, StartEvent, StepEvent } from '../../src/core/engine/protocol';
import type { RunHeader } from '../../webview/protocol';
import { chartData, dashboardServer, hidden, post, readEvents } from './dashboard-page';
import { ROOT } from './webview-page';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

const packed = readEvents('tiny-packed-run.events.jsonl');
const sft = readEvents('tiny-lora-run.events.jsonl');

const web = dashboardServer();

const header: RunHeader = {
  id: '20261204-230000', model: 'model', method: 'lora', params: 19_616, trainableParams: 3_712, status: 'done',
  step: 40, maxSteps: 40, loss: 0.5, tokensPerS: 4_000, live: false,
};

test('a packed run charts its padding, and its eval answers\' ROUGE-L and BLEU-4; runs without them hide that chart', async () => {
  const page = await web().open({ runId: '', xAxis: 'step', smoothing: 0, compareRunId: null }, { width: 1200, height: 1500 });
  await post(page.page, { v: 1, type: 'init', run: header, events: packed, runs: [] });
  const data = await chartData(page.page);
  const start = packed.find((e): e is StartEvent => e.type === 'start')!;
  const steps = packed.filter((e): e is StepEvent => e.type === 'step');
  const evals = packed.filter((e): e is EvalEvent => e.type === 'eval');
  assert.equal(start.packed, true);
  assert.equal(steps.length, 40);
  assert.deepEqual(data.padding[0].points, steps.map((s) => ({ x: s.step, y: s.padding! * 100 })));
  assert.deepEqual(data.generation.map((s) => s.label), ['eval ROUGE-L F1 (%)', 'eval BLEU-4']);
  assert.deepEqual(data.generation[0].points, evals.map((e) => ({ x: e.step, y: e.rouge_l! * 100 })));
  assert.deepEqual(data.generation[1].points, evals.map((e) => ({ x: e.step, y: e.bleu! })));
  // The tuned answers come closer to the references as the loss falls.
  assert.ok(evals.at(-1)!.rouge_l! > evals[0].rouge_l! && evals.at(-1)!.bleu! > evals[0].bleu!);
  await page.page.waitForFunction(() => document.getElementById('section-generation').hidden === false);
  assert.equal(await hidden(page.page, 'section-padding'), false);
  await page.page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-packing.png'), fullPage: true });

  await post(page.page, { v: 1, type: 'init', run: { ...header, id: 'sft' }, events: sft, runs: [] });
  await page.page.waitForFunction(() => document.getElementById('section-generation').hidden === true);
  assert.deepEqual((await chartData(page.page)).generation, []);
  assert.deepEqual(page.problems, []);
  await page.page.close();
});
