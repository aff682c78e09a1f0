// The deterministic planner: goal intent + hardware + model + data -> ARGS.json with a reason per
// choice. It works with no language model at all, and it is what the LLM loop falls back to. A
// follow-up starts from the current ARGS.json and changes only what the new turn asks for, then
// re-fits memory if needed.
import { engineSupport, type EngineSupport } from '../args/engine-support';
import type { ArgsFieldName, ResolvedArgs } from '../args/fields';
import { resolveArgs, type Args } from '../args/fields';
import type { HardwareProfile } from '../hardware/types';
import type { DatasetInfo, LocalModel } from './context';
import { loraTargetsFor } from '../model/spec';
import { planDevice, type Estimator, type PlanEstimate } from './estimator';
import { fitToMemory, LORA_ALL_LINEAR, type Method } from './fit';
import type { GoalIntent } from './goal';
import { lengthForData, truncationWarning } from './lengths';
import { planExplanation } from './explain';
import { impracticalWarning } from './practical';
import { reasonFor } from './reasons';
import { applyPretrainingRecipe } from './pretraining';
import { applySpeedWish, lessMemoryNote, speedWishNote, TEST_RUN_STEPS, testRunNote, unactedNote } from './wishes';
import * as l10n from '@vscode/l10n';

export interface RulePlanInput {
  intent: GoalIntent;
  hardware: HardwareProfile;
  /** The model chosen (by name in the goal, from ARGS.json, or the only one found); undefined asks. */
  model?: LocalModel;
  /** Other local models, to suggest when the chosen one cannot fit. */
  models: LocalModel[];
  dataset?: DatasetInfo;
  /** "data" value when the dataset could not be inspected (it is still written). */
  dataRef?: string;
  /** The ARGS.json the conversation has so far: follow-ups modify it. */
  current?: Args;
  estimator: Estimator;
  /** Where models and data were looked for, for the question when none is found. */
  workspaceDir?: string;
  /** What the engine runs on each device (default: this build's, src/core/args/engine-support.ts). */
  engine?: EngineSupport;
}

export interface PlanResult {
  args?: Args;
  estimate?: PlanEstimate;
  reasons: Partial<Record<ArgsFieldName, string>>;
  /** What must be answered before a plan can be written (which model, which data). */
  questions: string[];
  warnings: string[];
  /** Modules, lengths, time on this machine, what is given up for speed (explain.ts). */
  explanation: string[];
}

/** Keys written to ARGS.json, in this order (explicit values are easier to review than defaults). */
export const PLAN_KEYS: ArgsFieldName[] = [
  'model', 'model_name', 'data', 'eval_data', 'eval_split', 'method', 'quantization', 'lora_rank', 'lora_alpha', 'lora_dropout',
  'lora_target_modules', 'optimizer', 'learning_rate', 'weight_decay', 'schedule', 'warmup_steps', 'epochs', 'max_steps',
  'batch_size', 'gradient_accumulation', 'max_length', 'packing', 'gradient_checkpointing', 'precision', 'device', 'gpus',
  'save_interval', 'output_dir', 'stage', 'pref_beta',
];
/** Fewer records than this is small data: more epochs, no eval split. */
const SMALL_DATA = 500;
/** Records an eval split holds at most. */
const EVAL_CAP = 1000;
const ADAPTER_KEYS = new Set<string>(['lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target_modules']);

/**
 * Peak learning rate by method and model size: adapters 2e-4, and 1e-4 from about 30B
 * parameters (the QLoRA paper's 7B/13B vs 33B/65B settings); full tuning 2e-5, 1e-5 from 30B.
 */
function baseLearningRate(method: Method, optimizer: string, params: number, dpo = false): number {
  // DPO: 5e-6 with adapters (LLaMA-Factory's llama3_lora_dpo.yaml, Unsloth's DPO notebooks),
  // 5e-7 for every weight (the Zephyr recipe's full DPO).
  if (dpo) return method === 'full' || method === 'lomo' ? 5e-7 : 5e-6;
  const large = params >= 30e9;
  const lr = method === 'full' ? (large ? 1e-5 : 2e-5) : method === 'lomo' ? 1e-3 : large ? 1e-4 : 2e-4;
  return optimizer === 'lion' ? lr / 5 : lr;
}

