// The trainer process protocol: JSON lines on tuner-train's stdout (events) and stdin (commands).
// This file is the one TypeScript definition; native/include/tuner/protocol.h mirrors it and
// docs/trainer-protocol.md documents it. Every message carries `version`; a message of another
// version, of an unknown type or with a missing or mistyped field is a ProtocolError, never
// ignored, so a mismatched binary fails loudly instead of drawing an empty chart.

import * as l10n from '@vscode/l10n';
/** lora and qlora save a PEFT adapter; full and lomo a model folder. */
export const TRAIN_METHODS = ['full', 'lora', 'qlora', 'lomo'] as const;
export type TrainMethod = (typeof TRAIN_METHODS)[number];

export const PROTOCOL_VERSION = 1;

export interface ModelSummary {
  architecture: string;
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_layers: number;
  num_heads: number;
  num_kv_heads: number;
  head_dim: number;
}

export interface DataSummary {
  documents: number;
  tokens: number;
  /** Documents longer than seq_len + 1 tokens, cut to fit. */
  truncated_documents: number;
  batches_per_epoch: number;
}

/** What a run optimizes: next-token loss (sft) or Direct Preference Optimization on pairs (dpo). */
export type TrainStage = 'sft' | 'dpo';

export interface StartEvent {
  version: number;
  type: 'start';
  method: TrainMethod;
  /** "sft" or "dpo" (absent from trainers older than the dpo stage). */
  stage?: TrainStage;
  model: ModelSummary;
  params: number;
  trainable_params: number;
  tokens_per_step: number;
  threads: number;
  max_steps: number;
  /** Optimizer steps already done (non-zero when resumed). */
  step: number;
  resumed_from: string | null;
  data: DataSummary;
  /** Fraction of an epoch's positions that are padding (each document one row; absent from older trainers). */
  padding?: number;
  /** Whether documents are packed records (attention kept within each record). */
  packed?: boolean;
  /** Present when several ranks train together (mpirun / torchrun; docs/scale.md). */
  data_parallel?: DataParallelSummary;
  /** Where the run trains and why (the plan's device; absent from older trainers). */
  device?: TrainDeviceSummary;
  /** Training on a device: its memory once the weights, gradients and optimizer states are loaded. */
  device_memory?: DeviceMemory;
}

/**
 * The device a run trains on: kind "cpu", "cuda", or "host_ops" (the GPU path on its CPU stand-in,
 * the test hook TUNER_DEVICE_OPS=host; docs/cuda.md), its name, and why it was chosen.
 */
export interface TrainDeviceSummary {
  kind: 'cpu' | 'cuda' | 'host_ops';
  /** The CPU model or the GPU's name. */
  name: string;
  /** e.g. "device is \"cpu\" in the plan", "no CUDA device (no NVIDIA driver found)". */
  reason: string;
}

/** Device memory of a run training on a device (host_ops: total_bytes 0, unknown). */
export interface DeviceMemory {
  in_use_bytes: number;
  /** The most allocated at once since the run started. */
  peak_bytes: number;
  total_bytes: number;
}

/** How a data-parallel run is split: world_size ranks of rank_batch_size rows each. */
export interface DataParallelSummary {
  world_size: number;
  /** "mpi", "tcp" or "nccl". */
  backend: string;
  rank_batch_size: number;
  /** Resumed: the ranks of the checkpoint's run (the sample order is the same for any number). */
  resumed_world_size?: number;
}

/** One rank's share of a data-parallel step: its forward + backward time and tokens/s. */
export interface RankThroughput {
  rank: number;
  tokens_per_s: number;
  ms: number;
}

export interface StepEvent {
  version: number;
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  ms: number;
  peak_memory_bytes: number;
  /** Fraction of this step's batch positions that were padding (absent from older trainers). */
  padding?: number;
  /** Per layer group, with tuner-train --layer-norms: gradient norm before clipping, trainable-weight norm after the update. */
  layers?: LayerNorms[];
  /** Stage "dpo": the step's preference rewards. */
  rewards?: DpoRewards;
  /** Data parallel: every rank's compute time and tokens/s (tokens_per_s above is the whole step's). */
  ranks?: RankThroughput[];
  /** Data parallel: rank 0's time in the gradient all-reduce, waiting for slower ranks included. */
  allreduce_ms?: number;
  /** Training on a device: its memory after this step (peak_memory_bytes above is the host process's). */
  device_memory?: DeviceMemory;
}

/**
 * DPO's implicit rewards, means over the pairs (TRL's rewards/*): chosen and rejected are beta
 * times each answer's log-ratio to the reference model, margin their difference, accuracy the
 * fraction of pairs whose margin is above 0.
 */
export interface DpoRewards {
  chosen: number;
  rejected: number;
  margin: number;
  accuracy: number;
  pairs: number;
}

