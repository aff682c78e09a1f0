// Worker-thread entry of data preparation (bundled as dist/prepare-worker.js): loads the
// tokenizer, streams the dataset into shards and posts progress, then the report. Cancelling
// sets a shared flag the loop checks, so the staging folder is removed and the previous shards
// stay as they were.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { useL10nBundle, type L10nBundle } from '../l10n-bundle';
import type { ResolvedArgs } from '../args/fields';
import { prepareDataset, type PrepareReport } from './prepare';
import { OutsideWorkspaceError, type Confinement, type OutsidePath } from './prepare-paths';
import { planPreparation, type TemplateSource } from './prepare-setup';
import * as l10n from '@vscode/l10n';

export interface PrepareWorkerInput {
  args: ResolvedArgs;
  argsFile: string;
  outDir?: string;
  /** Where ARGS.json's paths may lead (default: the folder of ARGS.json). */
  confine?: Confinement;
  /** Int32Array over a SharedArrayBuffer: [0] != 0 asks the worker to stop. */
  cancel: SharedArrayBuffer;
  /** The display language's messages (l10n-bundle.ts); none for English. */
  l10n?: L10nBundle;
}

export interface PrepareOutcome {
  report: PrepareReport;
  outDir: string;
  modelDir: string;
  templateSource: TemplateSource;
  eosWarning: string | undefined;
}

export type PrepareWorkerMessage =
  | { type: 'stage'; message: string }
  | { type: 'progress'; fraction: number; records: number; tokens: number }
  | { type: 'result'; outcome: PrepareOutcome }
  | { type: 'error'; message: string; cancelled: boolean; outside?: { workspace: string; paths: OutsidePath[] } };

export function runPreparation(input: PrepareWorkerInput, post: (m: PrepareWorkerMessage) => void): void {
  const flag = new Int32Array(input.cancel);
  try {
    post({ type: 'stage', message: l10n.t('Loading the tokenizer') });
    const plan = planPreparation(input.args, input.argsFile, input.outDir, input.confine);
    post({ type: 'stage', message: 'Tokenizing' });
    const report = prepareDataset(plan.options, plan.renderer, plan.tokenizer, (p) => post({ type: 'progress', ...p }), () => Atomics.load(flag, 0) !== 0);
    post({ type: 'result', outcome: { report, outDir: plan.options.outDir, modelDir: plan.modelDir, templateSource: plan.templateSource, eosWarning: plan.eosWarning } });
  } catch (e) {
    const err = e as Error;
    const outside = e instanceof OutsideWorkspaceError ? { workspace: e.workspace, paths: e.paths } : undefined;
    post({ type: 'error', message: err.message ?? String(e), cancelled: err.name === 'AbortError', outside });
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  useL10nBundle((workerData as PrepareWorkerInput).l10n);
  runPreparation(workerData as PrepareWorkerInput, (m) => port.postMessage(m));
}
