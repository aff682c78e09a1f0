// Long-lived worker for the editor's token preview (bundled as dist/preview-worker.js): loading
// a tokenizer takes seconds and tokenizing is CPU work, so neither runs on the extension host's
// thread. The prepared model/tokenizer is cached per ARGS.json content.
import { isMainThread, parentPort } from 'node:worker_threads';
import type { ResolvedArgs } from '../args/fields';
import { planPreparation, type PreparePlan } from './prepare-setup';
import { previewRecord, type RecordPreview } from './preview';

export interface PreviewRequest {
  id: number;
  argsFile: string;
  args: ResolvedArgs;
  line: string;
}

export type PreviewResponse = { id: number; preview: RecordPreview; templateSource: string; eosWarning?: string } | { id: number; error: string };

const plans = new Map<string, PreparePlan>();

export function handlePreview(req: PreviewRequest): PreviewResponse {
  try {
    const key = `${req.argsFile}\n${JSON.stringify(req.args)}`;
    let plan = plans.get(key);
    if (!plan) {
      plan = planPreparation(req.args, req.argsFile);
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
  port.on('message', (req: PreviewRequest) => port.postMessage(handlePreview(req)));
}
