// Worker-thread entry of the cleaning pipeline (bundled as dist/clean-worker.js): runs the recipe
// and posts progress, then the result. Cancelling sets a shared flag the pipeline checks, so its
// partial outputs are removed and the earlier ones stay as they were.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { useL10nBundle, type L10nBundle } from '../../l10n-bundle';
import { cleanDataset, type CleanProgress, type CleanResult } from './pipeline';
import type { Recipe } from './recipe';

export interface CleanWorkerInput {
  input: string;
  recipe: Recipe;
  recipeDir: string;
  outDir?: string;
  /** Int32Array over a SharedArrayBuffer: [0] != 0 asks the worker to stop. */
  cancel: SharedArrayBuffer;
  /** The display language's messages (l10n-bundle.ts); none for English. */
  l10n?: L10nBundle;
}

export type CleanWorkerMessage =
  | ({ type: 'progress' } & CleanProgress)
  | { type: 'result'; result: CleanResult }
  | { type: 'error'; message: string; cancelled: boolean };

export function runCleaning(input: CleanWorkerInput, post: (m: CleanWorkerMessage) => void): void {
  const flag = new Int32Array(input.cancel);
  try {
    const result = cleanDataset({
      input: input.input, recipe: input.recipe, recipeDir: input.recipeDir, outDir: input.outDir,
      onProgress: (p) => post({ type: 'progress', ...p }),
      cancelled: () => Atomics.load(flag, 0) !== 0,
    });
    post({ type: 'result', result });
  } catch (e) {
    const err = e as Error;
    post({ type: 'error', message: err.message ?? String(e), cancelled: err.name === 'AbortError' });
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  useL10nBundle((workerData as CleanWorkerInput).l10n);
  runCleaning(workerData as CleanWorkerInput, (m) => port.postMessage(m));
}
