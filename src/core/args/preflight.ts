// The pre-flight check shown on ARGS.json: does this run fit in this machine's memory, how long
// will an epoch take, and — when it does not fit — which change makes it fit (offered as a
// quick fix that edits ARGS.json).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Fix, Problem, Range } from '../dataset/problem';
import { resolveModelDir } from '../model/discover';
import { loraModuleNames, loraTargetsFor, readModelSpec, TRAINABLE_ARCHITECTURES, type ModelSpec } from '../model/spec';
import { engineSupport, trainDevice } from './engine-support';
import { decidingPeak, estimateMemory, estimateTime, formatBytes, sequencesPerEpoch, formatDuration, type MemoryEstimate, type MemoryPart, type Throughput, type TimeEstimate } from './estimate';
import { memoryPartLabel } from './estimate-markdown';
import { resolveArgs, type Args, type ResolvedArgs } from './fields';
import type { ArgsCheck } from './validate';
import * as l10n from '@vscode/l10n';

export const PREFLIGHT_CODES = { doesNotFit: 'ARG301', estimate: 'ARG302', model: 'ARG303', data: 'ARG304', tight: 'ARG305' } as const;

export interface MachineInfo {
  freeMemoryBytes: number;
  totalMemoryBytes: number;
  cores: number;
  throughput: Throughput;
  /** The speed for one model shape (a finished run of it beats `throughput`), when known. */
  throughputFor?: (spec: ModelSpec) => Throughput;
  /** CUDA GPUs found (0 or absent: none); a change that needs one is only suggested where there is one. */
  cudaGpus?: number;
  /** The first GPU's free memory (else its total) and compute capability ("8.9"), when the probe read them. */
  gpuMemoryBytes?: number;
  gpuComputeCapability?: string;
  /** The GPU's speed for a run that trains on it (the planner's assumed share of its peak until a GPU run is timed); no time estimate without it. */
  gpuThroughput?: Throughput;
  /** The CPU runs the engine's bf16 kernel (addon.ts hasBf16Kernel), when the probe read it. */
  bf16Kernel?: boolean;
}

/** How long the whole run takes: max_steps when set, else every epoch. */
export interface RunTime {
  steps: number;
  seconds: number;
  /** What fixes the length: "max_steps" or "3 epochs". */
  basis: string;
}

export interface Suggestion {
  /** Human summary, e.g. 'method "lora"'. */
  label: string;
  changes: Partial<Args>;
  estimate: MemoryEstimate;
}

export interface Preflight {
  spec: ModelSpec;
  modelDir: string;
  memory: MemoryEstimate;
  time: TimeEstimate | undefined;
  /** Rows an epoch trains: records, or packed sequences when `packed`. */
  documents: number | undefined;
  packed: boolean;
  /** Where the dataset size comes from ("prep report" or "line count"). */
  dataSource: string | undefined;
  suggestions: Suggestion[];
  run: RunTime | undefined;
}

/** The run's length from the per-epoch estimate: max_steps optimizer steps, or `epochs` passes. */
export function runTime(a: ResolvedArgs, t: TimeEstimate): RunTime {
  if (a.max_steps !== undefined && a.max_steps > 0) {
    const perStep = t.stepsPerEpoch > 0 ? t.secondsPerEpoch / t.stepsPerEpoch : 0;
    return { steps: a.max_steps, seconds: perStep * a.max_steps, basis: 'max_steps' };
  }
  return { steps: Math.round(t.stepsPerEpoch * a.epochs), seconds: t.secondsPerEpoch * a.epochs, basis: a.epochs === 1 ? l10n.t('1 epoch') : l10n.t('{0} epochs', a.epochs) };
}

function weightFileBytes(dir: string): number | undefined {
  try {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    return files.length ? files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0) : undefined;
  } catch {
    return undefined;
  }
}

const recordCounts = new Map<string, { mtimeMs: number; size: number; count: number }>();

/** Records (non-blank lines) of a JSONL file, counted in chunks; cached until the file changes. */
export function countRecords(file: string): number {
  const st = fs.statSync(file);
  const hit = recordCounts.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.count;
  const count = countRecordsNow(file);
  recordCounts.set(file, { mtimeMs: st.mtimeMs, size: st.size, count });
  return count;
}

