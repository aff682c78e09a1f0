// This machine's training speed, measured: the newest finished steps of runs in the workspace's
// run store (runs/<id>/plan.json + events.jsonl) give tokens per second for a known model and
// shape, hence FLOP/s — the figure the time-per-epoch estimate divides by.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunPlan } from '../engine/plan';
import { readModelSpec } from '../model/spec';
import { throughputFromRun, trainingFlopsPerToken, type Throughput } from './estimate';
import { resolveArgs } from './fields';

/** Looks at the newest `maxRuns` runs under `runsDir`; undefined when none has step events. */
export function measuredThroughput(runsDir: string, maxRuns = 5): Throughput | undefined {
  let ids: string[];
  try {
    ids = fs.readdirSync(runsDir).sort().reverse().slice(0, maxRuns);
  } catch {
    return undefined;
  }
  for (const id of ids) {
    try {
      const dir = path.join(runsDir, id);
      const plan = JSON.parse(fs.readFileSync(path.join(dir, 'plan.json'), 'utf8')) as RunPlan;
      const speeds: number[] = [];
      for (const line of fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n')) {
        if (!line.includes('"step"')) continue;
        try {
          const e = JSON.parse(line) as { type?: string; tokens_per_s?: number };
          if (e.type === 'step' && typeof e.tokens_per_s === 'number') speeds.push(e.tokens_per_s);
        } catch {
          // a line cut short by a kill
        }
      }
      if (speeds.length === 0) continue;
      const spec = readModelSpec(path.resolve(dir, plan.model_dir));
      const args = resolveArgs({
        model: plan.model_dir, data: plan.data_dir, method: plan.method, max_length: plan.seq_len, batch_size: plan.batch_size,
        ...(plan.lora ? { lora_rank: plan.lora.rank, lora_target_modules: plan.lora.target_modules } : {}),
      });
      const t = throughputFromRun(speeds, trainingFlopsPerToken(spec, args), `measured in run ${id}`);
      if (t) return t;
    } catch {
      // an incomplete or foreign run folder: try the next
    }
  }
  return undefined;
}
