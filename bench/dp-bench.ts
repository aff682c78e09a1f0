// Benchmark: data-parallel tuner-train, 1 rank against 2 ranks (`mpirun -n 2`, Open MPI over
// loopback TCP, and the TCP backend torchrun's variables select), 1 thread per rank, the same
// global batch, in one run on the same machine. Prints each setting's tokens/s (the whole step's,
// fastest step after a warm-up, the least disturbed on a shared machine), its ratio to 1 rank,
// every rank's own compute tokens/s and the share of the step rank 0 spends in the gradient
// all-reduce (waiting for the slower rank included), for LoRA (only the adapters' gradients are
// summed) and a full fine-tune (every weight's).
// Run: `npm run bench:dp` (after `npm run build`; installs Open MPI through
//   test/ensure-debian-packages.sh when root).
// Options: --steps S (timed steps after one warm-up, default 3), --rounds R (every setting R
//   times, alternating, the fastest step over all rounds kept: load that comes and goes on a
//   shared machine then hits all settings alike; default 2), --methods lora,full,
//   --backends mpi,tcp, --dim 256 --layers 4 --heads 4 --ffn 688 --vocab 8000 --batch 4 --seq 128
//   (default: bench:train's shape at half width and depth, quarter vocabulary, half sequence:
//   bench:train's --dim 512 --layers 8 --ffn 1376 --vocab 32000 --seq 256 takes minutes per
//   step on one thread), --keep (leave the temp folder), --json (one JSON line per result).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { writePlanFile, type RunPlan } from '../src/core/engine/plan';
import type { StepEvent, TrainerEvent } from '../src/core/engine/protocol';
import { writeShards, type ShardDocument } from '../src/core/engine/shards';
import { formatRate } from '../src/core/units';
import { ensureOpenMpi, runRanks } from '../test/native/dp-launch';
import { writeTinyModel } from '../test/native/tiny-model';
import { listOf, parseBenchOptions, SHAPE_FLAGS, type ShapeOptions } from './bench-options';

const METHODS = ['lora', 'full'] as const;
const BACKENDS = ['mpi', 'tcp'] as const;

interface Options extends ShapeOptions {
  steps: number;
  rounds: number;
  methods: (typeof METHODS)[number][];
  backends: (typeof BACKENDS)[number][];
  keep: boolean;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const defaults: Options = {
    steps: 3, rounds: 2, methods: ['lora', 'full'], backends: ['mpi', 'tcp'],
    dim: 256, layers: 4, heads: 4, ffn: 688, vocab: 8000, batch: 4, seq: 128, keep: false, json: false,
  };
  return parseBenchOptions(argv, defaults, {
    file: 'bench/dp-bench.ts',
    numeric: { '--steps': 'steps', '--rounds': 'rounds', ...SHAPE_FLAGS },
    flags: { '--keep': 'keep', '--json': 'json' },
    custom: {
      '--methods': (v, o) => { o.methods = listOf('--methods', v, METHODS); },
      '--backends': (v, o) => { o.backends = listOf('--backends', v, BACKENDS); },
    },
  });
}

interface Result {
  method: string;
  setting: string;
  ranks: number;
  tokens_per_s: number;
  rank_tokens_per_s: number[];
  allreduce_share: number;
}