function countRecordsNow(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n = 0, pos = 0, lineHasText = false;
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, pos);
      if (got === 0) break;
      pos += got;
      for (let i = 0; i < got; i++) {
        const c = buf[i];
        if (c === 10) {
          if (lineHasText) n++;
          lineHasText = false;
        } else if (c !== 32 && c !== 13 && c !== 9) lineHasText = true;
      }
    }
    return n + (lineHasText ? 1 : 0);
  } finally {
    fs.closeSync(fd);
  }
}

interface DatasetSize {
  /** Rows an epoch trains: records, or with packing the max_length sequences they fill. */
  documents: number;
  tokens?: number;
  /** The records' mean length in tokens (packed rows' attention restarts at each record). */
  recordTokens?: number;
  packed: boolean;
  source: string;
}

function datasetSize(a: ResolvedArgs, argsDir: string): DatasetSize | undefined {
  const report = path.resolve(argsDir, a.output_dir, 'data', 'prep-report.json');
  try {
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as { trainDocuments: number; tokens: number; dataFile: string; meanTokens?: number; packedSequences?: number | null };
    if (r.dataFile === path.resolve(argsDir, a.data)) {
      const recordTokens = typeof r.meanTokens === 'number' && r.meanTokens > 0 ? r.meanTokens : undefined;
      const packedRows = !a.packing ? undefined : typeof r.packedSequences === 'number' ? r.packedSequences : sequencesPerEpoch(r.trainDocuments, recordTokens ?? a.max_length, a.max_length, true);
      return { documents: packedRows ?? r.trainDocuments, tokens: r.tokens, recordTokens, packed: packedRows !== undefined, source: l10n.t('prep report') };
    }
  } catch {
    // not prepared yet: count lines
  }
  try {
    const file = path.resolve(argsDir, a.data);
    const records = countRecords(file);
    const kept = Math.round(records * (1 - (a.eval_data ? 0 : a.eval_split)));
    if (!a.packing || records === 0) return { documents: kept, packed: false, source: l10n.t('record count') };
    // Packed before any tokenizer ran: about 4 characters of the file per token.
    const recordTokens = fs.statSync(file).size / records / 4;
    return { documents: sequencesPerEpoch(kept, recordTokens, a.max_length, true), recordTokens, packed: true, source: l10n.t('record count and file size, about 4 characters a token') };
  } catch {
    return undefined;
  }
}

const CANDIDATES: { label: string; when: (a: ResolvedArgs, m: MachineInfo) => boolean; changes: (a: ResolvedArgs) => Partial<Args> }[] = [
  { get label() { return l10n.t('method "lora"'); }, when: (a) => a.method === 'full' || a.method === 'lomo', changes: () => ({ method: 'lora' }) },
  { get label() { return l10n.t('half the batch, twice the accumulation'); }, when: (a) => a.batch_size > 1, changes: (a) => ({ batch_size: Math.max(1, Math.floor(a.batch_size / 2)), gradient_accumulation: a.gradient_accumulation * 2 }) },
  { label: 'batch_size 1', when: (a) => a.batch_size > 2, changes: (a) => ({ batch_size: 1, gradient_accumulation: a.gradient_accumulation * a.batch_size }) },
  { get label() { return l10n.t('gradient_checkpointing'); }, when: (a) => !a.gradient_checkpointing, changes: () => ({ gradient_checkpointing: true }) },
  { get label() { return l10n.t('half the max_length'); }, when: (a) => a.max_length >= 256, changes: (a) => ({ max_length: Math.floor(a.max_length / 2) }) },
  // A 4-bit base where the engine runs one on this machine (its own plan check, engine-support.ts).
  { get label() { return l10n.t('method "qlora" (4-bit base)'); }, when: (a, m) => a.method !== 'qlora' && engineSupport.refuses({ ...a, method: 'qlora', quantization: 'nf4' }, a.device === 'cuda' || (a.device === 'auto' && (m.cudaGpus ?? 0) > 0) ? 'cuda' : 'cpu') === undefined, changes: () => ({ method: 'qlora', quantization: 'nf4' }) },
];

