// Benchmark: training throughput of tuner-train against eager PyTorch (the project's reference
// model, test/native/reference/llama_ref.py, on Debian's python3-torch) in one run, on the same
// CPU, threads, model, batch and sequence length: full fine-tune and LoRA r=8 on all seven
// projections, QLoRA (the same LoRA on an nf4 or int8 base; the peer runs LoRA on the dequantized
// weights of the same quantization, what PyTorch without bitsandbytes runs on a CPU) and LOMO
// (every weight updated during backward, no clipping; the peer is a full fine-tune with plain
// torch.optim.SGD, the same update holding every gradient). Prints tokens/s of both, the
// ratio and both sides' peak resident memory, plus the GFLOP/s tuner-train achieves against
// the sgemm rate tuner-bench-gemm measures on this machine in the same run.
// Run: `npm run bench:train` (after `npm run build`).
// Options: --threads N (default: all), --steps S (timed steps after one warm-up, default 3; the
//   fastest is reported for both sides, the least disturbed on a shared machine), --rounds R
//   (run both sides R times, alternating; default 1),
//   --methods full,lora,qlora,lomo (default full,lora), --dim 512 --layers 8 --heads 8 --ffn 1376 --vocab 32000 --batch 4
//   --seq 256, --arch llama|gpt2|bloom (GPT-2 and Bloom shapes: fused q/k/v, LayerNorm, GELU MLP
//   of --ffn (Bloom: 4 x dim), LoRA on every projection under PEFT's names; every method),
//   --base-quant nf4|int8 (QLoRA's base; default nf4 for llama, int8 for gpt2 / bloom, the k-bit
//   recipe: the peer round-trips int8 itself, while nf4's peer reads tuner-export's quantized
//   folder, which holds Llama-family names only),
//   --prompt-fraction F (the first F of each row's targets are a masked prompt, as in
//   instruction data; default 0: every target trained), --skip-torch, --keep (leave the temp
//   folder), --no-bf16 (no bf16 autocast setting for the peer even where the CPU has bf16),
//   --json (one JSON line per result).
// The peer runs with its own best kernels: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed
// from its environment, and on a CPU with AVX512_BF16 / AMX PyTorch also runs bf16 autocast;
// the ratio is against its fastest setting, whose kernels are printed beside it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findPackageRoot } from '../src/core/engine/addon';
import { writePlanFile, type LoraTarget, type RunPlan } from '../src/core/engine/plan';
import type { StepEvent, TrainerEvent } from '../src/core/engine/protocol';
import { writeShards, type ShardDocument } from '../src/core/engine/shards';
import { findTrainerBinary, TrainerProcess } from '../src/core/engine/trainer-client';
import { listOf, oneOf, parseBenchOptions, SHAPE_FLAGS, type ShapeOptions } from './bench-options';

const PYTHON = process.env.TUNER_PYTHON ?? '/usr/bin/python3';
const ARCHS = ['llama', 'gpt2', 'bloom'] as const;
type Arch = (typeof ARCHS)[number];
const LORA_TARGETS: Record<Arch, LoraTarget[]> = {
  llama: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  gpt2: ['c_attn', 'c_proj', 'c_fc'],
  bloom: ['query_key_value', 'dense', 'dense_h_to_4h', 'dense_4h_to_h'],
};
const METHODS = ['full', 'lora', 'qlora', 'lomo'] as const;
type Method = (typeof METHODS)[number];
const BASE_QUANTS = ['nf4', 'int8'] as const;
type BaseQuant = (typeof BASE_QUANTS)[number];

interface Options extends ShapeOptions {
  threads: number;
  steps: number;
  rounds: number;
  methods: Method[];
  rank: number;
  promptFraction: number;
  arch: Arch;
  baseQuant: BaseQuant | null;
  skipTorch: boolean;
  bf16: boolean;
  keep: boolean;
  json: boolean;
}

