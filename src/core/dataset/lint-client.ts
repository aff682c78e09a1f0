// Runs the linter in a worker thread so the editor never waits on a large file: progress
// arrives as messages, and aborting terminates the worker at once.

import { Worker } from 'node:worker_threads';
import type { LintOptions, LintResult } from './lint';
import type { LintWorkerInput, LintWorkerMessage } from './lint-worker';
import type { Problem } from './problem';

function abortError(): Error {
  const e = new Error('Linting was cancelled');
  e.name = 'AbortError';
  return e;
}

/**
 * Lints `input.text` (editor text) or `input.filePath` (read from disk in chunks) in a worker
 * started from `workerPath` (dist/lint-worker.js, or out/src/core/dataset/lint-worker.js).
 */
export function lintInWorker(
  workerPath: string,
  input: { text?: string; filePath?: string },
  options: LintOptions,
  onProgress?: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<LintResult> {
  return new Promise<LintResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError());
      return;
    }
    const data: LintWorkerInput = { text: input.text, filePath: input.filePath, options };
    const worker = new Worker(workerPath, { workerData: data });
    let settled = false;
    const batches: string[] = [];
    let resultSeen = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      settle(() => reject(abortError()));
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: LintWorkerMessage) => {
      if (m.type === 'progress') {
        if (!settled) onProgress?.(m.fraction);
      } else if (m.type === 'problems') {
        batches.push(m.json);
      } else if (m.type === 'result') {
        resultSeen = true;
        void worker.terminate();
        // Messages that arrived together are handled in one turn of the event loop, so the
        // batches are parsed here, one per turn, to keep each pause short.
        const problems: Problem[] = [];
        let next = 0;
        const parseBatch = (): void => {
          if (settled) return;
          if (next < batches.length) {
            for (const p of JSON.parse(batches[next++]) as Problem[]) problems.push(p);
            setImmediate(parseBatch);
          } else {
            settle(() => resolve({ ...m.result, problems }));
          }
        };
        parseBatch();
      } else {
        settle(() => reject(new Error(`Linting failed: ${m.message}`)));
        void worker.terminate();
      }
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => {
      if (!resultSeen) settle(() => reject(new Error(`The lint worker stopped (exit code ${code}) before it finished`)));
    });
  });
}