/** The fastest step after the warm-up (step 1). */
function fastest(events: TrainerEvent[], what: string, stderr: string): StepEvent {
  const steps = events.filter((e): e is StepEvent => e.type === 'step' && e.step > 1);
  if (steps.length === 0) throw new Error(`${what}: no timed step\n${stderr.slice(-4000)}`);
  return steps.reduce((a, b) => (b.ms < a.ms ? b : a));
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.batch % 2 !== 0) throw new Error('--batch must be even (it is split over 2 ranks)');
  ensureOpenMpi();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-dp-bench-'));
  writeTinyModel(path.join(root, 'model'), { vocab: o.vocab, hidden: o.dim, layers: o.layers, heads: o.heads, kvHeads: o.heads, intermediate: o.ffn, maxPos: o.seq + 1 });
  const docs: ShardDocument[] = [];
  for (let d = 0; d < o.batch * (o.steps + 2); d++) {
    const tokens = Array.from({ length: o.seq + 1 }, (_, t) => (d * 7919 + t * 104729) % o.vocab);
    docs.push({ tokens, mask: tokens.map(() => 1) });
  }
  writeShards(path.join(root, 'data'), docs, { vocabSize: o.vocab });

  const settings = ['1 rank', ...o.backends.map((b) => `2 ranks, ${b}`)];
  const best = new Map<string, StepEvent>();
  for (let round = 0; round < o.rounds; round++) {
    for (const method of o.methods) {
      for (const setting of settings) {
        const ranks = setting === '1 rank' ? 1 : 2;
        const name = `${method}-${setting.replace(/[ ,]+/g, '-')}-${round}`;
        const plan: RunPlan = {
          version: 1, model_dir: path.join(root, 'model'), data_dir: path.join(root, 'data'), output_dir: path.join(root, name), method,
          optimizer: { lr: 1e-4, weight_decay: 0 }, schedule: 'constant', warmup_steps: 0, max_steps: o.steps + 1,
          batch_size: o.batch, seq_len: o.seq, grad_accum: 1, max_grad_norm: 1.0, seed: 1, threads: 1, save_interval: 0,
          ...(method === 'lora' ? { lora: { rank: 8, alpha: 16, dropout: 0, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] } } : {}),
        };
        const planPath = path.join(root, `${name}.json`);
        writePlanFile(planPath, plan);
        // One rank runs under mpirun too (world size 1 takes the one-process path), so both sides start the same way.
        const exit = await runRanks({ ranks, planPath, backend: setting.endsWith('tcp') ? 'tcp' : 'mpi' });
        if (exit.code !== 0) throw new Error(`${method}, ${setting}: exit ${exit.code}\n${exit.stderr.slice(-4000)}`);
        const s = fastest(exit.events, `${method}, ${setting}`, exit.stderr);
        const key = `${method}/${setting}`;
        if (!best.has(key) || s.ms < best.get(key)!.ms) best.set(key, s);
      }
    }
  }
  for (const method of o.methods) {
    const oneRank = best.get(`${method}/1 rank`)!.tokens_per_s;
    for (const setting of settings) {
      const s = best.get(`${method}/${setting}`)!;
      const r: Result = {
        method, setting, ranks: setting === '1 rank' ? 1 : 2, tokens_per_s: s.tokens_per_s,
        rank_tokens_per_s: s.ranks ? s.ranks.map((x) => x.tokens_per_s) : [s.tokens_per_s],
        allreduce_share: s.allreduce_ms !== undefined ? s.allreduce_ms / s.ms : 0,
      };
      if (o.json) {
        console.log(JSON.stringify({ ...r, ratio_to_1_rank: r.tokens_per_s / oneRank }));
      } else {
        console.log(
          `${method.padEnd(5)} ${setting.padEnd(14)} ${formatRate(r.tokens_per_s).padStart(14)}  ` +
            `x${(r.tokens_per_s / oneRank).toFixed(2)} of 1 rank  per rank ${r.rank_tokens_per_s.map((x) => formatRate(x)).join(' / ')}  ` +
            `all-reduce ${(r.allreduce_share * 100).toFixed(1)}% of the step`,
        );
      }
    }
  }
  if (!o.json) {
    console.log(`shape: dim ${o.dim}, ${o.layers} layers, ffn ${o.ffn}, vocab ${o.vocab}, batch ${o.batch} x seq ${o.seq} (global), 1 thread per rank`);
    console.log(`machine: ${os.cpus().length} logical CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg()[0].toFixed(1)} at the end`);
  }
  if (!o.keep) fs.rmSync(root, { recursive: true, force: true });
  else console.log(`kept ${root}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
