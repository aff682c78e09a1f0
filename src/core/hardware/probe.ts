// Probes this machine: CPU and RAM from the native addon (falling back to Node's os module when
// the addon is not built), GPUs from NVML through the addon (falling back to nvidia-smi, then to
// the engine's CUDA runtime), whether the engine can use them (its CUDA backend), and free disk
// where the run writes. Never throws: whatever cannot be probed is listed in `notes`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { loadAddon, type TunerAddon } from '../engine/addon';
import { queryNvidiaSmi } from './nvidia-smi';
import type { GpuInfo, HardwareProfile } from './types';
import * as l10n from '@vscode/l10n';

export interface ProbeOptions {
  /** The addon to ask; by default the package's own (undefined when it cannot be loaded). */
  addon?: TunerAddon | null;
  /** nvidia-smi executable for the fallback (tests point it at a script). */
  nvidiaSmi?: string;
  /** Folder whose file system's free space is reported (the workspace). */
  diskPath?: string;
  timeoutMs?: number;
}

function defaultAddon(notes: string[]): TunerAddon | undefined {
  try {
    return loadAddon();
  } catch (e) {
    notes.push(l10n.t('native addon not loaded ({0}); CPU details from Node', (e as Error).message.split('. ')[0]));
    return undefined;
  }
}

function diskFree(dir: string, notes: string[]): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch (e) {
    notes.push(l10n.t('free disk space of {0} unknown: {1}', dir, (e as Error).message));
    return undefined;
  }
}

export async function probeHardware(opts: ProbeOptions = {}): Promise<HardwareProfile> {
  const notes: string[] = [];
  const addon = opts.addon === null ? undefined : opts.addon ?? defaultAddon(notes);
  let profile: HardwareProfile;
  const hw = addon?.hardware();
  if (hw) {
    profile = {
      cpuModel: hw.cpuModel,
      cores: hw.cores,
      threads: hw.threads,
      cpuFeatures: Object.entries(hw.features).filter(([, on]) => on).map(([k]) => k),
      ramTotalBytes: hw.ramTotalBytes,
      ramAvailableBytes: hw.ramAvailableBytes,
      gpus: [],
      gpuSource: 'none',
      notes,
    };
  } else {
    const cpus = os.cpus();
    profile = {
      cpuModel: cpus[0]?.model.trim() ?? l10n.t('unknown CPU'),
      cores: cpus.length,
      threads: cpus.length,
      cpuFeatures: [],
      ramTotalBytes: os.totalmem(),
      ramAvailableBytes: os.freemem(),
      gpus: [],
      gpuSource: 'none',
      notes,
    };
  }

  let gpus: GpuInfo[] | undefined;
  const nvml = addon?.gpus?.();
  if (nvml?.available) {
    gpus = nvml.gpus.map((g) => ({ ...g, memoryTotalBytes: g.memoryTotalBytes ?? 0 }));
    profile.gpuSource = 'nvml';
  } else {
    if (nvml && nvml.reason) notes.push(`NVML: ${nvml.reason}`);
    const smi = await queryNvidiaSmi(opts.nvidiaSmi, opts.timeoutMs);
    if (smi.gpus) {
      gpus = smi.gpus;
      profile.gpuSource = 'nvidia-smi';
    } else if (smi.note) {
      notes.push(smi.note);
    }
  }
  const cuda = hw?.cuda;
  if (cuda) {
    profile.cuda = { builtWithCuda: cuda.builtWithCuda, devices: cuda.devices.length, driverVersion: cuda.driverVersion, runtimeVersion: cuda.runtimeVersion, reason: cuda.reason };
    if (!gpus && cuda.devices.length > 0) {
      gpus = cuda.devices.map((d) => ({ index: d.index, name: d.name, memoryTotalBytes: d.memoryTotalBytes, memoryFreeBytes: d.memoryFreeBytes, computeCapability: d.computeCapability }));
      profile.gpuSource = 'cuda-runtime';
    }
    // NVML and the CUDA runtime number GPUs the same way unless CUDA_VISIBLE_DEVICES reorders them:
    // add the runtime's SM count and peak to the GPU of the same index and name.
    for (const g of gpus ?? []) {
      const d = cuda.devices.find((x) => x.index === g.index && x.name === g.name);
      if (d) Object.assign(g, { smCount: d.smCount, bf16PeakTflops: d.bf16PeakTflops, bf16PeakSource: d.bf16PeakSource });
    }
  }
  profile.gpus = gpus ?? [];
  if (opts.diskPath) {
    profile.diskPath = opts.diskPath;
    profile.diskFreeBytes = diskFree(opts.diskPath, notes);
  }
  return profile;
}
