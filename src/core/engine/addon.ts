// Typed loader for Tuner's native addon (native/addon, built by `npm run build:native` into
// build/native/Release/tuner.node). Only cheap, safe calls run in the extension host; anything
// that can fault or exhaust memory runs in a child process (tuner-train, the inference worker).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';

/** Instruction sets the native kernels choose between at run time. */
export interface CpuFeatures {
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  avx512f: boolean;
  avx512bw: boolean;
  avx512dq: boolean;
  avx512vl: boolean;
  avx512bf16: boolean;
}

/** Whether the engine's bf16 products run its vdpbf16ps kernel on this CPU (native_kernel() in gemm_bf16.cpp). */
export function hasBf16Kernel(f: CpuFeatures): boolean {
  return f.avx512bf16 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl;
}

/** What the machine offers a run, as the native engine sees it. */
export interface NativeHardware {
  /** CPU brand string, e.g. "AMD EPYC 7B13". */
  cpuModel: string;
  /** Physical cores this process may use. */
  cores: number;
  /** Logical CPUs this process may use (affinity mask). */
  threads: number;
  features: CpuFeatures;
  /** Physical memory, capped by a cgroup limit when one is set. */
  ramTotalBytes: number;
  /** Memory that can be allocated without swapping. */
  ramAvailableBytes: number;
  /** The sgemm kernel the engine runs on this CPU: "avx512", "avx2" or "generic". */
  gemmKernel: string;
  /** The engine's CUDA devices; absent in addons built before the CUDA backend. */
  cuda?: NativeCuda;
}

/** One CUDA device as the engine's CUDA runtime sees it (native/include/tuner/cuda_device.h). */
export interface NativeCudaDevice {
  index: number;
  name: string;
  /** e.g. "9.0" */
  computeCapability: string;
  smCount: number;
  clockKHz: number;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  /** Dense bf16 tensor-core peak; 0 when the GPU has none. */
  bf16PeakTflops: number;
  /** "NVIDIA datasheet (H100 SXM)" or "computed: 132 SMs x 1.98 GHz x 4096 FLOP/clock/SM ...". */
  bf16PeakSource: string;
}

/** What this build of the engine can use for CUDA: none (with the reason) in a CPU-only build. */
export interface NativeCuda {
  builtWithCuda: boolean;
  /** CUDA version the driver supports ("12.4"), "none" without a driver. */
  driverVersion: string;
  /** CUDA runtime linked into the engine, "none" in a CPU-only build. */
  runtimeVersion: string;
  /** Why `devices` is empty. */
  reason?: string;
  devices: NativeCudaDevice[];
  /** cuBLASLt for the GEMMs, loaded at run time where a GPU is present: "cuBLASLt 13.0.1 loaded from …", "cuBLASLt not found: …". */
  cublasLt?: string;
}

/** One GPU as NVML reports it (native/addon/nvml.cpp). */
export interface NativeGpu {
  index: number;
  name: string;
  memoryTotalBytes?: number;
  memoryFreeBytes?: number;
  driverVersion?: string;
  computeCapability?: string;
}

/** NVML is loaded at run time; without an NVIDIA driver `available` is false and `reason` says why. */
export interface NativeGpus {
  available: boolean;
  reason?: string;
  gpus: NativeGpu[];
}

export interface TunerAddon {
  /** Version of the native engine (the package version it was built from). */
  version(): string;
  hardware(): NativeHardware;
  /** GPU probe through NVML; absent in addons built before it existed. */
  gpus?(): NativeGpus;
  /**
   * Times the engine's sgemm as training calls it (native/addon/throughput.cpp) on a worker
   * thread for about `budgetMs` (10-2000, default 200) on `threads` (0: all, as tuner-train);
   * absent in addons built before it existed.
   */
  measureCpuThroughput?(threads?: number, budgetMs?: number): Promise<CpuThroughputMeasurement>;
}

/** What measureCpuThroughput resolves with. */
export interface CpuThroughputMeasurement {
  /** Median GFLOP/s of the timed rounds (1e9 FLOP per second). */
  gflops: number;
  /** The fastest round. */
  bestGflops: number;
  threads: number;
  rounds: number;
  ms: number;
  /** The sgemm kernel: "avx512", "avx2" or "generic". */
  kernel: string;
  /** "MxNxK" of the products. */
  shape: string;
}

/** The addon is missing or cannot be loaded; the message says where it looked and what to do. */
export class AddonLoadError extends Error {
  constructor(
    message: string,
    readonly searched: string[],
  ) {
    super(message);
    this.name = 'AddonLoadError';
  }
}

/** Where cmake-js puts the addon, relative to the package root (release first). */
export const ADDON_RELATIVE_PATHS = [
  path.join('build', 'native', 'Release', 'tuner.node'),
  path.join('build', 'native', 'tuner.node'),
  path.join('build', 'native', 'Debug', 'tuner.node'),
];

/** The package root: the nearest folder at or above `start` whose package.json is Tuner's. */
export function findPackageRoot(start: string = __dirname): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (pkg.name === 'tuner') return dir;
    } catch {
      // Not here (or unreadable): keep walking up.
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Candidate addon paths for a package root, in the order they are tried. */
export function addonCandidates(packageRoot: string): string[] {
  return ADDON_RELATIVE_PATHS.map((p) => path.join(packageRoot, p));
}

let cached: TunerAddon | undefined;

/**
 * Loads the native addon (once per process). `packageRoot` defaults to the package this file
 * belongs to, found by walking up from it, so it works from out/ (tests) and dist/ (bundle).
 */
export function loadAddon(packageRoot?: string): TunerAddon {
  if (cached && packageRoot === undefined) return cached;
  const root = packageRoot ?? findPackageRoot();
  if (!root) {
    throw new AddonLoadError(
      l10n.t('Tuner\'s native addon: no package.json named "tuner" above {0}. Pass the extension folder to loadAddon().', __dirname),
      [],
    );
  }
  const searched = addonCandidates(root);
  const found = searched.find((p) => fs.existsSync(p));
  if (!found) {
    throw new AddonLoadError(
      l10n.t('Tuner\'s native addon was not found (looked for {0}). Build it with `npm run build:native` (needs cmake and a C++17 compiler).', searched.join(', ')),
      searched,
    );
  }
  let addon: TunerAddon;
  try {
    // A .node file can only be loaded through require(); its exports are typed below.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(found) as TunerAddon;
  } catch (err) {
    throw new AddonLoadError(
      l10n.t('Tuner\'s native addon at {0} failed to load: {1}. Rebuild it for this Node.js / Electron with `npm run build:native`.', found, (err as Error).message),
      searched,
    );
  }
  if (typeof addon.version !== 'function' || typeof addon.hardware !== 'function') {
    throw new AddonLoadError(
      l10n.t('{0} is not Tuner\'s addon (it has no version() / hardware()). Rebuild it with `npm run build:native`.', found),
      searched,
    );
  }
  if (packageRoot === undefined) cached = addon;
  return addon;
}
