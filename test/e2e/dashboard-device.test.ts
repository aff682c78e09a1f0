// The dashboard of a run that trained on a device, in a real browser: the events of a recorded
// tiny full fine-tune on the GPU path (TUNER_DEVICE_OPS=host, the CPU stand-in of the device ops)
// draw the device's peak memory next to the host process's in the memory chart, exactly as the
// step events report it; a CPU run's memory chart keeps its one series. The screenshot is checked
// in as test/e2e/artifacts/dashboard-device.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { StartEvent, StepEvent } from '../../src/core/engine/protocol';
import type { RunHeader } from '../../webview/protocol';
import { chartData, dashboardServer, post, readEvents } from './dashboard-page';
import { ROOT } from './webview-page';

const device = readEvents('tiny-device-run.events.jsonl');
const cpu = readEvents('tiny-lora-run.events.jsonl');

const web = dashboardServer();

const header: RunHeader = {
  id: '20261205-074500', model: 'model', method: 'full', params: 21_664, trainableParams: 21_664, status: 'done',
  step: 40, maxSteps: 40, loss: 0.5, tokensPerS: 8_000, live: false,
};

test('a device run charts the device\'s peak memory beside the host\'s; a CPU run charts the host\'s alone', async () => {
  const page = await web().open({ runId: '', xAxis: 'step', smoothing: 0, compareRunId: null }, { width: 1200, height: 1100 });
  await post(page.page, { v: 1, type: 'init', run: header, events: device, runs: [] });
  const data = await chartData(page.page);
  const start = device.find((e): e is StartEvent => e.type === 'start')!;
  const steps = device.filter((e): e is StepEvent => e.type === 'step');
  assert.equal(start.device?.kind, 'host_ops');
  assert.equal(steps.length, 40);
  assert.deepEqual(data.memory.map((s) => s.label), ['peak memory (MiB)', 'GPU peak memory (MiB)']);
  const MiB = 1024 * 1024;
  assert.deepEqual(data.memory[1].points, steps.map((s) => ({ x: s.step, y: s.device_memory!.peak_bytes / MiB })));
  assert.deepEqual(data.memory[0].points, steps.map((s) => ({ x: s.step, y: s.peak_memory_bytes / MiB })));
  // The device holds the weights, gradients and optimizer states before step 1, activations on top.
  assert.ok(steps[0].device_memory!.peak_bytes > start.device_memory!.in_use_bytes);
  await page.page.screenshot({ path: path.join(ROOT, 'test', 'e2e', 'artifacts', 'dashboard-device.png'), fullPage: true });

  await post(page.page, { v: 1, type: 'init', run: { ...header, id: 'cpu' }, events: cpu, runs: [] });
  assert.deepEqual((await chartData(page.page)).memory.map((s) => s.label), ['peak memory (MiB)']);
  assert.deepEqual(page.problems, []);
  await page.page.close();
});
