// Bringing a cluster's result back: a PEFT adapter folder (adapter_config.json +
// adapter_model.safetensors) or a merged Hugging Face folder becomes an imported run, a run folder
// under runs/ with the adapter (or model), a plan naming the base model, one "done" event and an
// imported.json marker, and no trainer. The runs view lists it and the playground loads it like
// any finished run. Before anything is copied the result is checked against the ARGS.json's base
// model: every lora_A [r, in] / lora_B [out, r] must fit the linear it names (the rule of
// native/src/infer/adapter_check.cpp, read here from the safetensors header without loading
// weights), and a merged model must have the base's shape.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';
import { resolveArgs, type ResolvedArgs } from '../args/fields';
import { argsToRunPlan } from '../args/run-plan';
import { validateArgsText } from '../args/validate';
import type { LoraTarget } from '../engine/plan';
import { PROTOCOL_VERSION } from '../engine/protocol';
import { resolveModelDir } from '../model/discover';
import { layerModules, readModelSpec, type ModelSpec } from '../model/spec';
import { modelFolderProblem } from '../playground/catalog';
import { RunStore, type RunRecord } from '../run/run-store';
import { HandoffError } from './settings';

export const IMPORTED_MARKER = 'imported.json';

export type TrainedKind = 'adapter' | 'merged';

export function trainedKind(dir: string): TrainedKind {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  if (has('adapter_config.json') && has('adapter_model.safetensors')) return 'adapter';
  if (has('config.json') && (has('model.safetensors') || has('model.safetensors.index.json'))) return 'merged';
  if (has('adapter_model.bin') || has('pytorch_model.bin')) {
    throw new HandoffError(l10n.t('{0} holds PyTorch .bin weights; Tuner reads safetensors. Save them again with save_pretrained(..., safe_serialization=True) (the default since transformers 4.35).', dir));
  }
  throw new HandoffError(l10n.t('{0} is neither a PEFT adapter (adapter_config.json + adapter_model.safetensors) nor a Hugging Face model folder (config.json + model.safetensors): pick the folder train.py, Axolotl or LLaMA-Factory saved (output/adapter, output/axolotl, output/llamafactory).', dir));
}

/** Tensor names and shapes of a safetensors file, from its header only. */
export function safetensorsShapes(file: string): Map<string, number[]> {
  const fd = fs.openSync(file, 'r');
  try {
    const len = Buffer.alloc(8);
    fs.readSync(fd, len, 0, 8, 0);
    const n = Number(len.readBigUInt64LE(0));
    if (n <= 0 || n > 100 * 1024 * 1024) throw new HandoffError(l10n.t('{0}: not a safetensors file (header length {1}).', file, n));
    const buf = Buffer.alloc(n);
    fs.readSync(fd, buf, 0, n, 8);
    const header = JSON.parse(buf.toString('utf8')) as Record<string, { shape?: number[] }>;
    const out = new Map<string, number[]>();
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__') out.set(k, v.shape ?? []);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

const LORA_KEY = /^base_model\.model\.(?:.*\.)?(?:layers|h)\.(\d+)\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;

/** Why this adapter does not fit the base model (empty when it does). */
export function adapterMismatches(dir: string, spec: ModelSpec): string[] {
  const cfgFile = path.join(dir, 'adapter_config.json');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    return [`${cfgFile}: ${(e as Error).message}`];
  }
  const problems: string[] = [];
  if (cfg.peft_type !== undefined && cfg.peft_type !== 'LORA') problems.push(l10n.t('{0}: peft_type is {1}; only LoRA adapters load.', cfgFile, JSON.stringify(cfg.peft_type)));
  for (const k of ['use_dora', 'modules_to_save', 'rank_pattern', 'alpha_pattern', 'layers_to_transform']) {
    const v = cfg[k];
    if (v && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)) problems.push(l10n.t('{0}: "{1}" is set; Tuner applies plain LoRA with one rank for every module: merge it with PEFT (merge_and_unload) and import the merged folder.', cfgFile, k));
  }
  const r = cfg.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1) return [...problems, l10n.t('{0}: "r" must be a whole number (the LoRA rank).', cfgFile)];
  const modules = new Map(layerModules(spec).map((m) => [m.path, m]));
  const shapes = safetensorsShapes(path.join(dir, 'adapter_model.safetensors'));
  let matched = 0;
  for (const [name, shape] of shapes) {
    const m = LORA_KEY.exec(name);
    if (!m) {
      problems.push(l10n.t('{0}: not a LoRA tensor of a decoder layer (trained embeddings or other extra weights do not load; save the adapter without modules_to_save).', name));
      continue;
    }
    const layer = Number(m[1]), lin = modules.get(m[2]);
    if (layer >= spec.numLayers) problems.push(l10n.t('{0}: layer {1}, but the base model has {2} layers.', name, layer, spec.numLayers));
    if (!lin) {
      problems.push(l10n.t('{0}: {1} is not a linear of {2} (it has {3}).', name, m[2], spec.architecture, [...modules.keys()].join(', ')));
      continue;
    }
    const want = m[3] === 'A' ? [r, lin.in] : [lin.out, r];
    if (shape.length !== 2 || shape[0] !== want[0] || shape[1] !== want[1]) problems.push(l10n.t('{0}: shape [{1}], but {2} of this base model needs [{3}] at rank {4}.', name, shape.join(', '), lin.path, want.join(', '), r));
    else matched++;
  }
  if (matched === 0 && problems.length === 0) problems.push(l10n.t('{0}: adapter_model.safetensors holds no LoRA tensor.', dir));
  return problems;
}

