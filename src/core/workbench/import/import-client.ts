// The import's jobs run in a worker thread (import-worker.ts), one worker per job; this is the
// host's side. Cancelling terminates the worker at once, even inside a row group's decoding or
// a PDF page, then removes the import's temp files; the host renames them into place only when
// the worker has finished, so a cancelled or failed import leaves no output and no temp file.
// (Unlike src/core/worker-job.ts, which asks a worker to stop at its next check: the readers
// have no check inside one decode, and the host must know the worker is gone before cleaning up.)
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { l10nBundle } from '../../l10n-bundle';
import type { JsonArrayCandidate } from './json';
import type { MappingPlan } from './mapping';
import { commitImport, defaultOutputPath, discardStaged, stagedPathsFor, type ImportOptions, type ImportSource, type ImportSummary, type SourceSample, type StagedPaths } from './pipeline';
import { ImportError } from './source';
import type { ImportWorkerInput, ImportWorkerJob, ImportWorkerMessage, ImportWorkerResult } from './import-worker';
import * as l10n from '@vscode/l10n';

function cancelled(): Error {
  const e = new Error(l10n.t('import cancelled'));
  e.name = 'AbortError';
  return e;
}

function errorFrom(m: { name: string; message: string }): Error {
  const e = m.name === 'ImportError' ? new ImportError(m.message) : new Error(m.message);
  if (m.name === 'AbortError') e.name = m.name;
  return e;
}

/** Runs one job in a worker at `workerPath`; `staged` are the temp files to remove if it does not finish. */
function runJob(workerPath: string, job: ImportWorkerJob, what: string, options: { onProgress?(fraction: number, records: number): void; signal?: AbortSignal; staged?: StagedPaths } = {}): Promise<ImportWorkerResult> {
  const { signal, staged } = options;
  if (signal?.aborted) return Promise.reject(cancelled());
  return new Promise<ImportWorkerResult>((resolve, reject) => {
    const input: ImportWorkerInput = { job, l10n: l10nBundle() };
    const worker = new Worker(workerPath, { workerData: input });
    let settled = false;
    // Settles once; the worker is gone (and its temp files with it) before a failure is reported.
    const finish = (outcome: { result: ImportWorkerResult } | { error: Error }) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if ('result' in outcome) {
        void worker.terminate();
        resolve(outcome.result);
        return;
      }
      void worker.terminate().then(() => undefined, () => undefined).then(() => {
        if (staged) discardStaged(staged);
        reject(outcome.error);
      });
    };
    const onAbort = () => finish({ error: cancelled() });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ImportWorkerMessage) => {
      if (settled) return;
      switch (m.type) {
        case 'progress': options.onProgress?.(m.fraction, m.records); break;
        case 'result': finish({ result: m.result }); break;
        case 'error': finish({ error: errorFrom(m) }); break;
      }
    });
    worker.on('error', (e) => finish({ error: new ImportError(l10n.t('{0}: the import stopped: {1}', what, e.message)) }));
    worker.on('exit', (code) => finish({ error: new ImportError(l10n.t('{0}: the import stopped (exit code {1}) before it finished', what, code)) }));
  });
}

/** The first `count` records of a source (sampleSource), read in the worker. */
export async function sampleInWorker(workerPath: string, source: ImportSource, count = 20, signal?: AbortSignal): Promise<SourceSample> {
  return await runJob(workerPath, { kind: 'sample', source, count }, path.basename(source.path), { signal }) as SourceSample;
}

/** The arrays of a JSON file that could hold the records (candidateArrays), scanned in the worker. */
export async function jsonArraysInWorker(workerPath: string, file: string, signal?: AbortSignal): Promise<JsonArrayCandidate[]> {
  return await runJob(workerPath, { kind: 'json-arrays', file }, path.basename(file), { signal }) as JsonArrayCandidate[];
}

/** runImport in the worker: the same summary, errors and output; cancelling leaves neither output nor temp file. */
export async function importInWorker(workerPath: string, source: ImportSource, plan: MappingPlan, options: ImportOptions = {}): Promise<ImportSummary> {
  const output = options.output ?? defaultOutputPath(source, plan.format);
  const staged = stagedPathsFor(output);
  const summary = await runJob(workerPath, { kind: 'import', source, plan, output }, path.basename(source.path), { onProgress: options.onProgress, signal: options.signal, staged }) as ImportSummary;
  try {
    if (options.signal?.aborted) throw cancelled();
    return commitImport(summary, options);
  } catch (e) {
    discardStaged(staged);
    throw e;
  }
}
