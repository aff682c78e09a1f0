// GPU list from `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`: the fallback when the
// addon cannot load NVML itself (no addon build, or an older one). nvidia-smi ships with every
// NVIDIA driver, so where there is a GPU to use there is normally this tool.
import { execFile } from 'node:child_process';
import type { GpuInfo } from './types';
import * as l10n from '@vscode/l10n';

export const NVIDIA_SMI_FIELDS = ['index', 'name', 'memory.total', 'memory.free', 'driver_version', 'compute_cap'] as const;
export const NVIDIA_SMI_ARGS = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

const MiB = 1024 * 1024;

function optional(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t && t !== '[N/A]' && t !== 'N/A' && !t.startsWith('[Not Supported') ? t : undefined;
}

/** Parses the CSV; memory values are MiB (nounits). Throws naming the line that does not parse. */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    // GPU names contain no commas in practice, but split from both ends to be safe.
    const cells = line.split(',').map((c) => c.trim());
    if (cells.length < NVIDIA_SMI_FIELDS.length) throw new Error(l10n.t('nvidia-smi output line {0}: expected {1} comma-separated fields ({2}), got {3}', i + 1, NVIDIA_SMI_FIELDS.length, NVIDIA_SMI_FIELDS.join(', '), String(JSON.stringify(line))));
    const extra = cells.length - NVIDIA_SMI_FIELDS.length;
    const name = cells.slice(1, 2 + extra).join(',');
    const [index, total, free, driver, cc] = [cells[0], cells[2 + extra], cells[3 + extra], cells[4 + extra], cells[5 + extra]];
    const idx = Number(index), totalMiB = Number(total), freeMiB = Number(optional(free) ?? NaN);
    if (!Number.isInteger(idx) || !Number.isFinite(totalMiB)) throw new Error(l10n.t('nvidia-smi output line {0}: index {1} or memory.total {2} is not a number', i + 1, String(JSON.stringify(index)), String(JSON.stringify(total))));
    gpus.push({
      index: idx,
      name,
      memoryTotalBytes: totalMiB * MiB,
      memoryFreeBytes: Number.isFinite(freeMiB) ? freeMiB * MiB : undefined,
      driverVersion: optional(driver),
      computeCapability: optional(cc),
    });
  });
  return gpus;
}

/** Runs nvidia-smi (bounded by `timeoutMs`); resolves undefined with a reason when it is absent or fails. */
export function queryNvidiaSmi(binary = 'nvidia-smi', timeoutMs = 5000): Promise<{ gpus?: GpuInfo[]; note?: string }> {
  return new Promise((resolve) => {
    execFile(binary, NVIDIA_SMI_ARGS, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ note: code === 'ENOENT' ? l10n.t('nvidia-smi not found (no NVIDIA driver)') : l10n.t('nvidia-smi failed: {0}', err.message.split('\n')[0]) });
        return;
      }
      try {
        resolve({ gpus: parseNvidiaSmiCsv(stdout) });
      } catch (e) {
        resolve({ note: (e as Error).message });
      }
    });
  });
}