export function computePreflight(args: Args, argsFile: string, machine: MachineInfo): Preflight {
  const a = resolveArgs(args);
  const argsDir = path.dirname(argsFile);
  const modelDir = resolveModelDir(a.model, argsDir);
  const spec = readModelSpec(modelDir);
  const data = datasetSize(a, argsDir);
  const threads = a.threads > 0 ? a.threads : machine.cores;
  const inputs = { threads, weightFileBytes: weightFileBytes(modelDir), datasetTokens: data?.tokens ?? (data ? data.documents * a.max_length : undefined), datasetDocuments: data?.documents, bf16Kernel: machine.bf16Kernel };
  // Where tuner-train will train it (a GPU when asked for, or found and the device path takes the run).
  const gpu = { count: machine.cudaGpus ?? 0, computeCapability: machine.gpuComputeCapability };
  const estimate = (r: ResolvedArgs) => estimateMemory(spec, r, { ...inputs, device: trainDevice(r, spec, gpu) });
  const memory = estimate(a);
  const suggestions: Suggestion[] = [];
  for (const c of CANDIDATES) {
    if (!c.when(a, machine)) continue;
    const changes = c.changes(a);
    suggestions.push({ label: c.label, changes, estimate: estimate(resolveArgs({ ...a, ...changes } as Args)) });
  }
  const throughput = memory.gpu ? machine.gpuThroughput : machine.throughputFor?.(spec) ?? machine.throughput;
  const time = data && throughput ? estimateTime(spec, a, data, throughput) : undefined;
  return { spec, modelDir, memory, time, documents: data?.documents, packed: data?.packed === true, dataSource: data?.source, suggestions, run: time ? runTime(a, time) : undefined };
}

/** Quick fix edits for a suggestion: replace present keys' values, add absent keys after "model". */
function suggestionFix(s: Suggestion, check: ArgsCheck, preferred: boolean): Fix {
  const edits = [];
  const anchor = check.locations.get('model')?.property;
  for (const [k, v] of Object.entries(s.changes)) {
    const loc = check.locations.get(k);
    if (loc) edits.push({ range: loc.value, newText: JSON.stringify(v) });
    else if (anchor) edits.push({ range: { line: anchor.endLine, col: anchor.endCol, endLine: anchor.endLine, endCol: anchor.endCol }, newText: `, ${JSON.stringify(k)}: ${JSON.stringify(v)}` });
  }
  return { title: l10n.t('Use {0} (~{1})', s.label, formatBytes(decidingPeak(s.estimate))), edits, preferred };
}

