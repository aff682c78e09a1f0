// The run dashboard in a real browser (Debian chromium driven by playwright-core, offline): the
// page the extension serves (same HTML builder, same CSP, same bundle from dist/webview) is fed
// the events of a recorded tiny LoRA run, and the charts' data is checked against those events.
// The screenshot it takes is checked in as test/e2e/artifacts/dashboard.png, and its first screen
// is the walkthrough's picture of the dashboard (walkthroughs/media/dashboard.png).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { parseTrainerEvent, type StepEvent, type TrainerEvent } from '../../src/core/engine/protocol';
import type { HostToDashboard, RunHeader } from '../../webview/protocol';
import { ROOT, serveWebview, type WebviewServer } from './webview-page';

const recorded: TrainerEvent[] = fs
  .readFileSync(path.join(ROOT, 'test', 'e2e', 'fixtures', 'tiny-lora-run.events.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map(parseTrainerEvent);

// Page-side code below runs in the browser; these name its globals for the type checker only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

let web: WebviewServer;

const header = (over: Partial<RunHeader> = {}): RunHeader => ({
  id: '20261123-151512',
  model: 'model',
  method: 'lora',
  params: 45_000,
  trainableParams: 2_048,
  status: 'running',
  step: 20,
  maxSteps: 40,
  loss: 1.5,
  tokensPerS: 12_000,
  etaMs: 65_000,
  live: true,
  ...over,
});

before(async () => {
  web = await serveWebview('dashboard');
});

after(async () => {
  await web?.close();
});

/** Opens the dashboard with a stand-in for the webview host API that records what the page sends. */
function openDashboard(smoothing: number): Promise<{ page: Page; problems: string[] }> {
  return web.open({ runId: '', xAxis: 'step', smoothing, compareRunId: null }, { width: 1200, height: 900 });
}

const post = (page: Page, m: HostToDashboard) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
type ChartData = Record<string, { label: string; points: { x: number; y: number }[]; compare?: true }[]>;
const chartData = (page: Page) => page.evaluate(() => (window as unknown as { tunerDashboard: { chartData(): unknown } }).tunerDashboard.chartData()) as Promise<ChartData>;

test('charts show exactly the recorded steps, evals and learning rates', async () => {
  const { page, problems } = await openDashboard(0);
  const steps = recorded.filter((e): e is StepEvent => e.type === 'step');
  const half = recorded.findIndex((e) => e.type === 'step' && e.step === 20) + 1;
  await post(page, { v: 1, type: 'init', run: header(), events: recorded.slice(0, half), runs: [{ id: '20261123-151512', label: 'this run' }, { id: 'other', label: 'other run' }] });
  let data = await chartData(page);
  assert.deepEqual(data.loss[0].points, steps.slice(0, 20).map((s) => ({ x: s.step, y: s.loss })));
  // The rest arrives live, as the host sends it.
  await post(page, { v: 1, type: 'events', run: header({ status: 'done', step: 40, live: false, etaMs: undefined }), events: recorded.slice(half) });
  await page.evaluate(() => (window as unknown as { tunerDashboard: { renderNow(): void } }).tunerDashboard.renderNow());
  data = await chartData(page);
  assert.deepEqual(data.loss[0].points, steps.map((s) => ({ x: s.step, y: s.loss })));
  assert.deepEqual(data.lr[0].points, steps.map((s) => ({ x: s.step, y: s.lr })));
  assert.deepEqual(data.grad_norm[0].points.map((p) => p.y), steps.map((s) => s.grad_norm));
  const evals = recorded.filter((e) => e.type === 'eval');
  assert.equal(evals.length, 8);
  assert.deepEqual(data.loss[1], { label: 'eval loss', points: evals.map((e) => ({ x: e.step, y: (e as { loss: number }).loss })) });
  assert.equal(await page.textContent('#run-status'), 'done');
  assert.equal(await page.textContent('#fact-step'), '40 / 40');
  assert.deepEqual(problems, []);
  await page.close();
});

test('x axis in tokens and smoothing change the drawn data, not the run', async () => {
  const { page } = await openDashboard(0.9);
  await post(page, { v: 1, type: 'init', run: header(), events: recorded, runs: [] });
  const steps = recorded.filter((e): e is StepEvent => e.type === 'step');
  const smoothed = (await chartData(page)).loss[0].points;
  assert.equal(smoothed[0].y, steps[0].loss, 'debiased EMA starts at the first value');
  assert.ok(Math.abs(smoothed[39].y - steps[39].loss) > 1e-3, 'later points are smoothed');
  await page.evaluate(() => {
    const box = document.getElementById('x-axis') as unknown as { value: string; dispatchEvent(e: Event): void };
    box.value = 'tokens';
    box.dispatchEvent(new Event('change'));
  });
  assert.equal(await page.evaluate(() => (window as unknown as { state: { xAxis: string } }).state.xAxis), 'tokens', 'the choice is kept in the webview state');
  const tokens = (await chartData(page)).lr[0].points.map((p) => p.x);
  assert.deepEqual(tokens, steps.map((s) => s.step * s.tokens));
  await page.close();
});

test('a 100k-step run is drawn from at most 2000 points per series, spikes kept', async () => {
  const { page, problems } = await openDashboard(0.6);
  // Built inside the page: 100k events are the host's to send, not this test's to serialise.
  await page.evaluate(([start, run]) => {
    const events: unknown[] = [start];
    for (let step = 1; step <= 100_000; step++) {
      events.push({ version: 1, type: 'step', step, epoch: 0, loss: 3 * Math.exp(-step / 20_000) + 0.1 * Math.sin(step / 50) + (step === 61_234 ? 5 : 0), lr: 1e-4, grad_norm: 1, tokens: 64, tokens_per_s: 1000, ms: 64, peak_memory_bytes: 1 << 26 });
    }
    window.postMessage({ v: 1, type: 'init', run, events, runs: [] }, '*');
  }, [recorded[0], header({ step: 100_000, maxSteps: 100_000 })] as const);
  await page.waitForFunction(() => document.body.dataset.points === '100000');
  const data = await chartData(page);
  assert.equal(data.loss[0].points.length, 2000);
  assert.equal(data.loss[0].points[0].x, 1);
  assert.equal(data.loss[0].points[1999].x, 100_000);
  assert.ok(data.loss[0].points.some((p) => p.x === 61_234), 'LTTB keeps the one-step spike');
  assert.deepEqual(problems, []);
  await page.close();
});

test('samples: the answers to the sample prompts step by step under the charts; Try in Playground once the run is done', async () => {
  const { page, problems } = await openDashboard(0.6);
  const prompts = ['what is the capital of france ?', 'how many legs does a spider have ?'];
  await post(page, {
    v: 1, type: 'init', run: header(), events: recorded.slice(0, 20), runs: [], samplePrompts: prompts,
    samples: [{ step: 10, answers: [{ text: 'the the the', stop: 'length' }, { text: 'have have', stop: 'length' }] }],
  });
  assert.equal(await page.isVisible('#samples-table'), true);
  assert.deepEqual(await page.locator('#samples-table th').allTextContents(), ['step', ...prompts]);
  assert.equal(await page.getAttribute('#btn-try', 'disabled'), '', 'nothing to try while the run is running');
  await post(page, { v: 1, type: 'events', run: header({ status: 'done', step: 40, live: false }), events: [], samples: [{ step: 40, answers: [{ text: 'paris .', stop: 'eos' }, { text: 'eight .', stop: 'eos' }] }] });
  assert.deepEqual(await page.locator('#samples-table tbody tr').allInnerTexts(), ['10\tthe the the\thave have', '40\tparis .\teight .']);
  await page.click('#btn-try');
  assert.deepEqual(await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent.at(-1)), { v: 1, type: 'tryInPlayground' });
  assert.deepEqual(problems, []);
  await page.close();
});

test('buttons send controls; bad host messages are shown, not ignored; screenshot', async () => {
  const { page, problems } = await openDashboard(0.6);
  // The run as it looks live at step 30 of 40: header numbers from the same events as the charts.
  const upTo30 = recorded.slice(0, recorded.findIndex((e) => e.type === 'step' && e.step === 31));
  const last = upTo30.filter((e): e is StepEvent => e.type === 'step').at(-1)!;
  const lastEval = upTo30.filter((e) => e.type === 'eval').at(-1) as { loss: number };
  const run = header({ step: 30, loss: last.loss, evalLoss: lastEval.loss, tokensPerS: last.tokens_per_s, etaMs: 42_000 });
  await post(page, { v: 1, type: 'init', run, events: upTo30, runs: [{ id: 'other', label: '20261123-140000 (other)' }] });
  assert.equal(await page.textContent('#fact-loss'), String(Number(last.loss.toPrecision(4))));
  await page.click('#btn-pause');
  await page.click('#btn-save');
  const sent = await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent);
  assert.deepEqual(sent.slice(1, 3), [{ v: 1, type: 'control', command: 'pause' }, { v: 1, type: 'control', command: 'save' }]);
  // Compare: the other run's events arrive and are drawn dashed beside this run's.
  await page.evaluate(() => {
    const box = document.getElementById('compare');
    box.value = 'other';
    box.dispatchEvent(new Event('change'));
  });
  const asked = await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent.at(-1));
  assert.deepEqual(asked, { v: 1, type: 'compare', runId: 'other' });
  const other = recorded.map((e) => (e.type === 'step' ? { ...e, loss: e.loss * 1.2 } : e));
  await post(page, { v: 1, type: 'compare', runId: 'other', label: '20261123-140000', events: other });
  const compared = (await chartData(page)).loss;
  assert.deepEqual(compared.map((d) => [d.label, !!d.compare]), [['train loss', false], ['eval loss', false], ['train loss (20261123-140000)', true]]);
  assert.equal(compared[2].points.length, 40);
  await page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard.png'), fullPage: true });
  // The walkthrough's "Watch the dashboard" picture: what the panel shows first, from this page.
  await page.screenshot({ path: path.join(ROOT, 'walkthroughs', 'media', 'dashboard.png') });
  await page.evaluate(() => window.postMessage({ v: 99, type: 'init' }, '*'));
  assert.match((await page.textContent('#run-error')) ?? '', /version 99/);
  assert.deepEqual(problems, []);
  await page.close();
});

