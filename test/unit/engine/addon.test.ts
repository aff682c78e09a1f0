// The native addon loads from the build and reports this machine plausibly; a missing addon
// is a clear error naming where it looked and how to build it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { AddonLoadError, findPackageRoot, loadAddon } from '../../../src/core/engine/addon';

test('the addon reports the package version', () => {
  const root = findPackageRoot();
  assert.ok(root, 'package root found');
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(loadAddon().version(), pkg.version);
});

test('hardware() matches what Node.js sees of this machine', () => {
  const hw = loadAddon().hardware();
  assert.ok(hw.cpuModel.length > 0, 'cpu model is named');
  assert.ok(Number.isInteger(hw.threads) && hw.threads >= 1);
  assert.ok(hw.threads <= os.cpus().length, `threads ${hw.threads} <= ${os.cpus().length} CPUs`);
  assert.ok(Number.isInteger(hw.cores) && hw.cores >= 1 && hw.cores <= hw.threads);
  assert.ok(hw.ramTotalBytes > 64 * 2 ** 20, 'more than 64 MiB of RAM');
  assert.ok(hw.ramTotalBytes <= os.totalmem(), 'total not above what the OS reports');
  assert.ok(hw.ramAvailableBytes > 0 && hw.ramAvailableBytes <= hw.ramTotalBytes);
  for (const [name, value] of Object.entries(hw.features)) assert.equal(typeof value, 'boolean', name);
  // Feature implications that hold on every CPU: AVX-512 parts have AVX2 and FMA.
  if (hw.features.avx512f) assert.ok(hw.features.avx2 && hw.features.fma);
  const expectedKernel = hw.features.avx512f && hw.features.avx512bw && hw.features.avx512dq && hw.features.avx512vl
    ? 'avx512'
    : hw.features.avx2 && hw.features.fma ? 'avx2' : 'generic';
  assert.equal(hw.gemmKernel, expectedKernel);
  if (process.platform === 'linux' && process.arch === 'x64') {
    // /proc/cpuinfo lists the same instruction sets cpuid reports.
    const flags = new Set((/^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
    assert.equal(hw.features.avx2, flags.has('avx2'));
    assert.equal(hw.features.fma, flags.has('fma'));
    assert.equal(hw.features.f16c, flags.has('f16c'));
    assert.equal(hw.features.avx512f, flags.has('avx512f'));
  }
});

test('a folder without a built addon gives an error that says how to build it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-addon-'));
  try {
    assert.throws(() => loadAddon(dir), (err: unknown) => {
      assert.ok(err instanceof AddonLoadError);
      assert.match(err.message, /npm run build:native/);
      assert.ok(err.searched.some((p) => p.endsWith(path.join('Release', 'tuner.node'))));
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
