// From an ARGS.json file to what tuner-train runs: validate the file (errors name file, line
// and field), prepare the data into the run's folder, and write every value of the plan out
// explicitly so the run folder alone says what was trained.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveArgs, type ResolvedArgs } from '../args/fields';
import { validateArgsText } from '../args/validate';
import { planPreparation } from '../dataset/prepare-setup';
import { prepareDataset, type PrepareProgress, type PrepareReport } from '../dataset/prepare';
import { PLAN_VERSION, type RunPlan } from '../engine/plan';

export class ArgsError extends Error {
  constructor(
    message: string,
    readonly file: string,
    /** 0-based line of the first problem, when it has one. */
    readonly line?: number,
  ) {
    super(message);
    this.name = 'ArgsError';
  }
}

/** Reads and validates ARGS.json; throws ArgsError listing each error as file:line:col. */
export function readArgsFile(file: string): ResolvedArgs {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ArgsError(`${file}: cannot read (${(e as Error).message})`, file);
  }
  const check = validateArgsText(text);
  const errors = check.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !check.args) {
    const lines = errors.map((p) => `${file}:${p.range.line + 1}:${p.range.col + 1}: ${p.code} ${p.message}`);
    throw new ArgsError(`ARGS.json has ${errors.length} error${errors.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, file, errors[0]?.range.line);
  }
  return resolveArgs(check.args);
}

/** The plan tuner-train runs for these ARGS; data and output live in the run folder. */
export function planFromArgs(args: ResolvedArgs, argsFile: string, modelDir: string, runDir: string, hasEval: boolean): RunPlan {
  if (args.method !== 'full' && args.method !== 'lora') {
    throw new ArgsError(`${argsFile}: "method": "${args.method}" is not supported by the CPU trainer yet; use "lora" or "full".`, argsFile);
  }
  const plan: RunPlan = {
    version: PLAN_VERSION,
    model_dir: modelDir,
    data_dir: path.join(runDir, 'data', 'train'),
    output_dir: runDir,
    method: args.method,
    optimizer: { lr: args.learning_rate, weight_decay: args.weight_decay },
    schedule: args.schedule,
    warmup_steps: args.warmup_steps,
    batch_size: args.batch_size,
    seq_len: args.max_length,
    grad_accum: args.gradient_accumulation,
    max_grad_norm: args.max_grad_norm,
    seed: args.seed,
    threads: args.threads,
    save_interval: args.save_interval,
    eval_interval: args.eval_interval,
  };
  if (args.max_steps !== undefined) plan.max_steps = args.max_steps;
  else plan.epochs = args.epochs;
  if (args.method === 'lora') {
    plan.lora = { rank: args.lora_rank, alpha: args.lora_alpha, dropout: args.lora_dropout, target_modules: [...args.lora_target_modules] };
  }
  if (hasEval) plan.eval_data_dir = path.join(runDir, 'data', 'eval');
  return plan;
}

export interface PreparedRun {
  plan: RunPlan;
  report: PrepareReport;
  /** Notes for the log (template choice, EOS warning). */
  notes: string[];
}

/** Validates ARGS, prepares the data into runDir/data and returns the plan. */
export function prepareRun(
  argsFile: string,
  runDir: string,
  onProgress?: (p: PrepareProgress) => void,
  isCancelled?: () => boolean,
): PreparedRun {
  const args = readArgsFile(argsFile);
  const prep = planPreparation(args, argsFile, path.join(runDir, 'data'));
  const report = prepareDataset(prep.options, prep.renderer, prep.tokenizer, onProgress, isCancelled);
  if (report.trainDocuments === 0) {
    throw new ArgsError(`${prep.options.dataFile}: no training example survived preparation (${report.dropped.length} dropped); fix the data or raise max_length.`, argsFile);
  }
  const notes = [`chat template: ${prep.templateSource}`];
  if (prep.eosWarning) notes.push(prep.eosWarning);
  const plan = planFromArgs(args, argsFile, prep.modelDir, runDir, report.evalDocuments > 0);
  return { plan, report, notes };
}
