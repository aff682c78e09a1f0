// The hardware probe: nvidia-smi's CSV parsed (real output lines of several drivers, N/A fields,
// garbage), the probe falling back from NVML to nvidia-smi (an executable script standing in for
// the driver tool, which this machine does not have), and the addon's real CPU/RAM/NVML answers.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { loadAddon } from '../../../src/core/engine/addon';
import { NVIDIA_SMI_ARGS, parseNvidiaSmiCsv } from '../../../src/core/hardware/nvidia-smi';
import { probeHardware } from '../../../src/core/hardware/probe';

const MiB = 1024 * 1024;

test('nvidia-smi CSV: two GPUs with memory in MiB, driver and compute capability', () => {
  const gpus = parseNvidiaSmiCsv('0, NVIDIA GeForce RTX 4090, 24564, 23016, 550.54.15, 8.9\n1, NVIDIA A100-SXM4-80GB, 81920, 81037, 550.54.15, 8.0\n');
  assert.deepEqual(gpus, [
    { index: 0, name: 'NVIDIA GeForce RTX 4090', memoryTotalBytes: 24564 * MiB, memoryFreeBytes: 23016 * MiB, driverVersion: '550.54.15', computeCapability: '8.9' },
    { index: 1, name: 'NVIDIA A100-SXM4-80GB', memoryTotalBytes: 81920 * MiB, memoryFreeBytes: 81037 * MiB, driverVersion: '550.54.15', computeCapability: '8.0' },
  ]);
});

test('nvidia-smi CSV: [N/A] fields become undefined, a comma in the name is kept, bad lines are named', () => {
  const [g] = parseNvidiaSmiCsv('0, Tesla T4, 15360, [N/A], 470.82.01, [Not Supported]\r\n');
  assert.equal(g.memoryFreeBytes, undefined);
  assert.equal(g.computeCapability, undefined);
  assert.equal(parseNvidiaSmiCsv('0, Odd, Name, 1024, 1000, 1.0, 7.5')[0].name, 'Odd,Name');
  assert.throws(() => parseNvidiaSmiCsv('\nNVIDIA-SMI has failed because it could not communicate'), /line 2: expected 6 comma-separated fields/);
  assert.throws(() => parseNvidiaSmiCsv('x, GPU, lots, 1, 1, 1'), /line 1: index "x" or memory.total "lots" is not a number/);
  assert.match(NVIDIA_SMI_ARGS[0], /^--query-gpu=index,name,memory.total,memory.free,driver_version,compute_cap$/);
});

test('without NVML the probe asks nvidia-smi, and reports why when that fails too', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-smi-'));
  const smi = path.join(dir, 'nvidia-smi');
  fs.writeFileSync(smi, `#!/bin/sh\n[ "$1" = "${NVIDIA_SMI_ARGS[0]}" ] || exit 9\necho "0, NVIDIA L4, 23034, 22700, 535.104.05, 8.9"\n`, { mode: 0o755 });
  const noNvml = { version: () => '0', hardware: () => loadAddon().hardware(), gpus: () => ({ available: false, reason: 'libnvidia-ml.so.1 not found (no NVIDIA driver)', gpus: [] }) };
  const hw = await probeHardware({ addon: noNvml, nvidiaSmi: smi, diskPath: dir });
  assert.equal(hw.gpuSource, 'nvidia-smi');
  assert.equal(hw.gpus[0].name, 'NVIDIA L4');
  assert.ok(hw.diskFreeBytes! > 0);
  assert.ok(hw.notes.some((n) => /NVML: libnvidia-ml/.test(n)));
  const none = await probeHardware({ addon: noNvml, nvidiaSmi: path.join(dir, 'absent') });
  assert.equal(none.gpuSource, 'none');
  assert.deepEqual(none.gpus, []);
  assert.ok(none.notes.some((n) => /nvidia-smi not found/.test(n)));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the real addon: CPU, RAM and an NVML answer (GPUs, or why there are none)', async () => {
  const addon = loadAddon();
  const hw = await probeHardware({ addon, diskPath: os.tmpdir() });
  assert.ok(hw.cores >= 1 && hw.ramTotalBytes > 0 && hw.cpuModel.length > 0);
  const nvml = addon.gpus?.();
  assert.ok(nvml, 'this addon build exports gpus()');
  if (nvml.available) assert.equal(hw.gpuSource, 'nvml');
  else assert.match(nvml.reason ?? '', /libnvidia-ml|nvmlInit|entry points/);
});

test('with no addon the probe still answers from Node', async () => {
  const hw = await probeHardware({ addon: null, nvidiaSmi: '/nonexistent/nvidia-smi' });
  assert.ok(hw.cores >= 1 && hw.ramTotalBytes > 0);
  assert.deepEqual(hw.gpus, []);
});

test('the engine\'s CUDA runtime: SM count and peak join NVML\'s GPU; it lists the GPUs when NVML and nvidia-smi cannot', async () => {
  const cpu = loadAddon().hardware();
  const h100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', smCount: 132, clockKHz: 1980000, memoryTotalBytes: 80 * 1024 * MiB, memoryFreeBytes: 79 * 1024 * MiB, bf16PeakTflops: 989, bf16PeakSource: 'NVIDIA datasheet (H100 SXM)' };
  const cuda = { builtWithCuda: true, driverVersion: '12.4', runtimeVersion: '13.0', devices: [h100] };
  const withNvml = { version: () => '0', hardware: () => ({ ...cpu, cuda }), gpus: () => ({ available: true, gpus: [{ index: 0, name: h100.name, memoryTotalBytes: h100.memoryTotalBytes, driverVersion: '550.54.15' }] }) };
  const hw = await probeHardware({ addon: withNvml });
  assert.equal(hw.gpuSource, 'nvml');
  assert.equal(hw.gpus[0].smCount, 132);
  assert.equal(hw.gpus[0].bf16PeakTflops, 989);
  assert.equal(hw.gpus[0].driverVersion, '550.54.15');
  assert.deepEqual(hw.cuda, { builtWithCuda: true, devices: 1, driverVersion: '12.4', runtimeVersion: '13.0', reason: undefined });
  const noProbe = { version: () => '0', hardware: () => ({ ...cpu, cuda }), gpus: () => ({ available: false, reason: 'nvmlInit failed', gpus: [] }) };
  const fromRuntime = await probeHardware({ addon: noProbe, nvidiaSmi: '/nonexistent/nvidia-smi' });
  assert.equal(fromRuntime.gpuSource, 'cuda-runtime');
  assert.equal(fromRuntime.gpus[0].name, h100.name);
  assert.equal(fromRuntime.gpus[0].memoryFreeBytes, h100.memoryFreeBytes);
});

test('the real addon says whether its engine can use CUDA, and why not', async () => {
  const cuda = loadAddon().hardware().cuda;
  assert.ok(cuda, 'this addon build reports cuda (rebuild it with npm run build:native)');
  if (!cuda.builtWithCuda) assert.equal(cuda.reason, 'built without CUDA');
  else assert.match(cuda.runtimeVersion, /^\d+\.\d+$/);
  if (cuda.devices.length === 0) assert.ok((cuda.reason ?? '').length > 0);
  const hw = await probeHardware({ nvidiaSmi: '/nonexistent/nvidia-smi' });
  assert.equal(hw.cuda?.devices, cuda.devices.length);
});
