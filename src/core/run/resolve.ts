// From an ARGS.json file to what tuner-train runs: validate the file (errors name file, line
// and field), prepare the data into the run's folder in a worker thread (so a large dataset
// never blocks the caller's event loop), and write every value of the plan out explicitly so
// the run folder alone says what was trained.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveArgs, type ResolvedArgs } from '../args/fields';
import { localTrainerRefuses } from '../args/engine-support';
import { argsToRunPlan, UnsupportedArgsError } from '../args/run-plan';
import { validateArgsText, type ArgsCheck } from '../args/validate';
import type { PrepareProgress, PrepareReport } from '../dataset/prepare';
import { prepareInWorker } from '../dataset/prepare-client';
import { confinePreparePaths, type Confinement } from '../dataset/prepare-paths';
import type { LoraTarget, RunPlan } from '../engine/plan';
import { resolveModelDir } from '../model/discover';
import { loraTargetsFor, readModelSpec, type ModelSpec } from '../model/spec';
import { evalGeneratePlan, samplesPlan } from './sample-prompts';
import * as l10n from '@vscode/l10n';

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

interface ReadArgs {
  args: ResolvedArgs;
  locations: ArgsCheck['locations'];
}

function readArgs(file: string): ReadArgs {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ArgsError(l10n.t('{0}: cannot read ({1})', file, (e as Error).message), file);
  }
  const check = validateArgsText(text);
  const errors = check.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !check.args) {
    const lines = errors.map((p) => `${file}:${p.range.line + 1}:${p.range.col + 1}: ${p.code} ${p.message}`);
    throw new ArgsError(errors.length === 1 ? l10n.t('ARGS.json has 1 error:\n{0}', lines.join('\n')) : l10n.t('ARGS.json has {0} errors:\n{1}', errors.length, lines.join('\n')), file, errors[0]?.range.line);
  }
  return { args: resolveArgs(check.args), locations: check.locations };
}

/** Reads and validates ARGS.json; throws ArgsError listing each error as file:line:col. */
export function readArgsFile(file: string): ResolvedArgs {
  return readArgs(file).args;
}

/**
 * The model's config where ARGS.json's model resolves to a folder (beside ARGS.json or in the
 * Hugging Face cache, as the preparation resolves it); undefined when it does not or cannot be
 * read (the preparation worker reports those, at their field).
 */
function localModelSpec(model: string, argsFile: string): ModelSpec | undefined {
  try {
    return readModelSpec(resolveModelDir(model, path.dirname(argsFile)));
  } catch {
    return undefined;
  }
}

/**
 * The plan tuner-train runs for these ARGS; data and output live in the run folder. The plan
 * itself comes from argsToRunPlan (shared with the README writer and the native tests); this
 * only places it in the run folder and turns a refused setting into an error at its line.
 */
export function planFromArgs(args: ResolvedArgs, argsFile: string, modelDir: string, runDir: string, hasEval: boolean, locations?: ArgsCheck['locations']): RunPlan {
  try {
    const plan = argsToRunPlan(args, {
      modelDir,
      trainDataDir: path.join(runDir, 'data', 'train'),
      evalDataDir: hasEval ? path.join(runDir, 'data', 'eval') : undefined,
      outputDir: runDir,
    });
    // The default targets are Llama names; GPT-2 and Bloom name the same projections their way.
    // Targets the user wrote are theirs (preflight and the trainer name any the model lacks).
    if (plan.lora && !locations?.has('lora_target_modules') && fs.existsSync(path.join(modelDir, 'config.json'))) {
      plan.lora.target_modules = loraTargetsFor(readModelSpec(modelDir), plan.lora.target_modules) as LoraTarget[];
    }
    return plan;
  } catch (e) {
    if (!(e instanceof UnsupportedArgsError)) throw e;
    throw fieldError(argsFile, locations, e.field, e.message);
  }
}

/** A refused setting as an error at its field's line in ARGS.json (the file alone when not written there). */
function fieldError(argsFile: string, locations: ArgsCheck['locations'] | undefined, field: string, message: string): ArgsError {
  const at = locations?.get(field)?.value;
  const where = at ? `${argsFile}:${at.line + 1}:${at.col + 1}` : argsFile;
  return new ArgsError(`${where}: "${field}": ${message}`, argsFile, at?.line);
}

export interface PreparedRun {
  plan: RunPlan;
  report: PrepareReport;
  /** Notes for the log (template choice, EOS warning). */
  notes: string[];
}

export interface PrepareRunOptions {
  /** The bundled prepare-worker script (dist/prepare-worker.js in the extension). */
  workerPath: string;
  onStage?: (message: string) => void;
  onProgress?: (p: PrepareProgress) => void;
  /** Aborting stops the worker; it removes its staging folder, so no half-written shards stay. */
  signal?: AbortSignal;
  /** Where ARGS.json's data, eval_data and chat template may lead (default: the folder of ARGS.json). */
  confine?: Confinement;
}

/**
 * Validates ARGS, prepares the data into runDir/data in a worker and returns the plan.
 * Rejects with an AbortError when `signal` aborts, and with OutsideWorkspaceError (before
 * reading any data) when a path of ARGS.json leads outside the workspace unconfirmed.
 */
export async function prepareRun(argsFile: string, runDir: string, opts: PrepareRunOptions): Promise<PreparedRun> {
  const { args, locations } = readArgs(argsFile);
  // Refuse settings the trainer cannot run before spending minutes tokenizing for them.
  planFromArgs(args, argsFile, '', runDir, false, locations);
  // Device "cuda" with a plan the trainer's GPU path does not take (LOMO, DPO, ...) would be refused.
  const deviceRefused = localTrainerRefuses(args, localModelSpec(args.model, argsFile));
  if (deviceRefused) throw fieldError(argsFile, locations, 'device', deviceRefused);
  const confine = opts.confine ?? { workspace: path.dirname(argsFile) };
  const dataDir = path.join(runDir, 'data');
  const confined = confinePreparePaths(args, argsFile, confine, dataDir);
  const outcome = await prepareInWorker(opts.workerPath, args, argsFile, { onStage: opts.onStage, onProgress: opts.onProgress }, opts.signal, dataDir, confine);
  const report = outcome.report;
  if (report.trainDocuments === 0) {
    throw new ArgsError(l10n.t('{0}: no training example survived preparation ({1} dropped); fix the data or raise max_length.', path.resolve(path.dirname(argsFile), args.data), report.dropped.length), argsFile);
  }
  const notes = [l10n.t('chat template: {0}', outcome.templateSource)];
  if (outcome.eosWarning) notes.push(outcome.eosWarning);
  const plan = planFromArgs(args, argsFile, outcome.modelDir, runDir, report.evalDocuments > 0, locations);
  const samples = samplesPlan(args, argsFile, outcome.modelDir, confined.templateFile);
  if (samples) {
    plan.samples = samples;
    notes.push(samples.prompts.length === 1 ? l10n.t('samples: 1 prompt every {0} steps', samples.interval) : l10n.t('samples: {0} prompts every {1} steps', samples.prompts.length, samples.interval));
  }
  const evalGenerate = evalGeneratePlan(args, argsFile, outcome.modelDir, report.evalDocuments > 0, confined.templateFile);
  if (evalGenerate) {
    plan.eval_generate = evalGenerate;
    notes.push(evalGenerate.every === 1 ? l10n.t('eval generations: ROUGE-L and BLEU-4 every evaluation') : l10n.t('eval generations: ROUGE-L and BLEU-4 every {0} evaluations', evalGenerate.every));
  }
  return { plan, report, notes };
}
