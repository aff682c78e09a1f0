// Runs data preparation in a worker thread so the editor stays responsive: progress arrives as
// messages; aborting asks the worker to stop cleanly (it removes its staging folder).
import type { ResolvedArgs } from '../args/fields';
import { OutsideWorkspaceError, type Confinement } from './prepare-paths';
import type { PrepareOutcome, PrepareWorkerInput, PrepareWorkerMessage } from './prepare-worker';
import * as l10n from '@vscode/l10n';
import { l10nBundle } from '../l10n-bundle';
import { runWorkerJob } from '../worker-job';

export interface PrepareCallbacks {
  onStage?: (message: string) => void;
  onProgress?: (p: { fraction: number; records: number; tokens: number }) => void;
}

/**
 * Prepares in a worker. Rejects with OutsideWorkspaceError when ARGS.json names a path outside
 * `confine.workspace` (default: the folder of ARGS.json) that is not in `confine.allowed`.
 */
export function prepareInWorker(workerPath: string, args: ResolvedArgs, argsFile: string, cb: PrepareCallbacks = {}, signal?: AbortSignal, outDir?: string, confine?: Confinement): Promise<PrepareOutcome> {
  return runWorkerJob<PrepareWorkerMessage, PrepareOutcome>(
    workerPath,
    (cancel): PrepareWorkerInput => ({ args, argsFile, outDir, confine, cancel, l10n: l10nBundle() }),
    (m, done) => {
      switch (m.type) {
        case 'stage': cb.onStage?.(m.message); break;
        case 'progress': cb.onProgress?.(m); break;
        case 'result': done.resolve(m.outcome); break;
        case 'error': {
          const e = m.outside ? new OutsideWorkspaceError(m.outside.workspace, m.outside.paths) : new Error(m.message);
          if (m.cancelled) e.name = 'AbortError';
          done.reject(e);
          break;
        }
      }
    },
    (code) => l10n.t('the preparation worker stopped (exit code {0}) before it finished', code),
    signal,
  );
}