function parseOptions(argv: string[]): Options {
  const defaults: Options = {
    threads: os.availableParallelism(), steps: 3, rounds: 1, methods: ['full', 'lora'], dim: 512, layers: 8, heads: 8,
    ffn: 1376, vocab: 32000, batch: 4, seq: 256, rank: 8, promptFraction: 0, arch: 'llama', baseQuant: null, skipTorch: false,
    bf16: ['avx512_bf16', 'amx_bf16'].some((f) => cpuInfo().features.includes(f)), keep: false, json: false,
  };
  return parseBenchOptions(argv, defaults, {
    file: 'bench/train-bench.ts',
    numeric: {
      '--threads': 'threads', '--steps': 'steps', '--rounds': 'rounds', ...SHAPE_FLAGS, '--rank': 'rank',
    },
    flags: { '--skip-torch': 'skipTorch', '--keep': 'keep', '--json': 'json' },
    clears: { '--no-bf16': 'bf16' },
    custom: {
      '--methods': (v, o) => { o.methods = listOf('--methods', v, METHODS); },
      '--arch': (v, o) => { o.arch = oneOf('--arch', v, ARCHS); },
      '--base-quant': (v, o) => { o.baseQuant = oneOf('--base-quant', v, BASE_QUANTS); },
      '--prompt-fraction': (v, o) => {
        const f = Number(v);
        if (!(f >= 0 && f < 1)) throw new Error(`--prompt-fraction wants a number in [0, 1), got ${v}`);
        o.promptFraction = f;
      },
    },
  });
}

/**
 * Matmul FLOPs tuner-train does per token (forward: 2 per weight; attention scores and mixing:
 * 4 T C per layer). The lm_head runs only on rows whose target is trained, so a masked prompt
 * removes its share of the vocabulary products.
 */
function flopsPerToken(o: Options, method: Method): number {
  const perLayer = 4 * o.dim * o.dim + (o.arch === 'llama' ? 3 : 2) * o.dim * o.ffn; // GPT-2 / Bloom: no gate
  const trained = (o.seq - promptTokens(o)) / o.seq;
  const linear = 2 * (o.layers * perLayer + o.vocab * o.dim * trained);
  const attention = 4 * o.seq * o.dim * o.layers;
  if (method === 'full' || method === 'lomo') return 3 * (linear + attention); // forward, input grads, weight grads
  // LoRA: frozen weights need input grads only; the rank-r products add 3 x 2 r (in + out) per module.
  const loraPerLayer = o.arch === 'llama' ? 2 * o.rank * (4 * 2 * o.dim + 3 * (o.dim + o.ffn)) : 2 * o.rank * (4 * o.dim + 2 * o.dim + 2 * (o.dim + o.ffn));
  return 2 * linear + 3 * attention + 3 * o.layers * loraPerLayer;
}

/** The fastest step: on a shared machine the least disturbed one, for both sides alike. */
function fastest(xs: number[]): number {
  return Math.min(...xs);
}

