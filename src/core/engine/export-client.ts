// The one client of tuner-export (native/tools/export.cpp), used by `npm start` and the
// playground's export jobs: LoRA merged into its base as a Hugging Face folder, a quantized
// folder the engine runs as stored, or one GGUF file. The tool prints one JSON line on success
// and one {code, message, hint} line on stderr on failure; both are parsed here, so a caller gets
// a typed report or an ExportError naming the file and the fix.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { findTrainerBinary, trainerEnv } from './trainer-client';
import * as l10n from '@vscode/l10n';

export class ExportError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'ExportError';
  }
}

export interface MergeReport {
  command: 'merge';
  out: string;
  files: string[];
  /** Storage dtype of the merged weights ("F16", "BF16", "F32"). */
  dtype: string;
  merge: { modules: number; rank: number; scaling: number; rslora: boolean };
  bytes: number;
  seconds: number;
  warnings: string[];
}

export interface GgufReport {
  command: 'gguf';
  out: string;
  type: GgufType;
  bytes: number;
  seconds: number;
  warnings: string[];
}

export interface QuantizeReport {
  command: 'quantize';
  out: string;
  files: string[];
  quant: QuantizeType;
  bytes: number;
  seconds: number;
  warnings: string[];
}

export type GgufType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0';
/** Formats of a quantized folder (docs/export.md): the engine's formats except f32. */
export type QuantizeType = 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'int8' | 'nf4';

export interface ExportToolOptions {
  /** tuner-export to run (default: next to tuner-train, see findTrainerBinary). */
  binary?: string;
  threads?: number;
  env?: NodeJS.ProcessEnv;
}

/** A native tool built beside tuner-train (tuner-generate, tuner-export): found where tuner-train is ($TUNER_NATIVE_BUILD_DIR, build/native). */
export function findNativeTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(path.dirname(findTrainerBinary(env)), process.platform === 'win32' ? `${name}.exe` : name);
  if (!fs.existsSync(file)) throw new ExportError('missing_binary', l10n.t('{0} not found at {1}', name, file), l10n.t('Run `npm run build:native` to build the native tools.'));
  return file;
}

/** tuner-export beside the tuner-train that findTrainerBinary finds. */
export function findExportBinary(env: NodeJS.ProcessEnv = process.env): string {
  return findNativeTool('tuner-export', env);
}

/** The command lines of tuner-export's three commands (docs/export.md). */
export function mergeArgs(base: string, adapter: string, out: string, dtype?: 'auto' | 'f32' | 'f16' | 'bf16'): string[] {
  return ['merge', '--base', base, '--adapter', adapter, '--out', out, ...(dtype ? ['--dtype', dtype] : [])];
}

export function quantizeArgs(model: string, out: string, quant: QuantizeType, adapter?: string): string[] {
  return ['quantize', '--model', model, '--quant', quant, '--out', out, ...(adapter ? ['--adapter', adapter] : [])];
}

export function ggufArgs(model: string, out: string, type: GgufType, o: { adapter?: string; name?: string } = {}): string[] {
  return ['gguf', '--model', model, ...(o.adapter ? ['--adapter', o.adapter] : []), '--type', type, '--out', out, ...(o.name ? ['--name', o.name] : [])];
}

/**
 * Runs tuner-export with `args`; resolves with its report (the last line of stdout), rejects
 * with an ExportError from its {code, message, hint} line on stderr. Aborting `signal` kills the
 * tool and rejects with code "cancelled".
 */
export function runExportTool(binary: string, args: string[], o: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new ExportError('cancelled', 'cancelled', ''));
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: trainerEnv(o.env ?? process.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (stdout = (stdout + t).slice(-1_000_000)));
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr = (stderr + t).slice(-16_000)));
    const abort = () => child.kill('SIGTERM');
    o.signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (e) => {
      o.signal?.removeEventListener('abort', abort);
      reject(new ExportError('missing_binary', l10n.t('{0} could not start: {1}', binary, e.message), l10n.t('Run `npm run build:native` to build the native tools.')));
    });
    child.once('close', (code, signal) => {
      o.signal?.removeEventListener('abort', abort);
      if (o.signal?.aborted) return reject(new ExportError('cancelled', 'cancelled', ''));
      if (code === 0) {
        try {
          return resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''));
        } catch {
          return reject(new ExportError('protocol_error', l10n.t('tuner-export printed no report: {0}', stdout.slice(0, 200)), l10n.t('Rebuild the native tools with `npm run build:native`.')));
        }
      }
      const last = stderr.trim().split('\n').at(-1) ?? '';
      try {
        const e = JSON.parse(last) as { code?: string; message?: string; hint?: string };
        reject(new ExportError(e.code ?? 'export_failed', e.message ?? last, e.hint ?? ''));
      } catch {
        reject(new ExportError('export_failed', `tuner-export ${signal ? l10n.t('was killed by {0}', signal) : l10n.t('exited with code {0}', String(code))}${last ? `: ${last}` : ''}`, l10n.t('See the Tuner log (Tuner: Show Log).')));
      }
    });
  });
}

function runExport(args: string[], opts: ExportToolOptions): Promise<unknown> {
  if (opts.threads !== undefined) args.push('--threads', String(opts.threads));
  return runExportTool(opts.binary ?? findExportBinary(opts.env), args, { env: opts.env });
}

/** Merges a PEFT adapter into its base; writes a Hugging Face folder (base dtype unless `dtype`). */
export async function mergeAdapter(base: string, adapter: string, out: string, opts: ExportToolOptions & { dtype?: 'auto' | 'f32' | 'f16' | 'bf16' } = {}): Promise<MergeReport> {
  return (await runExport(mergeArgs(base, adapter, out, opts.dtype), opts)) as MergeReport;
}

/** Writes a quantized folder of `model` (with `adapter` merged first, if given) that the engine runs as stored. */
export async function quantizeModel(model: string, out: string, quant: QuantizeType, opts: ExportToolOptions & { adapter?: string } = {}): Promise<QuantizeReport> {
  return (await runExport(quantizeArgs(model, out, quant, opts.adapter), opts)) as QuantizeReport;
}

/** Writes `model` (with `adapter` merged first, if given) as one GGUF file of `type` matrices. */
export async function exportGguf(model: string, out: string, type: GgufType, opts: ExportToolOptions & { adapter?: string; name?: string } = {}): Promise<GgufReport> {
  return (await runExport(ggufArgs(model, out, type, opts), opts)) as GgufReport;
}
