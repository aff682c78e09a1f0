// Runs tuner-export (native/tools/export.cpp) as a child process: LoRA merged into its base as a
// Hugging Face folder, a quantized folder the engine runs as stored, or one GGUF file. The tool prints one JSON line on
// success and one {code, message, hint} line on stderr on failure; both are parsed here, so a
// caller gets a typed report or an ExportError naming the file and the fix.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { findTrainerBinary, trainerEnv } from './trainer-client';

export const EXPORT_BINARY = process.platform === 'win32' ? 'tuner-export.exe' : 'tuner-export';

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

export type GgufType = 'f32' | 'f16' | 'q8_0' | 'q4_0';
/** Formats of a quantized folder (docs/export.md): the engine's formats except f32. */
export type QuantizeType = 'f16' | 'q8_0' | 'q4_0' | 'int8' | 'nf4';

export interface ExportToolOptions {
  /** tuner-export to run (default: next to tuner-train, see findTrainerBinary). */
  binary?: string;
  threads?: number;
  env?: NodeJS.ProcessEnv;
}

/** tuner-export beside the tuner-train that findTrainerBinary finds ($TUNER_NATIVE_BUILD_DIR, build/native). */
export function findExportBinary(env: NodeJS.ProcessEnv = process.env): string {
  const file = path.join(path.dirname(findTrainerBinary(env)), EXPORT_BINARY);
  if (!fs.existsSync(file)) throw new ExportError('missing_binary', `tuner-export not found at ${file}`, 'Run `npm run build:native` to build the native tools.');
  return file;
}

function runExport(args: string[], opts: ExportToolOptions): Promise<unknown> {
  const binary = opts.binary ?? findExportBinary(opts.env);
  if (opts.threads !== undefined) args.push('--threads', String(opts.threads));
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env: trainerEnv(opts.env ?? process.env), maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
        } catch {
          reject(new ExportError('protocol_error', `tuner-export printed no report: ${stdout.slice(0, 200)}`, 'Rebuild the native tools with `npm run build:native`.'));
        }
        return;
      }
      const line = stderr.trim().split('\n').pop() ?? '';
      try {
        const e = JSON.parse(line) as { code?: string; message?: string; hint?: string };
        reject(new ExportError(e.code ?? 'export_failed', e.message ?? line, e.hint ?? ''));
      } catch {
        reject(new ExportError('export_failed', `tuner-export failed (${err.message}): ${stderr.slice(-500)}`, ''));
      }
    });
  });
}

/** Merges a PEFT adapter into its base; writes a Hugging Face folder (base dtype unless `dtype`). */
export async function mergeAdapter(base: string, adapter: string, out: string, opts: ExportToolOptions & { dtype?: 'auto' | 'f32' | 'f16' | 'bf16' } = {}): Promise<MergeReport> {
  const args = ['merge', '--base', base, '--adapter', adapter, '--out', out];
  if (opts.dtype) args.push('--dtype', opts.dtype);
  return (await runExport(args, opts)) as MergeReport;
}

/** Writes a quantized folder of `model` (with `adapter` merged first, if given) that the engine runs as stored. */
export async function quantizeModel(model: string, out: string, quant: QuantizeType, opts: ExportToolOptions & { adapter?: string } = {}): Promise<QuantizeReport> {
  const args = ['quantize', '--model', model, '--quant', quant, '--out', out];
  if (opts.adapter) args.push('--adapter', opts.adapter);
  return (await runExport(args, opts)) as QuantizeReport;
}

/** Writes `model` (with `adapter` merged first, if given) as one GGUF file of `type` matrices. */
export async function exportGguf(model: string, out: string, type: GgufType, opts: ExportToolOptions & { adapter?: string; name?: string } = {}): Promise<GgufReport> {
  const args = ['gguf', '--model', model, '--type', type, '--out', out];
  if (opts.adapter) args.push('--adapter', opts.adapter);
  if (opts.name) args.push('--name', opts.name);
  return (await runExport(args, opts)) as GgufReport;
}
