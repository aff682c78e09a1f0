// Runs the linter in a worker thread so the editor never waits on a large file: progress
// arrives as messages, and aborting terminates the worker at once. One idle worker per
// worker script is kept warm for a while, so repeated lints (as the user types) skip thread
// start-up and run already-optimised code.

import { Worker } from 'node:worker_threads';
import type { LintOptions, LintResult } from './lint';
import type { LintWorkerMessage, LintWorkerRequest } from './lint-worker';
import type { Problem } from './problem';
import { l10nBundle } from '../l10n-bundle';
import * as l10n from '@vscode/l10n';

/**
 * A line longer than this is linted in the worker whatever the file's size: a record's length
 * is whoever wrote the file's to choose, and the editor's thread must not be the one that pays
 * for it.
 */
export const LONG_LINE_CHARS = 10_000;

/** Whether `content` (editor text, or the file's bytes) has a line longer than `limit`. */
export function hasLongLine(content: string | Uint8Array, limit = LONG_LINE_CHARS): boolean {
  if (content.length <= limit) return false;
  if (typeof content === 'string') {
    let start = 0;
    for (let nl = content.indexOf('\n'); nl >= 0; nl = content.indexOf('\n', start)) {
      if (nl - start > limit) return true;
      start = nl + 1;
    }
    return content.length - start > limit;
  }
  // Bytes: a line of more than `limit` characters has more than `limit` bytes in UTF-8, so this
  // may send a line of many multi-byte characters to the worker early, never one too long late.
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  let start = 0;
  for (let nl = bytes.indexOf(0x0a); nl >= 0; nl = bytes.indexOf(0x0a, start)) {
    if (nl - start > limit) return true;
    start = nl + 1;
  }
  return bytes.length - start > limit;
}

/** How long an idle worker is kept for the next lint. */
const IDLE_MS = 30_000;

const idleWorkers = new Map<string, { worker: Worker; timer: NodeJS.Timeout }>();
let nextId = 1;

function takeWorker(workerPath: string): Worker {
  const idle = idleWorkers.get(workerPath);
  if (idle) {
    idleWorkers.delete(workerPath);
    clearTimeout(idle.timer);
    idle.worker.ref();
    return idle.worker;
  }
  return new Worker(workerPath, { workerData: { l10n: l10nBundle() } });
}

function giveBack(workerPath: string, worker: Worker): void {
  if (idleWorkers.has(workerPath)) {
    void worker.terminate();
    return;
  }
  // Unreferenced, an idle worker never keeps the process alive.
  worker.unref();
  const timer = setTimeout(() => {
    if (idleWorkers.get(workerPath)?.worker === worker) idleWorkers.delete(workerPath);
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  idleWorkers.set(workerPath, { worker, timer });
  worker.once('exit', () => {
    if (idleWorkers.get(workerPath)?.worker === worker) idleWorkers.delete(workerPath);
  });
}

/** Stops the warm workers now (e.g. when the extension deactivates). */
export function disposeLintWorkers(): void {
  for (const { worker, timer } of idleWorkers.values()) {
    clearTimeout(timer);
    void worker.terminate();
  }
  idleWorkers.clear();
}

function abortError(): Error {
  const e = new Error(l10n.t('Linting was cancelled'));
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
    const id = nextId++;
    const worker = takeWorker(workerPath);
    const batches: string[] = [];
    let settled = false;
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (e: Error, terminate: boolean): void => {
      if (settled) return;
      settled = true;
      cleanup();
      if (terminate) void worker.terminate();
      else giveBack(workerPath, worker);
      reject(e);
    };
    const onAbort = (): void => fail(abortError(), true);
    const onError = (e: Error): void => fail(e, true);
    const onExit = (code: number): void => fail(new Error(l10n.t('The lint worker stopped (exit code {0}) before it finished', code)), false);
    const finish = (result: LintResult): void => {
      cleanup();
      giveBack(workerPath, worker);
      // Messages that arrived together are handled in one turn of the event loop, so the
      // problem batches are parsed here, one per turn, to keep each pause short.
      const problems: Problem[] = [];
      let next = 0;
      const parseBatch = (): void => {
        if (settled) return;
        if (next < batches.length) {
          for (const p of JSON.parse(batches[next++]) as Problem[]) problems.push(p);
          setImmediate(parseBatch);
        } else {
          settled = true;
          resolve({ ...result, problems });
        }
      };
      parseBatch();
    };
    const onMessage = (m: LintWorkerMessage): void => {
      if (m.id !== id || settled) return;
      if (m.type === 'progress') onProgress?.(m.fraction);
      else if (m.type === 'problems') batches.push(m.json);
      else if (m.type === 'result') finish(m.result);
      else fail(new Error(l10n.t('Linting failed: {0}', m.message)), false);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    const request: LintWorkerRequest = { id, input: { text: input.text, filePath: input.filePath, options } };
    worker.postMessage(request);
  });
}
