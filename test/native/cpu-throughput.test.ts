// The addon's speed probe (native/addon/throughput.cpp): measureCpuThroughput times the engine's
// own sgemm on a worker thread and resolves a plausible positive figure; the event loop keeps
// running meanwhile; the cache in core/args/cpu-speed.ts measures once per machine key.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { cachedCpuMeasurement, cpuSpeedKey, throughputFromMeasurement } from '../../src/core/args/cpu-speed';
import { loadAddon, type TunerAddon } from '../../src/core/engine/addon';
import { REPO_ROOT } from './native-tools';

/** The addon of $TUNER_NATIVE_BUILD_DIR (a developer's own build) when it has one, else the package's. */
function addon(): TunerAddon {
  const dir = process.env.TUNER_NATIVE_BUILD_DIR;
  const own = dir ? [path.resolve(REPO_ROOT, dir, 'Release', 'tuner.node'), path.resolve(REPO_ROOT, dir, 'tuner.node')].find((p) => fs.existsSync(p)) : undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return own ? (require(own) as TunerAddon) : loadAddon();
}

test('measureCpuThroughput times the engine\'s sgemm on a worker thread: a plausible positive GFLOP/s', async () => {
  const a = addon();
  assert.equal(typeof a.measureCpuThroughput, 'function');
  const hw = a.hardware();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const m = await a.measureCpuThroughput!(0, 100);
  clearInterval(timer);
  // fp32 sgemm on any CPU the engine runs on: above 0.5 GFLOP/s (one old core, generic kernel),
  // below 100 TFLOP/s (no CPU comes near).
  assert.ok(m.gflops > 0.5 && m.gflops < 1e5, JSON.stringify(m));
  assert.ok(m.bestGflops >= m.gflops, JSON.stringify(m));
  assert.ok(m.rounds >= 2 && m.ms > 0, JSON.stringify(m));
  assert.ok(m.threads >= 1, JSON.stringify(m));
  assert.equal(m.kernel, hw.gemmKernel);
  assert.equal(m.shape, '512x1024x1024');
  assert.ok(ticks > 0, 'the event loop ran while the products did');
  const one = await a.measureCpuThroughput!(1, 10);
  assert.equal(one.threads, 1);
  assert.throws(() => a.measureCpuThroughput!('all' as unknown as number), /threads must be a number/);
  assert.match(throughputFromMeasurement(m).source, /^measured on this machine: [\d.]+ GFLOP\/s \(the engine's sgemm, \d+ threads\)$/);
});

test('the measurement is taken once per machine key and read from the cache afterwards', async () => {
  const a = addon();
  const hw = a.hardware();
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-cpu-speed-')), 'cpu-speed.json');
  const key = cpuSpeedKey(hw.cpuModel, hw.threads, hw.gemmKernel);
  let measured = 0;
  const measure = () => { measured++; return a.measureCpuThroughput!(0, 20); };
  const first = await cachedCpuMeasurement(file, hw.cpuModel, key, measure);
  const second = await cachedCpuMeasurement(file, hw.cpuModel, key, measure);
  assert.equal(measured, 1);
  assert.ok(first && first.gflops > 0);
  assert.deepEqual(second, first);
  assert.deepEqual(Object.keys(JSON.parse(fs.readFileSync(file, 'utf8'))), [key]);
});