/** The written ARGS: PLAN_KEYS that apply to the method, epochs xor max_steps. */
export function toWrittenArgs(a: ResolvedArgs, keep: Partial<Args> = {}): Args {
  const out: Record<string, unknown> = {};
  for (const k of PLAN_KEYS) {
    let v = (a as Record<string, unknown>)[k];
    if (v === undefined || v === null) continue;
    if ((a.method === 'full' || a.method === 'lomo') && ADAPTER_KEYS.has(k)) continue;
    if (k === 'epochs' && a.max_steps !== undefined) continue;
    if (k === 'eval_split' && a.eval_data !== undefined) continue;
    if (k === 'gpus' && a.device === 'cpu') continue;
    if ((k === 'stage' || k === 'pref_beta') && a.stage !== 'dpo') continue;
    if (typeof v === 'number' && !Number.isInteger(v)) v = Number(v.toPrecision(3));
    out[k] = v;
  }
  for (const [k, v] of Object.entries(keep)) if (!(k in out) && v !== undefined) out[k] = v;
  return out as unknown as Args;
}

/** A model named but not on this machine: the local ones that would fit, and how to get it. */
function missingModelQuestion(named: string, input: RulePlanInput): string {
  const fitting = input.models.filter((m) => input.estimator(resolveArgs({ model: m.ref, data: './data.jsonl' }), { model: m.spec, hardware: input.hardware }).fits).map((m) => m.ref);
  const hubId = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(named) && !named.startsWith('.');
  return [
    l10n.t('I could not find the model "{0}" on this machine (no config.json there or in the Hugging Face cache).', named),
    fitting.length > 0 ? l10n.t('Local models that fit this machine: {0}. Which should I use?', fitting.join(', ')) : l10n.t('No local model that fits this machine was found. Which model folder should I use?'),
    hubId ? l10n.t('To tune {0} itself, download it first (then ask again): `huggingface-cli download {1}`', named, named) : '',
  ].filter(Boolean).join(' ');
}