export interface LayerNorms {
  /** "layers.3", or a parameter outside the decoder layers ("embed_tokens", "norm", "lm_head"). */
  name: string;
  grad_norm: number;
  weight_norm: number;
}

export interface EvalEvent {
  version: number;
  type: 'eval';
  step: number;
  loss: number;
  tokens: number;
  /** Stage "dpo": the loss is DPO's, and these are the eval pairs' rewards. */
  rewards?: DpoRewards;
  /** eval_generate_every: ROUGE-L F1 (0-1, mean over the records) and corpus BLEU-4 (0-100) of greedy answers to `generated` eval records. */
  rouge_l?: number;
  bleu?: number;
  /** What the scores compare: "text" (answers decoded with the model's tokenizer.json, split as rouge_score and sacrebleu's 13a do) or "token_ids" (no tokenizer.json). Absent from older engines. */
  metrics_on?: 'text' | 'token_ids';
  generated?: number;
  generate_ms?: number;
}

/** One greedy continuation of a sample prompt (plan.json samples.prompts[index]). */
export interface SampleOutput {
  index: number;
  /** Generated token ids, the stop token not included. */
  ids: number[];
  /** "eos": a stop id ended it; "length": samples.max_new_tokens did. */
  stop: 'eos' | 'length';
}

/** Samples from the current weights, every samples.interval steps and after the last. */
export interface SampleEvent {
  version: number;
  type: 'sample';
  step: number;
  outputs: SampleOutput[];
  ms: number;
}

export interface CheckpointEvent {
  version: number;
  type: 'checkpoint';
  step: number;
  path: string;
}

export interface PausedEvent {
  version: number;
  type: 'paused';
  step: number;
}

export interface ResumedEvent {
  version: number;
  type: 'resumed';
  step: number;
}

/**
 * Every interval_ms from the trainer's own thread, between its `start` and its last event, also
 * while paused or at a breakpoint: with the run's pid and process start time it tells a live
 * trainer from a hung one (the process is there, the heartbeats stopped) or a dead one.
 */
export interface HeartbeatEvent {
  version: number;
  type: 'heartbeat';
  /** The last step done. */
  step: number;
  state: 'training' | 'paused';
  interval_ms: number;
  /** The trainer's wall clock (ms since 1970), for a reader that was not watching when it was written. */
  unix_ms: number;
  /**
   * How long ago the training loop itself last made progress or checked for commands (it checks
   * every 200 ms while paused). The heartbeat's thread beats whatever the loop does, so this is
   * what tells a hung loop. Absent from trainers older than the field, and before the loop runs.
   */
  loop_idle_ms?: number;
}

export interface DoneOutputs {
  /** PEFT adapter folder (LoRA runs). */
  adapter?: string;
  /** Hugging Face model folder (full fine-tunes). */
  model?: string;
  /** The last checkpoint, to --resume from. */
  checkpoint?: string;
}

export interface DoneEvent {
  version: number;
  type: 'done';
  step: number;
  reason: 'completed' | 'stopped';
  outputs: DoneOutputs;
}

export interface ErrorEvent {
  version: number;
  type: 'error';
  code: string;
  message: string;
  hint: string;
  step?: number;
}

export type TrainerEvent =
  | StartEvent
  | StepEvent
  | EvalEvent
  | SampleEvent
  | CheckpointEvent
  | PausedEvent
  | ResumedEvent
  | HeartbeatEvent
  | DoneEvent
  | ErrorEvent;

export type TrainerEventType = TrainerEvent['type'];

export type TrainerCommand =
  | { version: number; type: 'pause' }
  | { version: number; type: 'resume' }
  | { version: number; type: 'step' }
  | { version: number; type: 'save' }
  | { version: number; type: 'stop' }
  | ({ version: number; type: 'set' } & LearningRateChange);

/**
 * `set`, from the next step on: `lr_scale` multiplies the scheduled lr; `lr` replaces the plan's
 * peak optimizer.lr (warmup and decay keep their shape). The trainer checkpoints the factor, so
 * a resumed run goes on with it.
 */
export type LearningRateChange = { lr: number; lr_scale?: never } | { lr_scale: number; lr?: never };

/** The commands that carry no value. */
export type TrainerCommandType = Exclude<TrainerCommand['type'], 'set'>;

export const COMMAND_TYPES: readonly TrainerCommandType[] = ['pause', 'resume', 'step', 'save', 'stop'];

export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** One command as the line tuner-train reads (newline included). */
export function formatCommand(type: TrainerCommandType): string {
  const cmd: TrainerCommand = { version: PROTOCOL_VERSION, type };
  return JSON.stringify(cmd) + '\n';
}

