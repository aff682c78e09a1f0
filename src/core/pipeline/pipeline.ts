// One fine-tuning from start to finish, as `npm start` / `tuner` runs it and as the extension
// can: ARGS.json -> prepare + train (the run manager, the same code "Fine-tune: Start" uses) ->
// merge the adapter into the base (tuner-export) -> quantize (tuner-export: a quantized folder
// the engine runs as stored, and optionally a GGUF file for llama.cpp / Ollama) -> the base's
// answers (quantized at load to the same format) and the quantized tuned model's answers to the
// same questions (the inference worker, as the playground runs it).
// Each stage reports its start, progress and duration through PipelineListener; nothing here
// prints.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { PrepareProgress } from '../dataset/prepare';
import { exportGguf, mergeAdapter, quantizeModel, type ExportToolOptions, type GgufReport, type GgufType, type MergeReport, type QuantizeReport, type QuantizeType } from '../engine/export-client';
import { InferenceClient } from '../engine/infer-client';
import type { QuantName } from '../engine/infer-addon';
import type { StartEvent, StepEvent } from '../engine/protocol';
import { RunManager, type PublishedOutput } from '../run/run-manager';
import { RunStore } from '../run/run-store';
import { answerPrompts, type ModelAnswer } from './answers';
import * as l10n from '@vscode/l10n';

