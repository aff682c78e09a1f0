// Every proposed ARGS.json passes here before it is shown or written: the schema validator of
// src/core/args (types, ranges, combinations, secrets), the engine's own plan check for the
// device the plan trains on (engine-support.ts: what tuner-train would refuse), and then the
// estimator (the model is found on this machine and the run fits its memory). Problems come back as sentences a language model
// (or a person) can act on.
import { engineSupport, type EngineSupport } from '../args/engine-support';
import { resolveArgs, type Args } from '../args/fields';
import { ARGS_CODES, validateArgsText } from '../args/validate';
import type { HardwareProfile } from '../hardware/types';
import type { LocalModel } from './context';
import { planDevice, type DatasetShape, type Estimator, type PlanEstimate } from './estimator';
import * as l10n from '@vscode/l10n';

export interface CheckEnvironment {
  hardware: HardwareProfile;
  findModel(ref: string): LocalModel | undefined;
  /** Whether the data file exists (relative to the ARGS.json folder). */
  dataExists(ref: string): boolean;
  datasetShape?(ref: string): DatasetShape | undefined;
  estimator: Estimator;
  memoryLimitBytes?: number;
  /** What the engine runs on each device (default: this build's). */
  engine?: EngineSupport;
}

export interface CheckedPlan {
  ok: boolean;
  args?: Args;
  model?: LocalModel;
  estimate?: PlanEstimate;
  problems: string[];
}

export function checkPlan(proposed: unknown, env: CheckEnvironment): CheckedPlan {
  if (typeof proposed !== 'object' || proposed === null || Array.isArray(proposed)) {
    return { ok: false, problems: [l10n.t('set_args takes one JSON object: the whole ARGS.json, e.g. {"model": "./models/x", "data": "./train.jsonl", "method": "lora"}.')] };
  }
  const text = JSON.stringify(proposed, null, 2);
  const check = validateArgsText(text);
  // LMTuner key names are only warnings in an editor; a generated plan must use Tuner's names.
  const problems = check.problems.filter((p) => p.severity === 'error' || p.code === ARGS_CODES.lmtunerKey).map((p) => {
    const key = [...check.locations.entries()].find(([, l]) => l.key.line === p.range.line || l.value.line === p.range.line)?.[0];
    return `${key ? `"${key}": ` : ''}${p.message} [${p.code}]`;
  });
  if (problems.length > 0 || !check.args) return { ok: false, problems };
  const args = check.args;
  const model = env.findModel(args.model);
  if (!model) return { ok: false, args, problems: [l10n.t('"model": {0} is not a model folder on this machine; call list_local_models and use one of its "ref" values.', String(JSON.stringify(args.model)))] };
  if (!env.dataExists(args.data)) return { ok: false, args, model, problems: [l10n.t('"data": {0} does not exist next to ARGS.json; use a .jsonl file from the workspace.', String(JSON.stringify(args.data)))] };
  const resolved = resolveArgs(args);
  const device = planDevice(resolved, env.hardware);
  const refused = (env.engine ?? engineSupport).refuses(resolved, device, model.spec);
  if (refused) return { ok: false, args, model, problems: [l10n.t('The engine would refuse this plan on the {0}: {1}', device === 'cuda' ? 'GPU' : 'CPU', refused)] };
  const estimate = env.estimator(resolved, { model: model.spec, hardware: env.hardware, memoryLimitBytes: env.memoryLimitBytes, dataset: env.datasetShape?.(args.data) });
  if (!estimate.fits) {
    const gb = (n: number) => (n / 1024 ** 3).toFixed(1);
    return { ok: false, args, model, estimate, problems: [l10n.t('The plan needs about {0} GB on the {1} but only {2} GB is available (peak must stay under 90%). Use less memory: method "qlora" (quantization "nf4"), a smaller batch_size with more gradient_accumulation, gradient_checkpointing true, or a shorter max_length.', gb(estimate.memoryBytes), estimate.device === 'cuda' ? 'GPU' : l10n.t('CPU host'), gb(estimate.budgetBytes))] };
  }
  return { ok: true, args, model, estimate, problems: [] };
}