/** The `set` line; throws a RangeError for a value the trainer would refuse (not positive and finite). */
export function formatSetCommand(change: LearningRateChange): string {
  const [key, value] = change.lr !== undefined ? ['lr', change.lr] : ['lr_scale', change.lr_scale];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RangeError(l10n.t('set {0}: {1} is not a positive finite number', key, String(value)));
  return JSON.stringify({ version: PROTOCOL_VERSION, type: 'set', [key]: value }) + '\n';
}

type FieldKind = 'number' | 'string' | 'object' | 'array' | 'string|null';

// Field tables per event type: the single place that says what a valid event looks like.
const EVENT_FIELDS: Record<TrainerEventType, Record<string, FieldKind>> = {
  start: {
    method: 'string',
    model: 'object',
    params: 'number',
    trainable_params: 'number',
    tokens_per_step: 'number',
    threads: 'number',
    max_steps: 'number',
    step: 'number',
    resumed_from: 'string|null',
    data: 'object',
  },
  step: {
    step: 'number',
    epoch: 'number',
    loss: 'number',
    lr: 'number',
    grad_norm: 'number',
    tokens: 'number',
    tokens_per_s: 'number',
    ms: 'number',
    peak_memory_bytes: 'number',
  },
  eval: { step: 'number', loss: 'number', tokens: 'number' },
  sample: { step: 'number', ms: 'number' },
  checkpoint: { step: 'number', path: 'string' },
  paused: { step: 'number' },
  resumed: { step: 'number' },
  heartbeat: { step: 'number', state: 'string', interval_ms: 'number', unix_ms: 'number' },
  done: { step: 'number', reason: 'string', outputs: 'object' },
  error: { code: 'string', message: 'string', hint: 'string' },
};

const MODEL_FIELDS: (keyof ModelSummary)[] = [
  'vocab_size',
  'hidden_size',
  'intermediate_size',
  'num_layers',
  'num_heads',
  'num_kv_heads',
  'head_dim',
];
const DATA_FIELDS: (keyof DataSummary)[] = ['documents', 'tokens', 'truncated_documents', 'batches_per_epoch'];

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function checkField(obj: Record<string, unknown>, name: string, kind: FieldKind, where: string, line: string): void {
  const v = obj[name];
  const actual = kindOf(v);
  const ok = kind === 'string|null' ? actual === 'string' || actual === 'null' : actual === kind;
  if (!ok) throw new ProtocolError(l10n.t('{0}: field "{1}" should be {2}, got {3}', where, name, kind, actual), line);
  if (kind === 'number' && !Number.isFinite(v as number)) {
    throw new ProtocolError(l10n.t('{0}: field "{1}" is not a finite number', where, name), line);
  }
}

/** The optional DPO rewards of a step or eval event. */
function checkRewards(obj: Record<string, unknown>, where: string, line: string): void {
  if (obj.rewards === undefined) return;
  if (kindOf(obj.rewards) !== 'object') throw new ProtocolError(l10n.t('{0}: field "rewards" should be an object', where), line);
  const r = obj.rewards as Record<string, unknown>;
  for (const k of ['chosen', 'rejected', 'margin', 'accuracy', 'pairs']) checkField(r, k, 'number', `${where} rewards`, line);
}

/** The optional fields of start (device, data_parallel) and the data-parallel ones of step (ranks, allreduce_ms). */
function checkDataParallel(obj: Record<string, unknown>, type: string, line: string): void {
  if (type === 'start' && obj.device !== undefined) {
    checkField(obj, 'device', 'object', 'start', line);
    for (const k of ['kind', 'name', 'reason']) checkField(obj.device as Record<string, unknown>, k, 'string', 'start.device', line);
  }
  if (type === 'start' && obj.data_parallel !== undefined) {
    checkField(obj, 'data_parallel', 'object', 'start', line);
    const dp = obj.data_parallel as Record<string, unknown>;
    for (const k of ['world_size', 'rank_batch_size']) checkField(dp, k, 'number', 'start.data_parallel', line);
    checkField(dp, 'backend', 'string', 'start.data_parallel', line);
    if (dp.resumed_world_size !== undefined) checkField(dp, 'resumed_world_size', 'number', 'start.data_parallel', line);
  }
  if (type !== 'step') return;
  if (obj.allreduce_ms !== undefined) checkField(obj, 'allreduce_ms', 'number', 'step', line);
  if (obj.ranks === undefined) return;
  checkField(obj, 'ranks', 'array', 'step', line);
  for (const r of obj.ranks as unknown[]) {
    checkField({ rank: r }, 'rank', 'object', 'step.ranks[]', line);
    for (const k of ['rank', 'tokens_per_s', 'ms']) checkField(r as Record<string, unknown>, k, 'number', 'step.ranks[]', line);
  }
}

