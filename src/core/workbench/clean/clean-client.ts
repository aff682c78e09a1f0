// Runs the cleaning pipeline in a worker thread so the editor stays responsive: progress arrives
// as messages; aborting asks the worker to stop at its next check (it removes its partial files).
import type { CleanProgress, CleanResult } from './pipeline';
import type { Recipe } from './recipe';
import type { CleanWorkerInput, CleanWorkerMessage } from './clean-worker';
import { l10nBundle } from '../../l10n-bundle';
import { runWorkerJob } from '../../worker-job';
import * as l10n from '@vscode/l10n';

export interface CleanJob {
  input: string;
  recipe: Recipe;
  recipeDir: string;
  outDir?: string;
}

export function cleanInWorker(workerPath: string, job: CleanJob, onProgress?: (p: CleanProgress) => void, signal?: AbortSignal): Promise<CleanResult> {
  return runWorkerJob<CleanWorkerMessage, CleanResult>(
    workerPath,
    (cancel): CleanWorkerInput => ({ ...job, cancel, l10n: l10nBundle() }),
    (m, done) => {
      switch (m.type) {
        case 'progress': onProgress?.(m); break;
        case 'result': done.resolve(m.result); break;
        case 'error': {
          const e = new Error(m.message);
          if (m.cancelled) e.name = 'AbortError';
          done.reject(e);
          break;
        }
      }
    },
    (code) => l10n.t('the cleaning worker stopped (exit code {0}) before it finished', code),
    signal,
  );
}