/** The recorded run with a constant learning rate, as a schedule recomputes it: 0.01 with float rounding. */
const constantLr = recorded.map((e, i) => (e.type === 'step' ? { ...e, lr: i % 3 ? 0.01 : 0.009999999999999997 } : e));
const yTicks = (page: Page) => page.evaluate(() => (window as unknown as { tunerDashboard: { yTicks(): unknown } }).tunerDashboard.yTicks()) as Promise<Record<string, string[]>>;

test('a constant learning rate: clean ticks, a sensible range, drawn as it is (no smoothing of lr or memory); header numbers as the status bar writes them', async () => {
  const { page, problems } = await openDashboard(0.9);
  const steps = constantLr.filter((e): e is StepEvent => e.type === 'step');
  await post(page, { v: 1, type: 'init', run: header({ params: 18_144, trainableParams: 1_792, tokensPerS: 116_693.4, etaMs: 65_000 }), events: constantLr, runs: [] });
  const data = await chartData(page);
  assert.deepEqual(data.lr[0].points.map((p) => p.y), steps.map((s) => s.lr), 'the learning rate is drawn as the trainer reported it');
  assert.deepEqual(data.memory[0].points.map((p) => p.y), steps.map((s) => s.peak_memory_bytes / 2 ** 20), 'memory is not smoothed');
  assert.notDeepEqual(data.loss[0].points.map((p) => p.y), steps.map((s) => s.loss), 'the loss is smoothed');
  const ticks = await yTicks(page);
  assert.equal(ticks.lr[0], '0.000');
  assert.equal(ticks.lr.at(-1), '0.020');
  for (const t of Object.values(ticks).flat()) assert.match(t, /^-?[\d,]+(\.\d{1,4})?$|^-?\d(\.\d+)?e-\d+$/, `tick label ${t}`);
  assert.equal(await page.textContent('#fact-speed'), '116,693 tok/s');
  assert.equal(await page.textContent('#fact-trainable'), '1.79 K of 18.1 K');
  assert.equal(await page.textContent('#fact-ETA'), '1 min 05 s');
  await page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-constant-lr.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});

