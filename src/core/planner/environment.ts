// The planner's view of one workspace: hardware (probed or described), models and datasets found
// on disk, and the estimator. Built once per chat request; the tools and the rule planner read it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HardwareProfile } from '../hardware/types';
import { findModel, inspectDataset, listDatasets, listLocalModels, type DatasetInfo, type LocalModel } from './context';
import type { Estimator } from './estimator';
import { defaultEstimator, engineEstimator, type CpuSpeed } from './engine-estimator';
import type { PlannerEnvironment } from './tools';
import * as l10n from '@vscode/l10n';

export interface EnvironmentOptions {
  /** Folder ARGS.json lives in; every relative path is relative to it. */
  workspaceDir: string;
  hardware: HardwareProfile;
  estimator?: Estimator;
  /** This machine's CPU speed for time estimates (without it: a stated guess from the cores). */
  cpuSpeed?: CpuSpeed;
  memoryLimitBytes?: number;
  hubCacheDir?: string;
}

export interface WorkspaceEnvironment extends PlannerEnvironment {
  workspaceDir: string;
  datasets(): string[];
  /** Inspects the data with the tokenizer of `modelDir` when given; undefined if unreadable. */
  tryInspect(ref: string, modelDir?: string): DatasetInfo | undefined;
}

export function workspaceEnvironment(o: EnvironmentOptions): WorkspaceEnvironment {
  let models: LocalModel[] | undefined;
  const inspected = new Map<string, DatasetInfo>();
  const resolve = (ref: string) => path.resolve(o.workspaceDir, ref);
  const inside = (ref: string) => {
    const file = resolve(ref);
    if (path.relative(o.workspaceDir, file).startsWith('..')) throw new Error(l10n.t('{0} is outside the workspace folder {1}', ref, o.workspaceDir));
    return file;
  };
  const env: WorkspaceEnvironment = {
    workspaceDir: o.workspaceDir,
    hardware: o.hardware,
    estimator: o.estimator ?? (o.cpuSpeed ? engineEstimator(o.cpuSpeed) : defaultEstimator),
    memoryLimitBytes: o.memoryLimitBytes,
    models: () => (models ??= listLocalModels(o.workspaceDir, o.hubCacheDir)),
    findModel: (ref) => findModel(ref, o.workspaceDir, env.models(), o.hubCacheDir),
    dataExists: (ref) => fs.existsSync(resolve(ref)) && fs.statSync(resolve(ref)).isFile(),
    datasets: () => listDatasets(o.workspaceDir),
    inspectDataset: (ref) => {
      const file = inside(ref);
      if (!fs.existsSync(file)) throw new Error(l10n.t('{0} not found in {1}; JSON lines files here: {2}', ref, o.workspaceDir, listDatasets(o.workspaceDir).join(', ') || 'none'));
      const hit = inspected.get(file);
      if (hit) return hit;
      const info = inspectDataset(file, ref);
      inspected.set(file, info);
      return info;
    },
    tryInspect: (ref, modelDir) => {
      try {
        const file = inside(ref);
        if (!fs.existsSync(file)) return undefined;
        const info = inspectDataset(file, ref, modelDir);
        inspected.set(file, info);
        return info;
      } catch {
        return undefined;
      }
    },
    datasetShape: (ref) => {
      const d = inspected.get(resolve(ref)) ?? env.tryInspect(ref);
      return d ? { records: d.records, meanTokens: d.tokens.mean } : undefined;
    },
  };
  return env;
}
