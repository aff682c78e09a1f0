// Worker-thread entry of the linter: lints editor text or a file on disk off the extension
// host's event loop and posts progress, then the result. Bundled as dist/lint-worker.js. The
// thread stays alive between requests (lint-client keeps it warm), so its compiled code and
// heap are reused by the next lint.

import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { useL10nBundle, type L10nBundle } from '../l10n-bundle';
import { lintText, type LintOptions, type LintResult } from './lint';
import { lintFile } from './stream-lint';
import * as l10n from '@vscode/l10n';

export interface LintWorkerInput {
  text?: string;
  filePath?: string;
  options: LintOptions;
}

export interface LintWorkerRequest {
  id: number;
  input: LintWorkerInput;
}

/**
 * Problems travel in batches of JSON text: one structured clone of thousands of nested problem
 * objects would hold the receiving event loop for tens of milliseconds, while each batch parses
 * in a millisecond or two, between which the extension host keeps running.
 */
export type LintWorkerMessage = { id: number } & (
  | { type: 'progress'; fraction: number }
  | { type: 'problems'; json: string }
  | { type: 'result'; result: LintResult }
  | { type: 'error'; message: string }
);

export const PROBLEM_BATCH = 500;

type Body<T> = T extends unknown ? Omit<T, 'id'> : never;

function run(input: LintWorkerInput, post: (m: Body<LintWorkerMessage>) => void): void {
  let last = -1;
  const progress = (fraction: number): void => {
    // Whole percents only: a message per chunk is plenty for a progress bar.
    const pct = Math.floor(fraction * 100);
    if (pct !== last) {
      last = pct;
      post({ type: 'progress', fraction });
    }
  };
  try {
    let result: LintResult;
    if (typeof input.text === 'string') result = lintText(input.text, input.options, progress);
    else if (typeof input.filePath === 'string') result = lintFile(input.filePath, input.options, progress);
    else throw new Error(l10n.t('lint worker: give either "text" or "filePath"'));
    for (let i = 0; i < result.problems.length; i += PROBLEM_BATCH) {
      post({ type: 'problems', json: JSON.stringify(result.problems.slice(i, i + PROBLEM_BATCH)) });
    }
    post({ type: 'result', result: { ...result, problems: [] } });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
  }
}

/**
 * Lowers this thread's scheduling priority (Linux: a thread id is a valid setpriority target),
 * so on a busy machine the editor's event loop gets the CPU first and never waits on linting.
 * Elsewhere, or if not permitted, the worker simply runs at normal priority.
 */
function yieldToEditor(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // not Linux, or not permitted: normal priority
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  useL10nBundle((workerData as { l10n?: L10nBundle } | null)?.l10n);
  yieldToEditor();
  port.on('message', (req: LintWorkerRequest) => {
    run(req.input, (m) => port.postMessage({ ...m, id: req.id }));
  });
}