/** Parses and validates one stdout line of tuner-train. Throws ProtocolError on anything unexpected. */
export function parseTrainerEvent(line: string): TrainerEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    throw new ProtocolError(l10n.t('trainer output is not JSON ({0}): {1}', (e as Error).message, line.slice(0, 200)), line);
  }
  if (kindOf(value) !== 'object') throw new ProtocolError(l10n.t('trainer event is not a JSON object: {0}', line.slice(0, 200)), line);
  const obj = value as Record<string, unknown>;
  if (obj.version !== PROTOCOL_VERSION) {
    throw new ProtocolError(
      l10n.t('trainer protocol version {0} does not match this extension\'s {1}; rebuild or reinstall tuner-train', String(obj.version), PROTOCOL_VERSION),
      line,
    );
  }
  const type = obj.type;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(EVENT_FIELDS, type)) {
    throw new ProtocolError(l10n.t('unknown trainer event type {0}', String(JSON.stringify(type))), line);
  }
  const fields = EVENT_FIELDS[type as TrainerEventType];
  for (const [name, kind] of Object.entries(fields)) checkField(obj, name, kind, `"${type}" event`, line);
  checkDataParallel(obj, type, line);
  switch (type as TrainerEventType) {
    case 'start': {
      const model = obj.model as Record<string, unknown>;
      checkField(model, 'architecture', 'string', 'start.model', line);
      checkField(model, 'model_type', 'string', 'start.model', line);
      for (const f of MODEL_FIELDS) checkField(model, f, 'number', 'start.model', line);
      const data = obj.data as Record<string, unknown>;
      for (const f of DATA_FIELDS) checkField(data, f, 'number', 'start.data', line);
      if (!(TRAIN_METHODS as readonly unknown[]).includes(obj.method)) {
        throw new ProtocolError(l10n.t('start event: unknown method {0}', String(JSON.stringify(obj.method))), line);
      }
      break;
    }
    case 'done': {
      if (obj.reason !== 'completed' && obj.reason !== 'stopped') {
        throw new ProtocolError(l10n.t('done event: unknown reason {0}', String(JSON.stringify(obj.reason))), line);
      }
      const outputs = obj.outputs as Record<string, unknown>;
      for (const [k, v] of Object.entries(outputs)) {
        if (!['adapter', 'model', 'checkpoint'].includes(k) || typeof v !== 'string') {
          throw new ProtocolError(l10n.t('done event: unexpected output {0}', String(JSON.stringify(k))), line);
        }
      }
      break;
    }
    case 'sample': {
      if (!Array.isArray(obj.outputs)) throw new ProtocolError(l10n.t('"sample" event: field "outputs" should be an array'), line);
      for (const o of obj.outputs as unknown[]) {
        if (kindOf(o) !== 'object') throw new ProtocolError(l10n.t('"sample" event: each of "outputs" should be an object'), line);
        const out = o as Record<string, unknown>;
        checkField(out, 'index', 'number', 'sample.outputs[]', line);
        if (!Array.isArray(out.ids) || !(out.ids as unknown[]).every((x) => Number.isInteger(x) && (x as number) >= 0)) {
          throw new ProtocolError(l10n.t('"sample" event: outputs[].ids should be token ids'), line);
        }
        if (out.stop !== 'eos' && out.stop !== 'length') throw new ProtocolError(l10n.t('"sample" event: unknown stop {0}', String(JSON.stringify(out.stop))), line);
      }
      break;
    }
    case 'heartbeat':
      if (obj.state !== 'training' && obj.state !== 'paused') throw new ProtocolError(l10n.t('heartbeat event: unknown state {0}', String(JSON.stringify(obj.state))), line);
      if (!((obj.interval_ms as number) > 0)) throw new ProtocolError(l10n.t('heartbeat event: interval_ms should be above 0'), line);
      if (obj.loop_idle_ms !== undefined) checkField(obj, 'loop_idle_ms', 'number', l10n.t('heartbeat event'), line);
      break;
    case 'eval':
      checkRewards(obj, l10n.t('"eval" event'), line);
      break;
    case 'error':
      if (obj.step !== undefined) checkField(obj, 'step', 'number', l10n.t('"error" event'), line);
      break;
    case 'step':
      checkRewards(obj, l10n.t('"step" event'), line);
      if (obj.layers !== undefined) {
        if (!Array.isArray(obj.layers)) throw new ProtocolError(l10n.t('"step" event: field "layers" should be an array'), line);
        for (const l of obj.layers as unknown[]) {
          if (kindOf(l) !== 'object') throw new ProtocolError(l10n.t('"step" event: each of "layers" should be an object'), line);
          const o = l as Record<string, unknown>;
          checkField(o, 'name', 'string', 'step.layers[]', line);
          checkField(o, 'grad_norm', 'number', 'step.layers[]', line);
          checkField(o, 'weight_norm', 'number', 'step.layers[]', line);
        }
      }
      break;
    default:
      break;
  }
  return obj as unknown as TrainerEvent;
}