const SHAPE_FIELDS = ['architecture', 'vocabSize', 'hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim'] as const;

/** Why a merged folder is not the base model's shape (empty when it is). */
export function mergedMismatches(dir: string, spec: ModelSpec): string[] {
  const problem = modelFolderProblem(dir);
  if (problem) return [`${problem.message}. ${problem.hint}`];
  const got = readModelSpec(dir);
  return SHAPE_FIELDS.filter((f) => got[f] !== spec[f]).map((f) => l10n.t('{0}/config.json: {1} is {2}, the base model\'s is {3}.', dir, f, got[f], spec[f]));
}

export interface ImportOptions {
  /** The ARGS.json whose model the result was trained from. */
  argsFile: string;
  /** The folder with the adapter or merged model (as copied back from the cluster). */
  from: string;
  /** The workspace folder whose runs/ receives the imported run. */
  workspaceDir: string;
  now?: Date;
}

export interface ImportResult {
  run: RunRecord;
  kind: TrainedKind;
  /** The adapter/ or model/ folder inside the run. */
  dir: string;
}

function readArgs(argsFile: string): ResolvedArgs {
  const check = validateArgsText(fs.readFileSync(argsFile, 'utf8'));
  if (!check.args) throw new HandoffError(l10n.t('{0}: ARGS.json has errors (see the Problems panel); the import needs its "model".', argsFile));
  return resolveArgs(check.args);
}

/** Top-level files only: checkpoints and logs that tools keep in subfolders stay behind. */
function copyFiles(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) if (e.isFile()) fs.copyFileSync(path.join(from, e.name), path.join(to, e.name));
}

export function importTrained(o: ImportOptions): ImportResult {
  const a = readArgs(o.argsFile);
  const baseDir = resolveModelDir(a.model, path.dirname(o.argsFile));
  const spec = readModelSpec(baseDir);
  const kind = trainedKind(o.from);
  const problems = kind === 'adapter' ? adapterMismatches(o.from, spec) : mergedMismatches(o.from, spec);
  if (problems.length) {
    const more = problems.length > 3 ? l10n.t(' (and {0} more)', problems.length - 3) : '';
    throw new HandoffError(l10n.t('{0} does not fit {1}: {2}{3}', o.from, a.model, problems.slice(0, 3).join(' '), more));
  }
  const run = RunStore.forWorkspace(o.workspaceDir).create(o.argsFile, o.now);
  const dir = path.join(run.dir, kind === 'adapter' ? 'adapter' : 'model');
  copyFiles(o.from, dir);
  let plan;
  if (kind === 'adapter') {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as { r: number; lora_alpha?: number; lora_dropout?: number; target_modules?: string[] };
    plan = argsToRunPlan({ ...a, method: 'lora', quantization: 'none', precision: 'fp32', stage: 'sft', optimizer: 'adamw', gradient_accumulation: 1, packing: false }, { modelDir: baseDir, trainDataDir: path.join(run.dir, 'data'), outputDir: run.dir });
    plan.lora = { rank: cfg.r, alpha: cfg.lora_alpha ?? cfg.r, dropout: cfg.lora_dropout ?? 0, target_modules: (cfg.target_modules ?? []) as LoraTarget[] };
  } else {
    plan = argsToRunPlan({ ...a, method: 'full', quantization: 'none', precision: 'fp32', stage: 'sft', optimizer: 'adamw', gradient_accumulation: 1, packing: false }, { modelDir: baseDir, trainDataDir: path.join(run.dir, 'data'), outputDir: run.dir });
  }
  run.writePlan(plan);
  fs.writeFileSync(path.join(run.dir, IMPORTED_MARKER), JSON.stringify({ from: o.from, kind, baseModel: baseDir, imported: (o.now ?? new Date()).toISOString() }, null, 2) + '\n');
  run.meta = { ...run.meta, model: a.model, method: kind === 'adapter' ? 'lora' : 'full' };
  run.writeMeta();
  run.appendEvent({ version: PROTOCOL_VERSION, type: 'done', step: trainedSteps(o.from), reason: 'completed', outputs: kind === 'adapter' ? { adapter: dir } : { model: dir } });
  return { run, kind, dir };
}

/** The steps the cluster ran, from the Hugging Face Trainer's trainer_state.json when it was copied too. */
function trainedSteps(dir: string): number {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8')) as { global_step?: unknown };
    return typeof s.global_step === 'number' && Number.isInteger(s.global_step) && s.global_step >= 0 ? s.global_step : 0;
  } catch {
    return 0;
  }
}

/** Whether a run folder is an imported result (no trainer ever ran there). */
export function isImportedRun(runDir: string): boolean {
  return fs.existsSync(path.join(runDir, IMPORTED_MARKER));
}