export function planWithRules(input: RulePlanInput): PlanResult {
  const { intent: g, hardware: hw, current } = input;
  const questions: string[] = [];
  const warnings: string[] = [];
  const model = input.model;
  const data = g.data ?? input.dataset?.ref ?? input.dataRef ?? current?.data;
  if (!model) {
    const named = g.model ?? current?.model;
    questions.push(named
      ? missingModelQuestion(named, input)
      : input.models.length > 1
        ? l10n.t('Which model should I tune? Found: {0}.', input.models.map((m) => m.ref).join(', '))
        : l10n.t('Which model should I tune? No model folder (with config.json) is in {0} or the Hugging Face cache: download one, e.g. `huggingface-cli download Qwen/Qwen2.5-0.5B-Instruct`, then say which.', input.workspaceDir ?? l10n.t('this workspace')));
  }
  if (!data) questions.push(l10n.t('Which JSON lines file holds the training data? (No .jsonl file found in the workspace.)'));
  if (!model || !data) return { reasons: {}, questions, warnings, explanation: [] };

  const stated = new Set<string>();
  const note: Partial<Record<ArgsFieldName, string>> = {};
  const fresh = !current;
  const a: ResolvedArgs = resolveArgs(current ? { ...current } : { model: model.ref, data });
  a.model = model.ref;
  a.data = data;
  if (g.model) stated.add('model');
  if (g.data) stated.add('data');
  if (g.evalData) { a.eval_data = g.evalData; stated.add('eval_data'); }
  const device = g.device ?? (current?.device && current.device !== 'auto' ? current.device : hw.gpus.length > 0 ? 'cuda' : 'cpu');
  a.device = device;
  if (g.device) stated.add('device');
  const gpus = planDevice(a, hw) === 'cuda' ? hw.gpus : [];
  if (device === 'cuda' && gpus.length === 0) warnings.push(l10n.t('You asked for a GPU but none was found on this machine: the plan assumes one, and training here would fail.'));
  a.gpus = Math.max(1, gpus.length);
  const engine = input.engine ?? engineSupport;
  const engineDevice = planDevice(a, hw);
  // bf16 from Ampere (compute 8.0) on; an older card has no bf16, so fp16 where the engine runs
  // it, else fp32 (the engine's own rule says which, as for methods).
  const cc = Number(gpus[0]?.computeCapability ?? '8.0');
  if (device === 'cpu') a.precision = 'fp32';
  else if (cc >= 8) a.precision = 'bf16';
  else {
    a.precision = engine.refuses({ ...resolveArgs({ model: model.ref, data }), precision: 'fp16' }, engineDevice, model.spec) ? 'fp32' : 'fp16';
  }

  // Data-driven choices (fresh plans only; a follow-up keeps what is there unless asked).
  const records = input.dataset?.records ?? 0;
  if (fresh) {
    a.max_length = lengthForData(input.dataset, model.spec.maxPositions);
    // Small data: more passes (the model sees few examples), all of it trained on (a 5% split of
    // a few hundred records is too small to measure anything); large data: one pass.
    a.epochs = records === 0 ? 3 : records < SMALL_DATA ? 5 : records < 1000 ? 3 : records < 10000 ? 2 : 1;
    // 5% held out, at most EVAL_CAP records: a larger eval set costs time and tells no more.
    a.eval_split = records >= SMALL_DATA && !a.eval_data ? Math.min(0.05, EVAL_CAP / records) : 0;
    // Current practice (Unsloth r=16, LLaMA-Factory, QLoRA): rank 16 on every linear layer.
    a.lora_rank = records > 50000 ? 32 : 16;
    a.lora_dropout = 0.05;
    a.schedule = 'cosine';
  }
  // Preference pairs (prompt / chosen / rejected): DPO, never packed (each answer is scored as a sequence).
  const dpo = g.preference === true || (fresh && input.dataset?.format === 'preference') || (!fresh && a.stage === 'dpo');
  if (dpo) {
    a.stage = 'dpo';
    a.packing = false;
    if (g.preference) stated.add('stage');
  }
  const pretraining = !dpo && (g.pretraining === true || (fresh && input.dataset?.format === 'text'));
  const cpt = pretraining && fresh ? applyPretrainingRecipe(a, model.spec.maxPositions, records) : undefined;
  if (cpt) warnings.push(cpt);
  if (g.maxLength) { a.max_length = g.maxLength; stated.add('max_length'); }
  if (g.epochs) { a.epochs = g.epochs; delete a.max_steps; stated.add('epochs'); }
  if (g.maxSteps) { a.max_steps = g.maxSteps; stated.add('max_steps'); }
  if (g.loraRank) { a.lora_rank = g.loraRank; stated.add('lora_rank'); }
  if (g.loraRank) a.lora_alpha = 2 * a.lora_rank;
  else if (fresh) a.lora_alpha = Math.max(32, a.lora_rank);
  if (g.modelName) { a.model_name = g.modelName; stated.add('model_name'); }
  if (g.packing !== undefined) { a.packing = g.packing; stated.add('packing'); }

  // Method and quantization: what was asked, else what the current plan has, else LoRA; cheaper
  // methods follow when it does not fit.
  const wanted: Method = g.method ?? (g.quantization === 'nf4' || g.quantization === 'int4' ? 'qlora' : current?.method ?? (cpt ? 'full' : 'lora'));
  if (g.method) stated.add('method');
  if (g.quantization) stated.add('quantization');
  // Adapters stand in for a method the engine cannot run on this device.
  const cheaper: Record<Method, Method[]> = { full: ['full', 'lomo', 'lora', 'qlora'], lomo: ['lomo', 'lora', 'qlora'], lora: ['lora', 'qlora'], qlora: ['qlora', 'lora'] };
  // An explicit method is only replaced when it cannot fit at all (the reason says so).
  // Continued pretraining falls back from full to adapters, not to LOMO's plain SGD.
  const methods = cpt && !g.method ? ['full', 'lora', 'qlora'] as Method[] : cheaper[wanted];
  const optimizer = g.optimizer ?? (wanted === 'lomo' ? 'sgd' : current?.optimizer ?? 'adamw');
  if (g.optimizer) stated.add('optimizer');
  a.optimizer = optimizer;
  const lrChanged = g.learningRate !== undefined || fresh || g.optimizer !== undefined || g.method !== undefined;
  a.weight_decay = optimizer === 'lion' ? 0.1 : fresh || g.optimizer ? 0 : a.weight_decay;
  a.lora_target_modules = current?.lora_target_modules ?? [...LORA_ALL_LINEAR];

  const speedNote = speedWishNote(g, applySpeedWish(a, g, input.dataset));
  if (speedNote) warnings.push(speedNote);

  // Sequences per optimizer step: 4-8 on small data (enough steps to learn from), 16 on a GPU.
  const effectiveBatch = current ? a.batch_size * a.gradient_accumulation : records > 0 && records < 300 ? 4 : records > 0 && records < 1000 ? 8 : device === 'cpu' ? 8 : 16;
  // "use less memory": the smallest micro-batch, activations recomputed where the engine can.
  const lessMemory = g.lessMemory === true && g.memoryLimitBytes === undefined;
  const batchSizes = g.batchSize ? [g.batchSize] : lessMemory ? [1] : (device === 'cpu' ? [4, 2, 1] : [8, 4, 2, 1]).filter((b) => b <= effectiveBatch);
  if (g.batchSize) stated.add('batch_size');
  if (g.gradientCheckpointing !== undefined) stated.add('gradient_checkpointing');
  const ctx = { model: model.spec, hardware: hw, memoryLimitBytes: g.memoryLimitBytes, dataset: input.dataset ? { records: input.dataset.records, meanTokens: input.dataset.tokens.mean } : undefined };
  const memoryBefore = lessMemory ? input.estimator(a, ctx).memoryBytes : 0;
  const recompute = lessMemory && engine.refuses({ ...a, gradient_checkpointing: true }, engineDevice, model.spec) === undefined ? true : undefined;
  // A follow-up that names nothing about memory or method keeps the current batch, method and
  // recomputation when they still fit: only what the turn names changes.
  const unchanged = !fresh && !g.batchSize && !lessMemory && g.memoryLimitBytes === undefined && g.method === undefined && g.quantization === undefined && g.gradientCheckpointing === undefined;
  const asIs = unchanged ? input.estimator(a, ctx) : undefined;
  const fit = asIs?.fits && engine.refuses(a, engineDevice, model.spec) === undefined
    ? { args: { ...a }, estimate: asIs, adjustments: [] as string[], refused: {} as Partial<Record<Method, string>>, noneAccepted: false }
    : fitToMemory(a, ctx, input.estimator, {
    methods,
    quantization: g.quantization ?? (current && !g.method ? current.quantization : undefined),
    batchSizes,
    effectiveBatch,
    lengthFixed: g.maxLength !== undefined || lessMemory || (!fresh && g.memoryLimitBytes === undefined),
    checkpointing: g.gradientCheckpointing ?? recompute,
    refuses: (x) => engine.refuses(x, engineDevice, model.spec),
  });
  const p = fit.args;
  // The planner's adapter sets use Llama names; GPT-2 and Bloom name the same projections their way.
  p.lora_target_modules = loraTargetsFor(model.spec, p.lora_target_modules) as ResolvedArgs['lora_target_modules'];
  const onDevice = engineDevice === 'cuda' ? l10n.t('the GPU trainer') : l10n.t('the CPU trainer');
  if (fit.noneAccepted) {
    warnings.push(l10n.t('{0} cannot run any method this plan could use: {1}', onDevice, Object.values(fit.refused).join(' ')));
  } else if (p.method !== wanted && fit.refused[wanted]) {
    note.method = l10n.t('{0} cannot run on {1}', wanted, onDevice);
    warnings.push(l10n.t('{0} is not something {1} can run ({2}), so the plan uses {3}.', wanted, onDevice, fit.refused[wanted], p.method));
  } else if (p.method !== wanted) note.method = l10n.t('{0} needs more than the {1} GB available', wanted, (fit.estimate.budgetBytes / 1024 ** 3).toFixed(0));
  if (fit.adjustments.some((x) => x.startsWith('max_length'))) note.max_length = fit.adjustments.find((x) => x.startsWith('max_length'));
  if (lrChanged && g.learningRate === undefined) p.learning_rate = baseLearningRate(p.method, p.optimizer, model.params, p.stage === 'dpo') * (cpt && (p.method === 'lora' || p.method === 'qlora') ? 0.5 : 1);
  if (g.learningRate !== undefined) { p.learning_rate = g.learningRate; stated.add('learning_rate'); }
  if (g.memoryLimitBytes) { note.batch_size = l10n.t('you set a limit of {0} GB', (g.memoryLimitBytes / 1024 ** 3).toFixed(0)); }

  // Time: only a wait the user named caps the steps, and the plan says what that leaves out.
  let estimate = input.estimator(p, ctx);
  if (lessMemory) warnings.push(lessMemoryNote(memoryBefore, estimate.memoryBytes, p, model.spec));
  if (g.timeBudgetHours && estimate.seconds && estimate.optimizerSteps && estimate.seconds > g.timeBudgetHours * 3600 && !g.epochs && !g.maxSteps) {
    const full = estimate.optimizerSteps;
    p.max_steps = Math.max(1, Math.floor((full * g.timeBudgetHours * 3600) / estimate.seconds));
    note.max_steps = l10n.t('capped at {0} of {1} steps to finish in about {2} h: about {3}% of the planned passes over the data', p.max_steps, full, g.timeBudgetHours, Math.max(1, Math.round((100 * p.max_steps) / full)));
    warnings.push(l10n.t('To finish in about {0} h the run stops at step {1} of {2}, so it trains on about {3}% of what was planned. Allow more time, or pick a smaller model, to train on all of it.', g.timeBudgetHours, p.max_steps, full, Math.max(1, Math.round((100 * p.max_steps) / full))));
    estimate = input.estimator(p, ctx);
  } else if (g.speed === 'test' && !g.maxSteps && !g.epochs) {
    p.max_steps = Math.min(TEST_RUN_STEPS, estimate.optimizerSteps ?? TEST_RUN_STEPS);
    note.max_steps = testRunNote(p.max_steps);
    warnings.push(testRunNote(p.max_steps));
    estimate = input.estimator(p, ctx);
  }
  if (g.unacted) warnings.push(unactedNote(g.unacted));
  const cutNote = input.dataset && truncationWarning(input.dataset, p.max_length);
  if (cutNote) warnings.push(cutNote);
  const steps = estimate.optimizerSteps ?? 0;
  if (fresh || lrChanged) p.warmup_steps = steps > 0 ? Math.round(steps * 0.03) : 0;
  if (fresh) p.save_interval = steps >= 50 ? Math.max(10, Math.round(steps / 5)) : 0;
  if (p.method === 'lomo' && g.optimizer && g.optimizer !== 'sgd') warnings.push(l10n.t('LOMO fuses a plain SGD update into backward, so it cannot use {0}; choose method lora or full to use {1}.', g.optimizer, g.optimizer));

  if (!estimate.fits) {
    const smaller = input.models.filter((m) => m.params < model.params).map((m) => m.ref);
    warnings.push(l10n.t('Even with {0}{1}, batch 1 and gradient checkpointing, {2} needs about {3} GB but {4} GB is available.{5}', p.method, p.quantization !== 'none' ? ` (${p.quantization})` : '', model.ref, (estimate.memoryBytes / 1024 ** 3).toFixed(1), (estimate.budgetBytes / 1024 ** 3).toFixed(1), smaller.length ? l10n.t(' Smaller local models: {0}.', smaller.join(', ')) : l10n.t(' Use a smaller model or a machine with more memory (/readme writes the instructions for one).')));
  }
  const slow = impracticalWarning({ args: p, estimate, model, models: input.models, ctx, estimator: input.estimator, hardware: hw });
  if (slow) warnings.push(slow);
  const args = toWrittenArgs(p, current ? { threads: current.threads, seed: current.seed, resume_from: current.resume_from } : {});
  const reasons: Partial<Record<ArgsFieldName, string>> = {};
  for (const k of Object.keys(args) as ArgsFieldName[]) reasons[k] = reasonFor(k, p, { hardware: hw, model, dataset: input.dataset, estimate, stated, notes: note });
  const explanation = planExplanation(p, { hardware: hw, model, dataset: input.dataset, estimate });
  return { args, estimate, reasons, questions, warnings, explanation };
}
