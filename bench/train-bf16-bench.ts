// Benchmark: a training step of the benchmark model (bench/train-bench.ts's defaults: Llama
// shape C 512, 8 layers, F 1376, V 32000, batch 4 x 256 tokens, full fine-tune and LoRA r=8 on
// all seven projections) in tuner-train with precision "bf16" against tuner-train in fp32 and
// against PyTorch with bf16 autocast (bench/train_reference.py --bf16: oneDNN's bf16 matmuls,
// fp32 weights and optimizer), all in one run on the same CPU, threads, model and batch. Rounds
// alternate the sides and each keeps its fastest step, so load on this shared machine costs all
// alike; the figures that mean something are the ratios. PyTorch runs without OPENBLAS_CORETYPE
// and OPENBLAS_L2_SIZE, so it picks its own best kernels.
// Run: `npm run bench:train-bf16` (after `npm run build`). Options: --threads N (default: all),
//   --steps S (timed steps after a warm-up, default 3), --rounds R (default 2),
//   --methods full,lora, --skip-torch, --json, --cpu-time (Linux: time tuner-train's steps by the
//   process's CPU time, read from /proc between step events, instead of wall time: on a machine
//   shared with other work, with --threads 1, that is the work itself; implies --skip-torch).
//   TUNER_NATIVE_BUILD_DIR picks the tuner-train build.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findPackageRoot } from '../src/core/engine/addon';
import { writePlanFile, type RunPlan } from '../src/core/engine/plan';
import type { StepEvent } from '../src/core/engine/protocol';
import { writeShards, type ShardDocument } from '../src/core/engine/shards';
import { TrainerProcess } from '../src/core/engine/trainer-client';

const PYTHON = process.env.TUNER_PYTHON ?? '/usr/bin/python3';
const SHAPE = { dim: 512, layers: 8, heads: 8, ffn: 1376, vocab: 32000, batch: 4, seq: 256, rank: 8 };
const TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
type Method = 'full' | 'lora';

interface Options { threads: number; steps: number; rounds: number; methods: Method[]; skipTorch: boolean; json: boolean; cpuTime: boolean }

function parseOptions(argv: string[]): Options {
  const o: Options = { threads: os.availableParallelism(), steps: 3, rounds: 2, methods: ['full', 'lora'], skipTorch: false, json: false, cpuTime: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--threads' || a === '--steps' || a === '--rounds') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} wants a positive whole number, got ${argv[i]}`);
      o[a.slice(2) as 'threads' | 'steps' | 'rounds'] = v;
    } else if (a === '--methods') {
      const ms = (argv[++i] ?? '').split(',');
      for (const m of ms) if (m !== 'full' && m !== 'lora') throw new Error(`--methods: "${m}" is not full or lora`);
      o.methods = ms as Method[];
    } else if (a === '--skip-torch') o.skipTorch = true;
    else if (a === '--json') o.json = true;
    else if (a === '--cpu-time') o.cpuTime = o.skipTorch = true;
    else throw new Error(`unknown option ${a} (see the comment at the top of bench/train-bf16-bench.ts)`);
  }
  return o;
}

/** The CPU's bf16-relevant flags (Linux), printed beside the figures. */
function cpuFlags(): string[] {
  try {
    const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
    return ['avx2', 'avx512f', 'avx512_bf16', 'amx_bf16'].filter((f) => flags.includes(f));
  } catch {
    return [];
  }
}