/** The estimate as diagnostics on ARGS.json; errors from resolving the model become one diagnostic. */
export function preflightProblems(check: ArgsCheck, argsFile: string, machine: MachineInfo): { problems: Problem[]; preflight?: Preflight } {
  const value = check.value;
  if (!value || typeof value.model !== 'string' || typeof value.data !== 'string') return { problems: [] };
  const at = (k: string): Range => check.locations.get(k)?.key ?? { line: 0, col: 0, endLine: 0, endCol: 1 };
  let pf: Preflight;
  try {
    pf = computePreflight(value as unknown as Args, argsFile, machine);
  } catch (e) {
    return { problems: [{ range: check.locations.get('model')?.value ?? at('model'), severity: 'error', code: PREFLIGHT_CODES.model, message: (e as Error).message }] };
  }
  const problems: Problem[] = [];
  if (!(TRAINABLE_ARCHITECTURES as readonly string[]).includes(pf.spec.architecture)) {
    problems.push({ range: check.locations.get('model')!.value, severity: 'warning', code: PREFLIGHT_CODES.model, message: l10n.t('{0} cannot be trained by Tuner\'s engine yet (it trains {1}); the estimate below assumes the same shapes.', pf.spec.architecture, TRAINABLE_ARCHITECTURES.join(', ')) });
  }
  const adapters = value.method === 'lora' || value.method === 'qlora' || value.method === undefined;
  const targets = Array.isArray(value.lora_target_modules) ? (value.lora_target_modules as unknown[]).filter((t): t is string => typeof t === 'string') : [];
  const own = loraModuleNames(pf.spec);
  const foreign = targets.filter((t) => !own.includes(t));
  if (adapters && foreign.length > 0) {
    const suggestion = loraTargetsFor(pf.spec, targets);
    problems.push({ range: check.locations.get('lora_target_modules')?.value ?? at('lora_target_modules'), severity: 'error', code: PREFLIGHT_CODES.model,
      message: l10n.t('{0} has no {1}: its layers\' linears are {2}{3}.', pf.spec.architecture, foreign.join(', '), own.join(', '), suggestion.length ? l10n.t('; the same projections here are {0}', suggestion.join(', ')) : '') });
  }
  if (pf.documents === undefined) {
    problems.push({ range: check.locations.get('data')!.value, severity: 'error', code: PREFLIGHT_CODES.data, message: l10n.t('the data file {0} cannot be read: check the path (relative to ARGS.json).', path.resolve(path.dirname(argsFile), String(value.data))) });
  }
  // On a GPU the GPU's memory decides (the host's is named beside it); its size is the probe's, when read.
  const gpu = pf.memory.gpu;
  const need = decidingPeak(pf.memory);
  const free = gpu ? machine.gpuMemoryBytes ?? Infinity : machine.freeMemoryBytes;
  const termList = (parts: MemoryPart[]) => parts.filter((p) => p.bytes > 0).map((p) => `${memoryPartLabel(p.name)} ${formatBytes(p.bytes)}`).join(', ');
  const parts = gpu ? l10n.t('GPU memory: {0}; memory (host) ~{1}', termList(gpu.parts), formatBytes(pf.memory.total)) : termList(pf.memory.parts);
  const time = !pf.time || !pf.run ? ''
    : pf.packed ? l10n.t('; ~{0} for {1} steps ({2}; {3} packed sequences by {4}; speed {5})', formatDuration(pf.run.seconds), pf.run.steps, pf.run.basis, String(pf.documents), String(pf.dataSource), pf.time.throughput.source)
      : l10n.t('; ~{0} for {1} steps ({2}; {3} records by {4}; speed {5})', formatDuration(pf.run.seconds), pf.run.steps, pf.run.basis, String(pf.documents), String(pf.dataSource), pf.time.throughput.source);
  if (need > free) {
    const fits = pf.suggestions.filter((s) => decidingPeak(s.estimate) <= free * 0.9);
    const hint = fits.length ? `: ${fits[0].label} needs ~${formatBytes(decidingPeak(fits[0].estimate))}` : l10n.t('; no single change makes it fit: use a smaller model');
    problems.push({
      range: at('model'), severity: 'error', code: PREFLIGHT_CODES.doesNotFit,
      message: gpu ? l10n.t('needs ~{0} of GPU memory, the GPU has {1}{2}. ({3})', formatBytes(need), formatBytes(free), hint, parts)
        : l10n.t('needs ~{0}, this machine has {1} free{2}. ({3})', formatBytes(need), formatBytes(free), hint, parts),
      fixes: fits.map((s, i) => suggestionFix(s, check, i === 0)),
    });
  } else {
    const tight = need > free * 0.8;
    const of = gpu ? (Number.isFinite(free) ? l10n.t('{0} of the GPU\'s {1}', formatBytes(need), formatBytes(free)) : l10n.t('{0} of GPU memory', formatBytes(need))) : l10n.t('{0} of {1} free', formatBytes(need), formatBytes(free));
    problems.push({
      range: at('model'), severity: tight ? 'warning' : 'info', code: tight ? PREFLIGHT_CODES.tight : PREFLIGHT_CODES.estimate,
      message: l10n.t('needs ~{0}{1}{2}. ({3})', of, tight ? l10n.t(' (tight: close other programs or use a fix)') : '', time, parts),
      fixes: tight ? pf.suggestions.filter((s) => decidingPeak(s.estimate) < need * 0.8).slice(0, 3).map((s, i) => suggestionFix(s, check, i === 0)) : undefined,
    });
  }
  // A GPU run still loads the model on the host (fp32, or QLoRA's quantized base) and keeps it there.
  if (gpu && pf.memory.total > machine.freeMemoryBytes) {
    problems.push({ range: at('model'), severity: 'error', code: PREFLIGHT_CODES.doesNotFit,
      message: l10n.t('the host needs ~{0} of memory beside the GPU (the loaded model, peak {1} while loading), this machine has {2} free: method "qlora" loads a smaller base, or free memory.', formatBytes(pf.memory.total), formatBytes(pf.memory.loadPeak), formatBytes(machine.freeMemoryBytes)) });
  }
  return { problems, preflight: pf };
}