/** The parts of a page's button these tests read (the test code has no DOM types). */
interface PageButton { id: string; hidden: boolean; disabled: boolean; getAttribute(name: string): string | null; getBoundingClientRect(): { x: number; y: number } }

/** Where each visible control is, by id. */
const controlBoxes = (page: Page) =>
  page.evaluate(() =>
    Object.fromEntries(
      ([...document.querySelectorAll('.controls > *')] as PageButton[]).filter((b) => !b.hidden).map((b) => {
        const r = b.getBoundingClientRect();
        return [b.id, { x: Math.round(r.x), y: Math.round(r.y), appearance: b.getAttribute('appearance'), disabled: !!b.disabled }];
      }),
    ),
  ) as Promise<Record<string, { x: number; y: number; appearance: string; disabled: boolean }>>;

test('header: at a narrow width the facts wrap to a second line, none clipped, each with its full text as a tooltip; pausing swaps Pause for Resume in place; a finished run draws no Pause; a stopped run offers Resume from Checkpoint', async () => {
  const { page, problems } = await openDashboard(0.6);
  await page.setViewportSize({ width: 760, height: 700 });
  const run = header({ model: 'a-model-folder-with-a-long-name-for-the-title', step: 19_999, maxSteps: 20_000, loss: 1.23456, evalLoss: 1.3, tokensPerS: 116_693, params: 494_032_768, trainableParams: 2_162_688, etaMs: 3_725_000 });
  await post(page, { v: 1, type: 'init', run, events: recorded, runs: [] });
  const facts = () =>
    page.evaluate(() => {
      const box = document.getElementById('run-facts').getBoundingClientRect();
      const lineHeight = parseFloat(window.getComputedStyle(document.getElementById('run-facts')).lineHeight) || 20;
      return {
        box: { left: box.left, right: box.right, top: box.top, bottom: box.bottom, height: box.height },
        lineHeight,
        viewport: document.documentElement.clientWidth,
        facts: [...document.querySelectorAll('#run-facts .fact')].map((f) => {
          const r = f.getBoundingClientRect();
          return { title: f.getAttribute('title'), text: f.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom };
        }),
      };
    });
  const narrow = await facts();
  assert.deepEqual(
    narrow.facts.map((f) => f.title),
    ['step 19,999 / 20,000', 'loss 1.235', 'eval loss 1.3', 'speed 116,693 tok/s', 'trainable 2.16 M of 494 M', 'ETA 1 h 02 min'],
    'each fact\'s tooltip is its full text',
  );
  for (const f of narrow.facts) {
    assert.ok(f.left >= narrow.box.left - 0.5 && f.right <= Math.min(narrow.box.right, narrow.viewport) + 0.5, `"${f.title}" is not clipped: ${JSON.stringify(f)} in ${JSON.stringify(narrow.box)}`);
    assert.ok(f.top >= narrow.box.top - 0.5 && f.bottom <= narrow.box.bottom + 0.5, `"${f.title}" lies within the row`);
  }
  const lines = new Set(narrow.facts.map((f) => Math.round(f.top))).size;
  assert.equal(lines, 2, `at 760 px the facts take two lines (${JSON.stringify(narrow.facts.map((f) => [f.title, f.top]))})`);
  assert.ok(narrow.box.height < narrow.lineHeight * 2.8, `#run-facts is two lines at most (${narrow.box.height}px)`);
  await page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-narrow-760.png') });
  const toolbarHeight = () => page.evaluate(() => document.querySelector('.toolbar').getBoundingClientRect().height);
  const toolbarTop = () => page.evaluate(() => document.querySelector('.toolbar').getBoundingClientRect().top);
  const top0 = await toolbarTop();
  // Shorter values (no eval loss, no ETA yet) fit on fewer lines; the row keeps its height so the
  // buttons below stay where they were.
  await post(page, { v: 1, type: 'events', run: { ...run, evalLoss: undefined, etaMs: undefined, trainableParams: undefined }, events: [] });
  assert.equal(await toolbarTop(), top0, 'the buttons do not jump up when the facts get shorter');
  await post(page, { v: 1, type: 'events', run, events: [] });
  assert.equal(await toolbarTop(), top0);
  // Wide: one line again.
  await page.setViewportSize({ width: 1400, height: 700 });
  await post(page, { v: 1, type: 'events', run, events: [] });
  const wide = await facts();
  assert.equal(new Set(wide.facts.map((f) => Math.round(f.top))).size, 1, 'a wide panel shows the facts on one line');
  await page.setViewportSize({ width: 760, height: 700 });
  await post(page, { v: 1, type: 'events', run, events: [] });
  const running = await controlBoxes(page);
  assert.deepEqual(Object.keys(running), ['btn-pause', 'btn-save', 'btn-stop']);
  assert.equal(running['btn-pause'].appearance, 'primary');
  const h0 = await toolbarHeight();
  await post(page, { v: 1, type: 'events', run: { ...run, status: 'paused' }, events: [] });
  assert.equal(await page.textContent('#run-status'), 'paused', 'the state shows with the message, before any chart redraw');
  const paused = await controlBoxes(page);
  assert.deepEqual(Object.keys(paused), ['btn-resume', 'btn-save', 'btn-stop', 'btn-try']);
  assert.equal(paused['btn-resume'].x, running['btn-pause'].x, 'Resume takes Pause\'s place');
  assert.equal(paused['btn-save'].x, running['btn-save'].x, 'Save does not move');
  assert.equal(paused['btn-stop'].x, running['btn-stop'].x, 'Stop does not move');
  assert.equal(await toolbarHeight(), h0, 'the toolbar does not grow a line');
  assert.equal(await toolbarTop(), top0, 'the buttons do not move down when pausing');
  await page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-paused.png') });
  // Done: nothing live to pause, save or stop; no disabled primary button anywhere.
  await post(page, { v: 1, type: 'events', run: { ...run, status: 'done', step: 20_000, live: false, etaMs: undefined }, events: [] });
  const done = await controlBoxes(page);
  assert.deepEqual(Object.keys(done), ['btn-try']);
  assert.deepEqual(Object.values(done).filter((b) => b.appearance === 'primary' && b.disabled), []);
  // Stopped with a checkpoint: Resume from Checkpoint, the primary action, sent to the host.
  await post(page, { v: 1, type: 'events', run: { ...run, status: 'stopped', live: false, canResume: true, etaMs: undefined }, events: [] });
  const stopped = await controlBoxes(page);
  assert.deepEqual(Object.keys(stopped), ['btn-resume-checkpoint', 'btn-try']);
  assert.equal(stopped['btn-resume-checkpoint'].appearance, 'primary');
  await page.click('#btn-resume-checkpoint');
  assert.deepEqual(await page.evaluate(() => (window as unknown as { sent: unknown[] }).sent.at(-1)), { v: 1, type: 'resumeFromCheckpoint' });
  await page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-stopped.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('a fast run: batches of events keep the header current at every message and every step reaches the charts', async () => {
  const { page, problems } = await openDashboard(0.6);
  await post(page, { v: 1, type: 'init', run: header({ step: 0, maxSteps: 20_000 }), events: [recorded[0]], runs: [] });
  // 1,500 steps a second in 100 ms batches, as the host sends them, built in the page.
  const lastStep = await page.evaluate((run) => {
    let step = 0;
    for (let batch = 0; batch < 30; batch++) {
      const events = [];
      for (let i = 0; i < 150; i++) {
        step++;
        events.push({ version: 1, type: 'step', step, epoch: 0, loss: 3 - step / 10_000, lr: 0.01, grad_norm: 1, tokens: 64, tokens_per_s: 96_000, ms: 0.4, peak_memory_bytes: 1 << 22 });
      }
      window.postMessage({ v: 1, type: 'events', run: { ...run, step }, events }, '*');
    }
    return step;
  }, header({ maxSteps: 20_000 }));
  await page.waitForFunction((n) => document.getElementById('fact-step').textContent === `${n.toLocaleString('en-US')} / 20,000`, lastStep);
  await post(page, { v: 1, type: 'events', run: header({ step: lastStep, maxSteps: 20_000, status: 'paused' }), events: [{ version: 1, type: 'paused', step: lastStep }] });
  assert.equal(await page.textContent('#run-status'), 'paused');
  await page.evaluate(() => (window as unknown as { tunerDashboard: { renderNow(): void } }).tunerDashboard.renderNow());
  assert.equal(await page.evaluate(() => document.body.dataset.points), String(lastStep));
  assert.deepEqual(problems, []);
  await page.close();
});
