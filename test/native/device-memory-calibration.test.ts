// The GPU memory estimate's calibration, rerun: tuner-train's GPU path on host_ops for rows of
// test/fixtures/device-memory-calibration.json (a full fine-tune with checkpointing, a QLoRA nf4
// run) must allocate what the fixture recorded and what the estimate says, so a change to the
// device model's allocations fails here until scripts/calibrate-device-memory.mjs is rerun and
// src/core/args/estimate-device.ts follows it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { DEVICE_CALIBRATION_GRID, measureDeviceRow, type DeviceCalibrationRow } from './device-memory-runs';
import { findTool, REPO_ROOT } from './native-tools';
import { tempDir } from './trainer-fixtures';

const fixture = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'device-memory-calibration.json'), 'utf8')) as { rows: DeviceCalibrationRow[] };

describe('device memory calibration (tuner-train on host_ops)', () => {
  it('the fixture holds every case of the grid', () => {
    assert.deepEqual(fixture.rows.map((r) => r.name), DEVICE_CALIBRATION_GRID.map((c) => c.name));
  });
  for (const name of ['llama-full-ckpt', 'wide-qlora-nf4']) {
    it(`${name}: the trainer allocates what the fixture recorded and the estimate says`, () => {
      const c = DEVICE_CALIBRATION_GRID.find((x) => x.name === name)!;
      const row = measureDeviceRow(findTool('tuner-train'), c, tempDir(`devmem-${name}`));
      const recorded = fixture.rows.find((r) => r.name === name)!;
      assert.equal(row.measured_peak_bytes, recorded.measured_peak_bytes, 'rerun scripts/calibrate-device-memory.mjs');
      assert.ok(Math.abs(row.ratio - 1) <= 0.001, `estimate ${row.estimate_bytes} vs measured ${row.measured_peak_bytes}`);
    });
  }
});
