// The CPU speed a time estimate divides by, and where it came from. In order of preference: the
// newest finished run of the same model shape on this machine (its tokens per second include
// all the engine does), the engine's own sgemm timed here once (the addon's
// measureCpuThroughput, cached per CPU model, thread count and kernel in a JSON file of the
// extension's global storage), the newest finished run of another shape, and only when none of
// these exists a guess from the core count, which says it is one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec } from '../model/spec';
import { significant } from '../units';
import { writeFileAtomic } from '../atomic-file';
import { assumedCpuThroughput, type Throughput } from './estimate';
import { runThroughputs } from './throughput';
import * as l10n from '@vscode/l10n';

/** The addon's measureCpuThroughput() result (native/addon/throughput.cpp). */
export interface CpuGemmMeasurement {
  /** Median GFLOP/s of the timed rounds. */
  gflops: number;
  bestGflops?: number;
  threads: number;
  rounds?: number;
  ms?: number;
  kernel: string;
  shape?: string;
}

/** A measurement as kept in the cache file, with what it was measured on and when. */
export interface CachedCpuMeasurement extends CpuGemmMeasurement {
  cpuModel: string;
  measuredAt: string;
}

/** The machine a measurement holds for: the same CPU, pool size and sgemm kernel. */
export function cpuSpeedKey(cpuModel: string, threads: number, kernel: string): string {
  return `${cpuModel.trim()}|${threads} threads|${kernel}`;
}

/** A measurement older than this is taken again (a BIOS, kernel or engine update changes it). */
export const MEASUREMENT_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export function throughputFromMeasurement(m: CpuGemmMeasurement): Throughput {
  return { flopsPerSecond: m.gflops * 1e9, source: l10n.t('measured on this machine: {0} GFLOP/s (the engine\'s sgemm, {1} threads)', significant(m.gflops, 3), m.threads), kind: 'measured' };
}

function readCache(file: string): Record<string, CachedCpuMeasurement> {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, CachedCpuMeasurement>) : {};
  } catch {
    return {};
  }
}

function valid(m: CachedCpuMeasurement | undefined, now: number): m is CachedCpuMeasurement {
  return !!m && typeof m.gflops === 'number' && Number.isFinite(m.gflops) && m.gflops > 0 && now - Date.parse(m.measuredAt) < MEASUREMENT_MAX_AGE_MS;
}

/**
 * The cached measurement for `key`, else `measure()` once, written to `file` (other machines'
 * entries kept). A failed measurement is not cached and resolves undefined. With `remeasure`
 * the machine is timed again even when cached, and the faster of the two is kept: a machine
 * busy with other work when it was first timed is not taken for a slow one for a month.
 */
export async function cachedCpuMeasurement(file: string, cpuModel: string, key: string, measure: () => Promise<CpuGemmMeasurement>, now = Date.now(), remeasure = false): Promise<CachedCpuMeasurement | undefined> {
  const hit = readCache(file)[key];
  if (valid(hit, now) && !remeasure) return hit;
  let m: CpuGemmMeasurement;
  try {
    m = await measure();
  } catch {
    return valid(hit, now) ? hit : undefined;
  }
  if (!(Number.isFinite(m.gflops) && m.gflops > 0)) return valid(hit, now) ? hit : undefined;
  if (valid(hit, now) && hit.gflops >= m.gflops) return hit;
  const entry: CachedCpuMeasurement = { ...m, cpuModel, measuredAt: new Date(now).toISOString() };
  const all = { ...readCache(file), [key]: entry };
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(all, null, 2) + '\n');
  } catch {
    // read-only storage: the measurement still serves this session
  }
  return entry;
}

export interface CpuSpeedSources {
  /** The workspace's run store (runs/). */
  runsDir?: string;
  /** The engine's sgemm timed on this machine. */
  measurement?: CpuGemmMeasurement;
  cores: number;
  avx2: boolean;
}

/** The CPU speed for training `spec` here, by the order of preference above. */
export function cpuThroughputFor(spec: ModelSpec | undefined, s: CpuSpeedSources): Throughput {
  const runs = s.runsDir ? runThroughputs(s.runsDir, spec) : {};
  if (runs.sameShape) return runs.sameShape;
  if (s.measurement && s.measurement.gflops > 0) return throughputFromMeasurement(s.measurement);
  return runs.newest ?? assumedCpuThroughput(s.cores, s.avx2);
}
