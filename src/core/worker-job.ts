// One job in a worker thread, as the long-running cores (data preparation, cleaning) run theirs:
// the worker gets its input in workerData with a shared cancel flag, its messages are handed to
// the caller, and the promise settles once (result, error, or the worker stopping early), after
// which the worker is terminated. Aborting sets the flag rather than terminating at once, so the
// worker stops at its next check and removes its partial files itself.
import { Worker } from 'node:worker_threads';

export interface WorkerJobSettle<R> {
  resolve: (result: R) => void;
  reject: (error: Error) => void;
}

/**
 * Starts `workerPath` with `input(cancel)` as workerData; `onMessage` sees every message and
 * settles through `done`; `stoppedEarly(code)` is the error when the worker exits unsettled.
 */
export function runWorkerJob<M, R>(
  workerPath: string,
  input: (cancel: SharedArrayBuffer) => unknown,
  onMessage: (m: M, done: WorkerJobSettle<R>) => void,
  stoppedEarly: (code: number) => string,
  signal?: AbortSignal,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const cancel = new SharedArrayBuffer(4);
    const worker = new Worker(workerPath, { workerData: input(cancel) });
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
    const done: WorkerJobSettle<R> = {
      resolve: (r) => settle(() => resolve(r)),
      reject: (e) => settle(() => reject(e)),
    };
    worker.on('message', (m: M) => onMessage(m, done));
    worker.on('error', (e) => done.reject(e));
    worker.on('exit', (code) => done.reject(new Error(stoppedEarly(code))));
  });
}
