// What a machine offers a training run: CPU, memory, GPUs and disk. The planner decides method,
// quantization and batch size from this; /hardware shows it. The same shape describes the
// machine a README is written for, so "train elsewhere" plans use the same rules.
import { formatBytes as formatUnitBytes } from '../units';
import * as l10n from '@vscode/l10n';

export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalBytes: number;
  /** Free when probed; undefined for a described (not probed) machine. */
  memoryFreeBytes?: number;
  /** e.g. "550.54.15" */
  driverVersion?: string;
  /** CUDA compute capability, e.g. "8.9" */
  computeCapability?: string;
  /** From the engine's CUDA runtime, when it sees this GPU. */
  smCount?: number;
  /** Dense bf16 tensor-core peak (TFLOP/s) and where the figure comes from (datasheet or computed). */
  bf16PeakTflops?: number;
  bf16PeakSource?: string;
}

export type GpuSource = 'nvml' | 'nvidia-smi' | 'cuda-runtime' | 'described' | 'none';

/** Whether this build of the engine can use the GPUs (docs/cuda.md): a CPU-only build cannot. */
export interface CudaEngineInfo {
  builtWithCuda: boolean;
  /** CUDA devices the engine's runtime found. */
  devices: number;
  driverVersion: string;
  runtimeVersion: string;
  /** Why no device is usable (built without CUDA, no driver, no GPU). */
  reason?: string;
}

export interface HardwareProfile {
  cpuModel: string;
  cores: number;
  threads: number;
  /** Instruction sets present (avx2, fma, avx512f, ...). */
  cpuFeatures: string[];
  ramTotalBytes: number;
  ramAvailableBytes: number;
  gpus: GpuInfo[];
  /** How the GPU list was obtained: NVML in the addon, nvidia-smi, the engine's CUDA runtime, a description, or none found. */
  gpuSource: GpuSource;
  /** The engine's CUDA backend as probed here; undefined for a described machine or an addon without it. */
  cuda?: CudaEngineInfo;
  /** Free space where the run writes its output. */
  diskFreeBytes?: number;
  diskPath?: string;
  /** Why a part of the probe is missing (no addon, NVML absent, nvidia-smi failed ...). */
  notes: string[];
}

export const GiB = 1024 ** 3;

export function formatBytes(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? 'unknown' : formatUnitBytes(n);
}

/** A described machine (for planning runs elsewhere and for tests): "2 x 48 GB GPUs, 256 GB RAM". */
export function describedHardware(opts: { gpus?: number; gpuMemoryGiB?: number; gpuName?: string; ramGiB: number; cores?: number }): HardwareProfile {
  const gpus: GpuInfo[] = [];
  for (let i = 0; i < (opts.gpus ?? 0); i++) {
    gpus.push({ index: i, name: opts.gpuName ?? l10n.t('GPU with {0} GB', String(opts.gpuMemoryGiB)), memoryTotalBytes: (opts.gpuMemoryGiB ?? 0) * GiB, computeCapability: undefined });
  }
  return {
    cpuModel: l10n.t('described machine'),
    cores: opts.cores ?? 8,
    threads: (opts.cores ?? 8) * 2,
    cpuFeatures: ['avx2', 'fma'],
    ramTotalBytes: opts.ramGiB * GiB,
    ramAvailableBytes: opts.ramGiB * GiB * 0.9,
    gpus,
    gpuSource: gpus.length > 0 ? 'described' : 'none',
    notes: [],
  };
}
