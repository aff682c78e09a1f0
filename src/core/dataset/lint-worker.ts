// Worker-thread entry of the linter: lints editor text or a file on disk off the extension
// host's event loop and posts progress, then the result. Bundled as dist/lint-worker.js.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { lintText, type LintOptions, type LintResult } from './lint';
import { lintFile } from './stream-lint';

export interface LintWorkerInput {
  text?: string;
  filePath?: string;
  options: LintOptions;
}

export type LintWorkerMessage =
  | { type: 'progress'; fraction: number }
  | { type: 'result'; result: LintResult }
  | { type: 'error'; message: string };

function run(input: LintWorkerInput, post: (m: LintWorkerMessage) => void): void {
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
    else throw new Error('lint worker: give either "text" or "filePath"');
    post({ type: 'result', result });
  } catch (e) {
    post({ type: 'error', message: e instanceof Error ? `${e.message}` : String(e) });
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  run(workerData as LintWorkerInput, (m) => port.postMessage(m));
}
