// This machine's CPU speed for time estimates, in the extension host: the engine's sgemm timed
// once through the addon (on a worker thread, ~200 ms) and kept in the extension's global
// storage per CPU model, thread count and kernel, so later windows read it instead of measuring;
// runs in the workspace's run store take precedence for their model shape (core/args/cpu-speed.ts).
import * as path from 'node:path';
import { cachedCpuMeasurement, cpuSpeedKey, cpuThroughputFor, type CpuGemmMeasurement } from '../core/args/cpu-speed';
import { loadAddon } from '../core/engine/addon';
import type { CpuSpeed } from '../core/planner/engine-estimator';
import { log } from './output';

let storageFile: string | undefined;
let pending: Promise<CpuGemmMeasurement | undefined> | undefined;
let done: CpuGemmMeasurement | undefined;

/** Where measurements are cached (the extension's globalStorageUri); call once at activation. */
export function setCpuSpeedStorage(dir: string): void {
  storageFile = path.join(dir, 'cpu-speed.json');
}

/** The sgemm measurement of this machine (cached, else taken now); undefined without the addon's probe. */
export function cpuMeasurement(): Promise<CpuGemmMeasurement | undefined> {
  pending ??= (async () => {
    try {
      const addon = loadAddon();
      const measure = addon.measureCpuThroughput;
      if (!measure) return undefined;
      const hw = addon.hardware();
      const key = cpuSpeedKey(hw.cpuModel, hw.threads, hw.gemmKernel);
      const run = () => measure(0, 200);
      const file = storageFile;
      const m = file ? await cachedCpuMeasurement(file, hw.cpuModel, key, run) : await run();
      if (m) log.info(`CPU speed for time estimates: ${m.gflops.toFixed(0)} GFLOP/s (the engine's sgemm, ${m.threads} threads, ${m.kernel})`);
      done = m;
      // Once a session, a minute in, the machine is timed again and the faster figure kept (a
      // first measurement taken while the machine was busy would otherwise stay for a month).
      if (file && m) setTimeout(() => void cachedCpuMeasurement(file, hw.cpuModel, key, run, Date.now(), true).then((again) => { if (again) done = again; }), 60_000).unref();
      return m;
    } catch (e) {
      log.error('measuring the CPU speed for time estimates', e);
      return undefined;
    }
  })();
  return pending;
}

/** The measurement when it has finished, else undefined (never waits). */
export function cpuMeasurementNow(): CpuGemmMeasurement | undefined {
  return done;
}

/** The planner's CPU speed for a workspace folder: its runs, else the measurement, else a guess. */
export async function workspaceCpuSpeed(workspaceDir: string): Promise<CpuSpeed> {
  const measurement = await cpuMeasurement();
  return (spec, hw) => cpuThroughputFor(spec, { runsDir: path.join(workspaceDir, 'runs'), measurement, cores: hw.cores, avx2: hw.cpuFeatures.includes('avx2') });
}