export const PIPELINE_STAGES = ['prepare', 'train', 'merge', 'quantize', 'answer'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

export interface PipelineOptions {
  argsFile: string;
  /** Folder of the run folders (the extension's is <workspace>/runs). */
  runsDir: string;
  /** The prepare-worker and inference-worker scripts (dist/ in the extension, out/ from the CLI). */
  prepareWorker: string;
  inferWorker: string;
  /** Questions asked before and after; none skips the answer stage. */
  prompts: readonly string[];
  /** Format of the quantized tuned folder the answers run from (the base is quantized at load to the same); f32: the tuned folder as it is. */
  quant: QuantName;
  /** GGUF file type written by the quantize stage, null for none. */
  gguf: GgufType | null;
  maxNewTokens: number;
  threads?: number;
  /** Real paths outside the workspace (the folder above runsDir) that ARGS.json may read: ones the user named. */
  allowOutside?: readonly string[];
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface PipelineListener {
  onStageStart?(stage: PipelineStage, detail: string): void;
  onStageEnd?(stage: PipelineStage, seconds: number, detail: string): void;
  onPrepareProgress?(p: PrepareProgress): void;
  onTrainStart?(e: StartEvent): void;
  onTrainStep?(e: StepEvent, maxSteps: number): void;
  onEval?(step: number, loss: number): void;
  onAnswer?(model: 'base' | 'tuned', a: ModelAnswer): void;
  onLog?(text: string): void;
}

export interface PipelineResult {
  runDir: string;
  /** The tuned Hugging Face folder: the merged model (LoRA) or the trained one (full). */
  tunedDir: string;
  adapterDir: string | null;
  merge: MergeReport | null;
  /** The quantized tuned folder (null with quant f32). */
  quantized: QuantizeReport | null;
  gguf: GgufReport | null;
  stages: { stage: PipelineStage; seconds: number }[];
  answers: { prompt: string; base: ModelAnswer; tuned: ModelAnswer }[];
  finalLoss: number | null;
  /** Where the run's adapter (or model) was copied: ARGS.json's output_dir, as in the editor; or why not. */
  published: PublishedOutput | undefined;
}

/** Files that make a trained full model folder usable on its own (the trainer writes weights + config). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

export class PipelineError extends Error {
  constructor(
    readonly stage: PipelineStage,
    message: string,
    /** The error the stage failed with (e.g. an OutsideWorkspaceError, an ExportError). */
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}

export async function runPipeline(opts: PipelineOptions, listener: PipelineListener = {}): Promise<PipelineResult> {
  const stages: PipelineResult['stages'] = [];
  const timed = async <T>(stage: PipelineStage, detail: string, body: () => Promise<T>, summary: (r: T) => string): Promise<T> => {
    listener.onStageStart?.(stage, detail);
    const t0 = performance.now();
    let result: T;
    try {
      result = await body();
    } catch (e) {
      if (e instanceof PipelineError || (e as Error).name === 'AbortError') throw e;
      throw new PipelineError(stage, (e as Error).message, e);
    }
    const seconds = (performance.now() - t0) / 1000;
    stages.push({ stage, seconds });
    listener.onStageEnd?.(stage, seconds, summary(result));
    return result;
  };
  const tools: ExportToolOptions = { threads: opts.threads, env: opts.env };

  // Prepare + train: RunManager.start prepares in its worker, then starts tuner-train.
  // The trainer stays in this process group: Ctrl-C in the terminal stops it too (with a checkpoint).
  const manager = new RunManager(new RunStore(opts.runsDir), opts.prepareWorker, false);
  const started = await timed('prepare', opts.argsFile, () => manager.start(opts.argsFile, {
    mode: 'free', env: opts.env, signal: opts.signal, allowOutside: opts.allowOutside, onProgress: listener.onPrepareProgress, onStage: (m) => listener.onLog?.(m),
  }), ({ prepared }) => l10n.t('{0} examples, {1} tokens ({2} trained)', prepared.report.trainDocuments, prepared.report.tokens, prepared.report.trainedTokens));
  const { session, prepared } = started;
  const plan = prepared.plan;
  const onAbort = () => session.kill('SIGTERM');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let maxSteps = plan.max_steps ?? 0;
  let finalLoss: number | null = null;
  const exit = await timed('train', `${plan.method}, run ${session.record.id}`, async () => {
    session.listen({
      onEvent: (e) => {
        if (e.type === 'start') {
          maxSteps = e.max_steps;
          listener.onTrainStart?.(e);
        } else if (e.type === 'step') {
          finalLoss = e.loss;
          listener.onTrainStep?.(e, maxSteps);
        } else if (e.type === 'eval') listener.onEval?.(e.step, e.loss);
      },
    });
    const x = await session.exited;
    opts.signal?.removeEventListener('abort', onAbort);
    if (opts.signal?.aborted) throw Object.assign(new Error('stopped'), { name: 'AbortError' });
    if (x.code !== 0 || x.error || x.protocolError) {
      const why = x.error ? `${x.error.code}: ${x.error.message}${x.error.hint ? ` (${x.error.hint})` : ''}` : x.protocolError?.message ?? l10n.t('exit code {0}, signal {1}: {2}', String(x.code), String(x.signal), x.stderrTail.slice(-400));
      throw new PipelineError('train', l10n.t('tuner-train failed: {0}; the log is {1}', why, session.record.logFile));
    }
    return x;
  }, () => l10n.t('final loss {0}', finalLoss === null ? '-' : (finalLoss as number).toFixed(3)));
  const done = exit.events.find((e) => e.type === 'done');
  const runDir = session.record.dir;

  // Merge (LoRA) or complete the trained folder (full).
  let tunedDir: string;
  let merge: MergeReport | null = null;
  const adapterDir = done?.type === 'done' ? done.outputs.adapter ?? null : null;
  if (adapterDir) {
    tunedDir = path.join(runDir, 'merged');
    merge = await timed('merge', `adapter -> ${tunedDir}`, () => mergeAdapter(plan.model_dir, adapterDir, tunedDir, tools), (r) => l10n.t('{0} matrices, {1}, {2} MB', r.merge.modules, r.dtype, (r.bytes / 1e6).toFixed(1)));
  } else {
    tunedDir = done?.type === 'done' && done.outputs.model ? done.outputs.model : path.join(runDir, 'model');
    await timed('merge', l10n.t('full fine-tune: nothing to merge'), async () => {
      for (const f of TOKENIZER_FILES) {
        const src = path.join(plan.model_dir, f);
        if (fs.existsSync(src) && !fs.existsSync(path.join(tunedDir, f))) fs.copyFileSync(src, path.join(tunedDir, f));
      }
    }, () => l10n.t('tokenizer files copied'));
  }

  const quant = opts.quant === 'f32' ? null : (opts.quant as QuantizeType);
  const what = [quant && `${quant} folder`, opts.gguf && `${opts.gguf} GGUF`].filter(Boolean).join(' + ') || l10n.t('nothing (f32, no GGUF)');
  const { quantized, gguf } = await timed('quantize', what, async () => ({
    quantized: quant ? await quantizeModel(tunedDir, path.join(runDir, `tuned-${quant}`), quant, tools) : null,
    gguf: opts.gguf ? await exportGguf(tunedDir, path.join(runDir, `tuned.${opts.gguf}.gguf`), opts.gguf, tools) : null,
  }), (r) => [r.quantized, r.gguf].filter((x) => x !== null).map((x) => `${path.basename(x.out)} (${(x.bytes / 1e6).toFixed(1)} MB)${x.warnings.length ? `; ${x.warnings.join('; ')}` : ''}`).join(', ') || 'skipped');

  const answers: PipelineResult['answers'] = [];
  if (opts.prompts.length > 0) {
    const client = new InferenceClient({ workerPath: opts.inferWorker, env: opts.env, onStderr: (t) => listener.onLog?.(t) });
    try {
      await timed('answer', opts.prompts.length === 1 ? l10n.t('1 question, base and tuned, {0}', opts.quant) : l10n.t('{0} questions, base and tuned, {1}', opts.prompts.length, opts.quant), async () => {
        const ask = { quant: opts.quant, prompts: opts.prompts, maxNewTokens: opts.maxNewTokens, threads: opts.threads };
        const base = await answerPrompts(client, { ...ask, model: plan.model_dir, onAnswer: (a) => listener.onAnswer?.('base', a) });
        // The tuned model runs from its quantized folder as stored; the base is quantized at load to the same format.
        const tuned = await answerPrompts(client, { ...ask, model: quantized?.out ?? tunedDir, onAnswer: (a) => listener.onAnswer?.('tuned', a) });
        base.answers.forEach((b, i) => answers.push({ prompt: b.prompt, base: b, tuned: tuned.answers[i] }));
        return tuned.loaded;
      }, (loaded) => l10n.t('{0}, {1} MB of weights', loaded.model.kernel, (loaded.weight_bytes / 1e6).toFixed(1)));
    } finally {
      await client.dispose();
    }
  }
  return { runDir, tunedDir, adapterDir, merge, quantized, gguf, stages, answers, finalLoss, published: manager.publishedOutput(session.record.id) };
}
