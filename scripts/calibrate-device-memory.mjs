// Measures the device memory tuner-train's GPU path allocates (device_memory.peak_bytes of its step
// events) for a grid of tiny Llama-family models and run settings, on host_ops (TUNER_DEVICE_OPS=host:
// the device ops' CPU stand-in, which makes the GPU path's allocations one for one), and writes
// them to test/fixtures/device-memory-calibration.json beside the GPU estimate's allocations
// (src/core/args/estimate-device.ts) computed with host_ops' attention workspace (a per-thread
// scratch, threads x 2 x 64 x T floats) in place of CUDA's. test/unit/args/estimate-device.test.ts
// checks every row; test/native/device-memory-calibration.test.ts reruns one row against the trainer.
//
//   npx tsc -p . && node scripts/calibrate-device-memory.mjs [--trainer build/devmem/tuner-train] [--only NAME]
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { DEVICE_CALIBRATION_GRID, measureDeviceRow } = require(path.join(ROOT, 'out/test/native/device-memory-runs.js'));

const { values } = parseArgs({ options: { trainer: { type: 'string' }, only: { type: 'string' } } });
const TRAINER = path.resolve(ROOT, values.trainer ?? process.env.TUNER_TRAIN ?? path.join(process.env.TUNER_NATIVE_BUILD_DIR ?? 'build/native', 'tuner-train'));
const ONLY = values.only;

const rows = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-devmem-'));
try {
  for (const c of DEVICE_CALIBRATION_GRID) {
    if (ONLY && c.name !== ONLY) continue;
    const row = measureDeviceRow(TRAINER, c, path.join(work, c.name));
    rows.push(row);
    const mib = (b) => (b / 2 ** 20).toFixed(2).padStart(8);
    console.log(`${c.name.padEnd(22)} estimate ${mib(row.estimate_bytes)} MiB  measured ${mib(row.measured_peak_bytes)} MiB  ratio ${row.ratio.toFixed(4)}`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
if (!ONLY) {
  const out = path.join(ROOT, 'test/fixtures/device-memory-calibration.json');
  const doc = { trainer: path.relative(ROOT, TRAINER), ops: 'host_ops (TUNER_DEVICE_OPS=host)', date: new Date().toISOString().slice(0, 10), rows };
  fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${path.relative(ROOT, out)}`);
}
