// Runs the cleaning pipeline in a worker thread so the editor stays responsive: progress arrives
// as messages; aborting asks the worker to stop at its next check (it removes its partial files).
import { Worker } from 'node:worker_threads';
import type { CleanProgress, CleanResult } from './pipeline';
import type { Recipe } from './recipe';
import type { CleanWorkerInput, CleanWorkerMessage } from './clean-worker';
import { l10nBundle } from '../../l10n-bundle';
import * as l10n from '@vscode/l10n';

export interface CleanJob {
  input: string;
  recipe: Recipe;
  recipeDir: string;
  outDir?: string;
}

export function cleanInWorker(workerPath: string, job: CleanJob, onProgress?: (p: CleanProgress) => void, signal?: AbortSignal): Promise<CleanResult> {
  return new Promise<CleanResult>((resolve, reject) => {
    const cancel = new SharedArrayBuffer(4);
    const input: CleanWorkerInput = { ...job, cancel, l10n: l10nBundle() };
    const worker = new Worker(workerPath, { workerData: input });
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => Atomics.store(new Int32Array(cancel), 0, 1);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: CleanWorkerMessage) => {
      switch (m.type) {
        case 'progress': onProgress?.(m); break;
        case 'result': settle(() => resolve(m.result)); break;
        case 'error': {
          const e = new Error(m.message);
          if (m.cancelled) e.name = 'AbortError';
          settle(() => reject(e));
          break;
        }
      }
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(l10n.t('the cleaning worker stopped (exit code {0}) before it finished', code)))));
  });
}
