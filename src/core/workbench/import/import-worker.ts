// Worker-thread entry of the dataset import (bundled as dist/import-worker.js): the readers
// (Parquet row groups, CSV, Arrow, JSON, PDF, Word) decode here, off the extension host, so a
// large row group or document never blocks the editor and a file that exhausts memory ends this
// thread, not the host. Each worker runs one job and posts progress, then the result or the error.
// An import stops short of its last step: its temp files are complete, and the host renames them
// into place (import-client.ts), so a cancel, which terminates this thread, leaves nothing behind.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { useL10nBundle, type L10nBundle } from '../../l10n-bundle';
import { candidateArrays, type JsonArrayCandidate } from './json';
import type { MappingPlan } from './mapping';
import { sampleSource, stageImport, type ImportSource, type ImportSummary, type SourceSample } from './pipeline';

export type ImportWorkerJob =
  /** The first records, for the mapping step and its preview. */
  | { kind: 'sample'; source: ImportSource; count: number }
  /** The arrays of a JSON file that could hold the records (the whole file is scanned). */
  | { kind: 'json-arrays'; file: string }
  /** The whole import, written to the temp files of stagedPathsFor(output). */
  | { kind: 'import'; source: ImportSource; plan: MappingPlan; output: string };

export type ImportWorkerResult = SourceSample | JsonArrayCandidate[] | ImportSummary;

export interface ImportWorkerInput {
  job: ImportWorkerJob;
  /** The display language's messages (l10n-bundle.ts); none for English. */
  l10n?: L10nBundle;
}

export type ImportWorkerMessage =
  | { type: 'progress'; fraction: number; records: number }
  | { type: 'result'; result: ImportWorkerResult }
  /** name: ImportError for a source that cannot be read (the message names file and row). */
  | { type: 'error'; name: string; message: string };

export async function runImportJob(job: ImportWorkerJob, post: (m: ImportWorkerMessage) => void): Promise<void> {
  try {
    let result: ImportWorkerResult;
    switch (job.kind) {
      case 'sample': result = await sampleSource(job.source, job.count); break;
      case 'json-arrays': result = await candidateArrays(job.file); break;
      case 'import': result = await stageImport(job.source, job.plan, { output: job.output, onProgress: (fraction, records) => post({ type: 'progress', fraction, records }) }); break;
    }
    post({ type: 'result', result });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'error', name: err.name, message: err.message });
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const input = workerData as ImportWorkerInput;
  useL10nBundle(input.l10n);
  void runImportJob(input.job, (m) => port.postMessage(m));
}