function makeModel(dir: string, o: Options, root: string): void {
  if (o.arch !== 'llama') {
    execFileSync(PYTHON, [
      path.join(root, 'test', 'native', 'reference', 'make_tiny_arch.py'), '--arch', o.arch, '--out', dir, '--vocab', String(o.vocab),
      '--hidden', String(o.dim), '--layers', String(o.layers), '--heads', String(o.heads), '--intermediate', String(o.ffn),
      '--max-pos', String(Math.max(o.seq, 256)),
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    return;
  }
  execFileSync(PYTHON, [
    path.join(root, 'test', 'native', 'reference', 'make_tiny_model.py'), '--out', dir, '--vocab', String(o.vocab),
    '--hidden', String(o.dim), '--layers', String(o.layers), '--heads', String(o.heads), '--kv-heads', String(o.heads),
    '--intermediate', String(o.ffn), '--max-pos', String(Math.max(o.seq, 256)), '--tied',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Leading targets of each row masked as prompt (the same rounding as train_reference.py). */
function promptTokens(o: Options): number {
  return Math.floor(o.seq * o.promptFraction + 0.5);
}

function makeData(dir: string, o: Options, steps: number): void {
  let seed = 12345;
  const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % o.vocab;
  const docs: ShardDocument[] = [];
  for (let d = 0; d < o.batch * (steps + 1); d++) {
    const tokens = Array.from({ length: o.seq + 1 }, next);
    const prompt = promptTokens(o);
    // mask[i] marks token i as a target (the target at position i - 1): tokens 1..prompt are prompt.
    docs.push({ tokens, mask: tokens.map((_, i) => (i >= 1 && i <= prompt ? 0 : 1)) });
  }
  writeShards(dir, docs, { vocabSize: o.vocab });
}

interface Result {
  method: Method;
  tunerPeakBytes: number;
  torchPeakBytes: number | null;
  params: number;
  trainable: number;
  tunerTokensPerS: number;
  torchTokensPerS: number | null;
  torchSetting: string | null;
  torchAll: Array<{ setting: string; tokensPerS: number }>;
  torchKernels: TorchKernels | null;
  tunerGflops: number;
}

/** QLoRA's base: as asked, else nf4 for the Llama shape and int8 (the k-bit recipe) for GPT-2 and Bloom. */
function baseQuantOf(o: Options): BaseQuant {
  return o.baseQuant ?? (o.arch === 'llama' ? 'nf4' : 'int8');
}

async function runTuner(work: string, o: Options, method: Method): Promise<{ msPerStep: number; peakBytes: number; start: TrainerEvent }> {
  const plan: RunPlan = {
    version: 1, model_dir: path.join(work, 'model'), data_dir: path.join(work, 'data'),
    output_dir: path.join(work, `out-${method}`), method,
    lora: { rank: o.rank, alpha: 2 * o.rank, dropout: 0, target_modules: LORA_TARGETS[o.arch] },
    optimizer: method === 'lomo' ? { name: 'sgd', lr: 1e-4 } : { lr: 1e-4, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0 },
    schedule: 'constant', warmup_steps: 0, max_steps: o.steps + 1, batch_size: o.batch, seq_len: o.seq,
    grad_accum: 1, max_grad_norm: method === 'lomo' ? 0 : 1.0, seed: 1, threads: o.threads, save_interval: 0,
  };
  if (method === 'qlora') plan.base_quant = baseQuantOf(o);
  const planPath = path.join(work, `plan-${method}.json`);
  writePlanFile(planPath, plan);
  const p = TrainerProcess.start({ planPath });
  p.closeInput();
  const exit = await p.exited;
  if (exit.protocolError) throw exit.protocolError;
  if (exit.code !== 0) throw new Error(`tuner-train (${method}) exited ${exit.code}: ${exit.error?.message ?? exit.stderrTail}`);
  const steps = exit.events.filter((e): e is StepEvent => e.type === 'step');
  const timed = steps.slice(1); // the first step pays for first-touch page faults and warm-up
  if (timed.length === 0) throw new Error('tuner-train reported no timed steps');
  const start = exit.events.find((e) => e.type === 'start');
  if (!start) throw new Error('tuner-train sent no start event');
  return { msPerStep: fastest(timed.map((s) => s.ms)), peakBytes: Math.max(...steps.map((s) => s.peak_memory_bytes)), start };
}

/** The CPU's model name and the vector features that pick kernels here (Linux: /proc/cpuinfo). */
function cpuInfo(): { model: string; features: string[] } {
  const model = os.cpus()[0]?.model ?? 'cpu';
  let flags: string[] = [];
  try {
    const line = fs.readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('flags'));
    flags = line ? line.split(':')[1].trim().split(/\s+/) : [];
  } catch {
    // not Linux: no flags to show, and no bf16 setting for the peer
  }
  const shown = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16'];
  return { model, features: shown.filter((f) => flags.includes(f)) };
}

/**
 * The peer's environment: this process's, less OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (some
 * machines set them for old OpenBLAS builds; they would make OpenBLAS, and PyTorch through it,
 * run e.g. its Haswell kernels on an AVX-512 CPU), so the peer runs its own best kernels.
 */
function peerEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/**
 * PyTorch's thread settings for `threads` threads. torch.set_num_threads only sizes its OpenMP
 * pool: the BLAS that Debian's torch calls (OpenBLAS, pthreads build) starts one thread per core
 * unless told otherwise, so every setting caps it (OPENBLAS_NUM_THREADS) to the same count. With
 * more than one thread, OpenMP's spinning workers and OpenBLAS's threads compete for the same
 * cores, so the passive wait policy is measured too and the faster setting counts: the peer gets
 * its best configuration for the same threads. On a CPU with bf16 instructions (AVX512_BF16,
 * AMX) PyTorch's fastest setting is bf16 autocast (oneDNN's bf16 matmuls), so that runs too and
 * the ratio is against the fastest of all.
 */
function torchSettings(threads: number, bf16: boolean): Array<{ label: string; env: Record<string, string>; args: string[] }> {
  const capped: Record<string, string> = { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const settings: Array<{ label: string; env: Record<string, string>; args: string[] }> = [{ label: 'fp32 omp active', env: capped, args: [] }];
  if (threads > 1) settings.push({ label: 'fp32 omp passive', env: { ...capped, OMP_WAIT_POLICY: 'PASSIVE' }, args: [] });
  if (bf16) settings.push({ label: 'bf16 autocast', env: capped, args: ['--bf16'] });
  return settings;
}

/** What the peer's start line says it runs on: PyTorch's CPU capability and OpenBLAS's core. */
interface TorchKernels {
  cpu_capability?: string;
  blas_core?: string | null;
}

interface TorchResult {
  ms: number;
  peakBytes: number;
  setting: string;
  all: Array<{ setting: string; ms: number }>;
  kernels: TorchKernels;
}

/** The peer's run for a method: QLoRA's is LoRA on the dequantized base, LOMO's full SGD. */
function torchMethod(work: string, o: Options, method: Method): string[] {
  if (method === 'qlora') return ['--method', 'lora', ...(baseQuantOf(o) === 'nf4' ? ['--quantized', path.join(work, 'model-nf4')] : ['--int8-base'])];
  return ['--method', method === 'lomo' ? 'sgd' : method];
}

function runTorch(work: string, o: Options, method: Method, root: string): TorchResult {
  const all = torchSettings(o.threads, o.bf16).map(({ label, env, args }) => {
    const r = spawnSync(PYTHON, [
      path.join(root, 'bench', 'train_reference.py'), '--model', path.join(work, 'model'), ...torchMethod(work, o, method),
      '--threads', String(o.threads), '--batch', String(o.batch), '--seq', String(o.seq), '--steps', String(o.steps + 1),
      '--rank', String(o.rank), '--alpha', String(2 * o.rank), '--prompt-fraction', String(o.promptFraction), ...args,
    ], { encoding: 'utf8', maxBuffer: 1 << 26, env: peerEnv(env) });
    if (r.status !== 0) throw new Error(`PyTorch reference (${method}, ${label}) failed: ${r.stderr.slice(-2000)}`);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ms: number; peak_memory_bytes: number } & TorchKernels);
    const steps = events.filter((e) => e.type === 'step');
    const start = events.find((e) => e.type === 'start');
    const kernels: TorchKernels = { cpu_capability: start?.cpu_capability, blas_core: start?.blas_core };
    return { setting: label, ms: fastest(steps.slice(1).map((s) => s.ms)), peakBytes: Math.max(...steps.map((s) => s.peak_memory_bytes)), kernels };
  });
  const best = all.reduce((a, b) => (b.ms < a.ms ? b : a));
  return { ms: best.ms, peakBytes: best.peakBytes, setting: best.setting, all, kernels: best.kernels };
}

/** The nf4 folder QLoRA's peer dequantizes: the quantization tuner-train applies at load. */
function quantizeForPeer(work: string): void {
  const exportTool = path.join(path.dirname(findTrainerBinary()), process.platform === 'win32' ? 'tuner-export.exe' : 'tuner-export');
  execFileSync(exportTool, ['quantize', '--model', path.join(work, 'model'), '--quant', 'nf4', '--out', path.join(work, 'model-nf4')], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Our sgemm on a 1024^3 product with the same threads, measured now (tuner-bench-gemm). */
function measuredSgemmGflops(threads: number): { gflops: number; peak: number } | null {
  const bench = path.join(path.dirname(findTrainerBinary()), process.platform === 'win32' ? 'tuner-bench-gemm.exe' : 'tuner-bench-gemm');
  if (!fs.existsSync(bench)) return null;
  const out = execFileSync(bench, ['--json', '--threads', String(threads), '--shapes', 'square', '--filter', '1024x1024x1024', '--seconds', '1'], { encoding: 'utf8' });
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; ours_gflops?: number; fma_peak_gflops?: number });
  const g = lines.find((l) => l.type === 'gemm');
  return g ? { gflops: g.ours_gflops ?? 0, peak: g.fma_peak_gflops ?? 0 } : null;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.arch === 'bloom') o.ffn = 4 * o.dim; // Bloom's MLP is 4 x hidden by definition
  if (o.arch !== 'llama' && o.methods.includes('qlora') && baseQuantOf(o) === 'nf4' && !o.skipTorch) {
    throw new Error('--arch gpt2 / bloom with --base-quant nf4: the peer reads tuner-export\'s quantized folder, which holds Llama-family names only; use --base-quant int8 (or --skip-torch)');
  }
  const root = findPackageRoot(__dirname);
  if (!root) throw new Error('bench/train-bench: cannot find the package root');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-train-bench-'));
  try {
    makeModel(path.join(work, 'model'), o, root);
    makeData(path.join(work, 'data'), o, o.steps + 1);
    if (o.methods.includes('qlora') && baseQuantOf(o) === 'nf4' && !o.skipTorch) quantizeForPeer(work);
    const sgemm = measuredSgemmGflops(o.threads);
    const tokens = o.batch * o.seq;
    const results: Result[] = [];
    for (const method of o.methods) {
      // Rounds alternate the two sides, and each keeps its fastest step over all of them, so a
      // disturbance on this shared machine costs both sides alike.
      let tuner: { msPerStep: number; peakBytes: number; start: TrainerEvent } | null = null;
      let torch: TorchResult | null = null;
      for (let round = 0; round < o.rounds; round++) {
        const t = await runTuner(work, o, method);
        if (!tuner || t.msPerStep < tuner.msPerStep) tuner = t;
        if (o.skipTorch) continue;
        const p = runTorch(work, o, method, root);
        const prior = torch as TorchResult | null;
        const all: TorchResult['all'] = prior ? prior.all.map((a, i) => (p.all[i].ms < a.ms ? p.all[i] : a)) : p.all;
        const best = all.reduce((a, b) => (b.ms < a.ms ? b : a), all[0]);
        torch = { ms: best.ms, peakBytes: Math.max(p.peakBytes, prior ? prior.peakBytes : 0), setting: best.setting, all, kernels: p.kernels };
      }
      if (!tuner) throw new Error('no rounds ran');
      const start = tuner.start as { params: number; trainable_params: number };
      results.push({
        method, params: start.params, trainable: start.trainable_params,
        tunerPeakBytes: tuner.peakBytes, torchPeakBytes: torch?.peakBytes ?? null,
        tunerTokensPerS: tokens / (tuner.msPerStep / 1000),
        torchTokensPerS: torch ? tokens / (torch.ms / 1000) : null,
        torchSetting: torch?.setting ?? null,
        torchKernels: torch?.kernels ?? null,
        torchAll: torch ? torch.all.map((t) => ({ setting: t.setting, tokensPerS: tokens / (t.ms / 1000) })) : [],
        tunerGflops: (flopsPerToken(o, method) * tokens) / (tuner.msPerStep / 1000) / 1e9,
      });
    }
    if (o.json) {
      for (const r of results) console.log(JSON.stringify({ ...r, threads: o.threads, batch: o.batch, seq: o.seq, sgemm, cpu: cpuInfo() }));
      return;
    }
    console.log(`train-bench: ${{ llama: 'Llama', gpt2: 'GPT-2', bloom: 'Bloom' }[o.arch]} dim ${o.dim}, ${o.layers} layers, ${o.heads} heads, ffn ${o.ffn}, vocab ${o.vocab} (tied), ` +
      `${(results[0].params / 1e6).toFixed(1)}M params; batch ${o.batch} x seq ${o.seq}; threads ${o.threads}; ` +
      `fastest of ${o.steps} steps after 1 warm-up, ${o.rounds} round(s); load ${os.loadavg()[0].toFixed(1)}`);
    const cpu = cpuInfo();
    console.log(`cpu: ${cpu.model} (${cpu.features.join(' ') || 'no AVX2'}); tuner-train fp32, its kernels chosen at run time`);
    if (sgemm) console.log(`sgemm 1024^3 with ${o.threads} threads: ${sgemm.gflops.toFixed(1)} GFLOP/s (FMA peak ${sgemm.peak.toFixed(1)})`);
    const mib = (b: number | null) => (b === null ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`);
    console.log('method  trainable    tuner tok/s  torch tok/s  ratio   tuner GFLOP/s  % of sgemm  % of FMA peak   tuner peak   torch peak');
    for (const r of results) {
      const ratio = r.torchTokensPerS ? (r.tunerTokensPerS / r.torchTokensPerS).toFixed(2) + 'x' : '-';
      const ofSgemm = sgemm ? `${((100 * r.tunerGflops) / sgemm.gflops).toFixed(0)}%` : '-';
      const ofPeak = sgemm?.peak ? `${((100 * r.tunerGflops) / sgemm.peak).toFixed(0)}%` : '-';
      console.log(`${r.method.padEnd(7)} ${(r.trainable / 1e6).toFixed(2).padStart(8)}M ${r.tunerTokensPerS.toFixed(0).padStart(12)} ` +
        `${(r.torchTokensPerS?.toFixed(0) ?? '-').padStart(12)} ${ratio.padStart(6)} ${r.tunerGflops.toFixed(1).padStart(15)} ${ofSgemm.padStart(11)} ${ofPeak.padStart(14)}` +
        ` ${mib(r.tunerPeakBytes).padStart(12)} ${mib(r.torchPeakBytes).padStart(12)}`);
    }
    for (const r of results.filter((x) => x.torchAll.length > 0)) {
      const k = r.torchKernels;
      console.log(`torch ${r.method}, ${o.threads} threads (OpenBLAS and OpenMP capped to ${o.threads}): ` +
        r.torchAll.map((t) => `${t.setting} ${t.tokensPerS.toFixed(0)} tok/s`).join(', ') + `; the ratio uses ${r.torchSetting}` +
        ` (PyTorch CPU capability ${k?.cpu_capability ?? '?'}, OpenBLAS core ${k?.blas_core ?? 'none'}, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset)`);
    }
    // Peak memory of the memory-saving methods against the method each replaces on this model.
    const byMethod = (m: Method) => results.find((r) => r.method === m);
    for (const [m, base, what, peer] of [['qlora', 'lora', `QLoRA (${baseQuantOf(o)} base) / LoRA`, 'LoRA on the dequantized weights / LoRA'],
      ['lomo', 'full', 'LOMO / AdamW full', 'full SGD / full AdamW']] as const) {
      const a = byMethod(m), b = byMethod(base);
      if (!a || !b) continue;
      const theirs = a.torchPeakBytes && b.torchPeakBytes ? `; torch (${peer}) ${(a.torchPeakBytes / b.torchPeakBytes).toFixed(2)}` : '';
      console.log(`peak ${what}: ours ${mib(a.tunerPeakBytes)} / ${mib(b.tunerPeakBytes)} = ${(a.tunerPeakBytes / b.tunerPeakBytes).toFixed(2)}${theirs}`);
    }
  } finally {
    if (o.keep) console.log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`train-bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