function makeModelAndData(work: string, root: string, steps: number): void {
  execFileSync(PYTHON, [
    path.join(root, 'test', 'native', 'reference', 'make_tiny_model.py'), '--out', path.join(work, 'model'), '--vocab', String(SHAPE.vocab),
    '--hidden', String(SHAPE.dim), '--layers', String(SHAPE.layers), '--heads', String(SHAPE.heads), '--kv-heads', String(SHAPE.heads),
    '--intermediate', String(SHAPE.ffn), '--max-pos', String(SHAPE.seq), '--tied',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % SHAPE.vocab;
  const docs: ShardDocument[] = [];
  for (let d = 0; d < SHAPE.batch * (steps + 1); d++) {
    const tokens = Array.from({ length: SHAPE.seq + 1 }, next);
    docs.push({ tokens, mask: tokens.map((_, i) => (i >= 1 ? 1 : 0)) });
  }
  writeShards(path.join(work, 'data'), docs, { vocabSize: SHAPE.vocab });
}

/** CPU time (ms) of all of a process's threads so far, from /proc/PID/stat (utime + stime). */
function processCpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // After "pid (comm) ": state is field 3, utime 14 and stime 15, in clock ticks (USER_HZ, 100).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Fastest step (ms) of one tuner-train run; the first step (page faults, warm-up) is left out. */
async function runTuner(work: string, o: Options, method: Method, precision: 'fp32' | 'bf16'): Promise<{ ms: number; log: string }> {
  const plan: RunPlan = {
    version: 1, model_dir: path.join(work, 'model'), data_dir: path.join(work, 'data'), output_dir: path.join(work, `out-${method}-${precision}`),
    method, lora: { rank: SHAPE.rank, alpha: 2 * SHAPE.rank, dropout: 0, target_modules: [...TARGETS] },
    optimizer: { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 }, schedule: 'constant', warmup_steps: 0,
    max_steps: o.steps + 1, batch_size: SHAPE.batch, seq_len: SHAPE.seq, grad_accum: 1, max_grad_norm: 1.0, seed: 1,
    threads: o.threads, save_interval: 0, ...(precision === 'bf16' ? { precision } : {}),
  };
  const planPath = path.join(work, `plan-${method}-${precision}.json`);
  writePlanFile(planPath, plan);
  const p = TrainerProcess.start({ planPath });
  // --cpu-time: the process's CPU time at each step event; a step's is the difference from the
  // previous one (the first step, warm-up, has no predecessor and is left out as below).
  const cpuAtStep: number[] = [];
  if (o.cpuTime) {
    p.onEvent((e) => {
      if (e.type !== 'step' || p.pid === undefined) return;
      try {
        cpuAtStep.push(processCpuMs(p.pid));
      } catch {
        // The process ended before its last step event was read: that step goes untimed.
      }
    });
  }
  p.closeInput();
  const exit = await p.exited;
  if (exit.code !== 0) throw new Error(`tuner-train (${method}, ${precision}) exited ${exit.code}: ${exit.error?.message ?? exit.stderrTail}`);
  const steps = exit.events.filter((e): e is StepEvent => e.type === 'step').slice(1);
  const kernel = exit.stderrTail.match(/bf16 matmuls on [^\n]*/)?.[0] ?? '';
  if (o.cpuTime) return { ms: Math.min(...cpuAtStep.slice(1).map((c, i) => c - cpuAtStep[i])), log: kernel };
  return { ms: Math.min(...steps.map((s) => s.ms)), log: kernel };
}

/** PyTorch with bf16 autocast (or fp32): the fastest step, or null when train_reference.py has no --bf16. */
function runTorch(work: string, o: Options, method: Method, root: string, bf16: boolean): number | null {
  const script = path.join(root, 'bench', 'train_reference.py');
  if (bf16 && !fs.readFileSync(script, 'utf8').includes('--bf16')) return null;
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(o.threads), OPENBLAS_NUM_THREADS: String(o.threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(PYTHON, [
    script, '--model', path.join(work, 'model'), '--method', method, '--threads', String(o.threads), '--batch', String(SHAPE.batch),
    '--seq', String(SHAPE.seq), '--steps', String(o.steps + 1), '--rank', String(SHAPE.rank), '--alpha', String(2 * SHAPE.rank),
    ...(bf16 ? ['--bf16'] : []),
  ], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  if (r.status !== 0) throw new Error(`PyTorch (${method}${bf16 ? ', bf16 autocast' : ''}) failed: ${r.stderr.slice(-2000)}`);
  const steps = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ms: number }).filter((e) => e.type === 'step').slice(1);
  return Math.min(...steps.map((s) => s.ms));
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const root = findPackageRoot(__dirname);
  if (!root) throw new Error('bench/train-bf16-bench: cannot find the package root');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-train-bf16-bench-'));
  const tokens = SHAPE.batch * SHAPE.seq;
  const tokS = (ms: number | null) => (ms === null ? null : tokens / (ms / 1000));
  try {
    makeModelAndData(work, root, o.steps);
    let kernel = '';
    for (const method of o.methods) {
      const best: { fp32: number; bf16: number; torchBf16: number | null; torchFp32: number | null } = { fp32: Infinity, bf16: Infinity, torchBf16: Infinity, torchFp32: Infinity };
      const keep = (k: 'torchBf16' | 'torchFp32', ms: number | null) => {
        const prior = best[k];
        best[k] = ms === null || prior === null ? null : Math.min(prior, ms);
      };
      for (let round = 0; round < o.rounds; round++) {
        best.fp32 = Math.min(best.fp32, (await runTuner(work, o, method, 'fp32')).ms);
        const b = await runTuner(work, o, method, 'bf16');
        best.bf16 = Math.min(best.bf16, b.ms);
        kernel = b.log;
        if (o.skipTorch) continue;
        keep('torchBf16', runTorch(work, o, method, root, true));
        keep('torchFp32', runTorch(work, o, method, root, false));
      }
      const r = {
        method, threads: o.threads, cpu: cpuFlags(), kernel,
        tuner_fp32_tok_s: tokS(best.fp32), tuner_bf16_tok_s: tokS(best.bf16),
        torch_bf16_autocast_tok_s: o.skipTorch ? null : tokS(best.torchBf16), torch_fp32_tok_s: o.skipTorch ? null : tokS(best.torchFp32),
      };
      if (o.json) {
        console.log(JSON.stringify(r));
        continue;
      }
      const f = (x: number | null) => (x === null ? '—' : `${x.toFixed(0)} tok/s`);
      console.log(`${method} (${o.threads} threads; CPU ${r.cpu.join(' ')}; ${kernel || 'bf16 kernel not reported'}; ${o.cpuTime ? 'process CPU time' : 'wall time'}):`);
      console.log(`  tuner-train bf16 ${f(r.tuner_bf16_tok_s)}, fp32 ${f(r.tuner_fp32_tok_s)}: bf16 / fp32 = ${(best.fp32 / best.bf16).toFixed(2)}x`);
      if (!o.skipTorch) {
        const peer = r.torch_bf16_autocast_tok_s;
        console.log(`  PyTorch bf16 autocast ${f(peer)}, fp32 ${f(r.torch_fp32_tok_s)}` +
          (peer ? `: tuner-train bf16 / PyTorch bf16 autocast = ${((r.tuner_bf16_tok_s ?? 0) / peer).toFixed(2)}x` : ' (train_reference.py has no --bf16)'));
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
