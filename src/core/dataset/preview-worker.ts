// Long-lived worker for the editor's token preview (bundled as dist/preview-worker.js): loading
// a tokenizer takes seconds and tokenizing is CPU work, so neither runs on the extension host's
// thread. The prepared model/tokenizer is cached per ARGS.json content.
import * as path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { useL10nBundle, type L10nBundle } from '../l10n-bundle';
import type { ResolvedArgs } from '../args/fields';
import { planPreparation, type PreparePlan } from './prepare-setup';
import { previewRecord, type RecordPreview } from './preview';

export interface PreviewRequest {
  id: number;
  argsFile: string;
  args: ResolvedArgs;
  line: string;
  /** The workspace folder: a chat template file must be in it (default: the folder of ARGS.json). */
  workspace?: string;
}

export type PreviewResponse = { id: number; preview: RecordPreview; templateSource: string; eosWarning?: string } | { id: number; error: string };

const plans = new Map<string, PreparePlan>();

export function handlePreview(req: PreviewRequest): PreviewResponse {
  try {
    const key = `${req.argsFile}\n${req.workspace}\n${JSON.stringify(req.args)}`;
    let plan = plans.get(key);
    if (!plan) {
      // The preview reads no data and writes nothing: of ARGS.json's paths only the chat
      // template file is read, and it must be in the workspace like everything preparation reads.
      const argsDir = path.dirname(req.argsFile);
      plan = planPreparation(req.args, req.argsFile, argsDir, { workspace: req.workspace ?? argsDir, fields: ['chat_template'] });
      plans.clear(); // one tokenizer in memory at a time: they can be hundreds of MB
      plans.set(key, plan);
    }
    const o = plan.options;
    const preview = previewRecord(req.line, { format: o.format, modelName: o.modelName, trainOnAll: o.trainOnAll, maxLength: o.maxLength }, plan.renderer, plan.tokenizer);
    return { id: req.id, preview, templateSource: plan.templateSource, eosWarning: plan.eosWarning };
  } catch (e) {
    return { id: req.id, error: (e as Error).message };
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  useL10nBundle((workerData as { l10n?: L10nBundle } | null)?.l10n);
  port.on('message', (req: PreviewRequest) => port.postMessage(handlePreview(req)));
}
