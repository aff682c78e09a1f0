// This machine's training speed, measured: the newest finished run in the workspace's run store
// (runs/<id>/plan.json + events.jsonl, and the prepare report for packed data) gives tokens per
// second for a known model and shape, hence FLOP/s — the figure the time estimate divides by. A
// run of the same model shape is preferred: its speed includes everything the engine does for
// that shape, not only the matrix products.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunPlan } from '../engine/plan';
import { readModelSpec, type ModelSpec } from '../model/spec';
import { formatRate } from '../units';
import { runFlopsPerToken, throughputFromRun, type Throughput } from './estimate';
import { resolveArgs } from './fields';
import * as l10n from '@vscode/l10n';

/** The fields of config.json that decide a model's work per token, as one key (caches of speeds per shape use it too). */
export function modelShapeKey(s: ModelSpec): string {
  return JSON.stringify([s.architecture, s.hiddenSize, s.intermediateSize, s.numLayers, s.numHeads, s.numKvHeads, s.headDim, s.vocabSize]);
}

export function sameModelShape(a: ModelSpec, b: ModelSpec): boolean {
  return modelShapeKey(a) === modelShapeKey(b);
}

interface RunSpeed {
  id: string;
  spec: ModelSpec;
  throughput: Throughput;
}

/** Whether a run's data was packed, and its records' mean length, from the prepare report beside its shards. */
function packedRecords(dir: string, plan: RunPlan): { packing: boolean; recordTokens?: number } {
  try {
    const r = JSON.parse(fs.readFileSync(path.resolve(dir, plan.data_dir, '..', 'prep-report.json'), 'utf8')) as { packedSequences?: number | null; meanTokens?: number };
    return typeof r.packedSequences === 'number' && typeof r.meanTokens === 'number' && r.meanTokens > 0 ? { packing: true, recordTokens: r.meanTokens } : { packing: false };
  } catch {
    return { packing: false }; // no report: rows counted whole
  }
}

/** A finished run's speed (its step events' median tokens_per_s), or undefined when it has none. */
function runSpeed(runsDir: string, id: string): RunSpeed | undefined {
  try {
    const dir = path.join(runsDir, id);
    const plan = JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')) as RunPlan;
    const speeds: number[] = [];
    let finished = false;
    for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
      if (!line.includes('"step"') && !line.includes('"done"')) continue;
      try {
        const e = JSON.parse(line) as { type?: string; tokens_per_s?: number };
        if (e.type === 'step' && typeof e.tokens_per_s === 'number') speeds.push(e.tokens_per_s);
        if (e.type === 'done') finished = true;
      } catch {
        // a line cut short by a kill
      }
    }
    if (!finished || speeds.length === 0) return undefined;
    const spec = readModelSpec(path.resolve(dir, plan.model_dir));
    const { packing, recordTokens } = packedRecords(dir, plan);
    const args = resolveArgs({
      packing,
      model: plan.model_dir, data: plan.data_dir, method: plan.method, max_length: plan.seq_len, batch_size: plan.batch_size,
      gradient_checkpointing: plan.gradient_checkpointing === true,
      ...(plan.stage === 'dpo' ? { stage: 'dpo' as const } : {}),
      ...(plan.lora ? { lora_rank: plan.lora.rank, lora_target_modules: plan.lora.target_modules } : {}),
    });
    const throughput = throughputFromRun(speeds, runFlopsPerToken(spec, args, recordTokens), (tps) => l10n.t('from run {0}: {1}', id, formatRate(tps)));
    return throughput && { id, spec, throughput };
  } catch {
    // an incomplete or foreign run folder
    return undefined;
  }
}

/**
 * One pass over the newest `maxRuns` run folders under `runsDir`: the speed of the newest finished
 * run (`newest`) and, with `spec`, of the newest finished run of that model shape (`sameShape`).
 */
export function runThroughputs(runsDir: string, spec?: ModelSpec, maxRuns = 20): { sameShape?: Throughput; newest?: Throughput } {
  let ids: string[];
  try {
    ids = fs.readdirSync(runsDir).sort().reverse().slice(0, maxRuns);
  } catch {
    return {};
  }
  let newest: Throughput | undefined;
  for (const id of ids) {
    const r = runSpeed(runsDir, id);
    if (!r) continue;
    newest ??= r.throughput;
    if (spec && sameModelShape(r.spec, spec)) return { sameShape: r.throughput, newest };
  }
  return { newest };
}

/** The speed of the newest finished run among the newest `maxRuns` under `runsDir`, if any. */
export function measuredThroughput(runsDir: string, maxRuns = 20): Throughput | undefined {
  return runThroughputs(runsDir, undefined, maxRuns).newest;
}
