// Command-line overrides of an ARGS.json (--model, --data, --method, --steps, --name, --threads):
// the user's file is never changed; a copy with the overrides applied (comments kept, every
// relative path made absolute so the copy works from its own folder) is written for the run,
// and the run's plan.json records the values that were trained with.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyEdits, modify, parse, type ParseError } from 'jsonc-parser';
import * as l10n from '@vscode/l10n';

export interface ArgsOverrides {
  model?: string;
  data?: string;
  method?: 'lora' | 'full';
  /** Optimizer steps: sets max_steps and removes epochs (they exclude each other). */
  steps?: number;
  /** Replaces [MODEL NAME] in the data (ARGS model_name). */
  modelName?: string;
  threads?: number;
}

/** ARGS fields that hold a path relative to ARGS.json (chat_template only when it names a file). */
const PATH_FIELDS = ['model', 'data', 'eval_data', 'output_dir', 'resume_from', 'chat_template'] as const;

export function hasOverrides(o: ArgsOverrides): boolean {
  return Object.values(o).some((v) => v !== undefined);
}

/**
 * The text of `argsFile` with `overrides` applied, for a file written elsewhere: paths in the
 * file become absolute against its folder, paths given on the command line against `cwd`.
 */
export function applyArgsOverrides(argsFile: string, text: string, overrides: ArgsOverrides, cwd: string): string {
  const errors: ParseError[] = [];
  const args = parse(text, errors, { allowTrailingComma: true }) as Record<string, unknown> | undefined;
  if (errors.length > 0 || args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new Error(l10n.t('{0}: not a valid JSON object; fix the errors shown in the editor (or by `tuner --check`) first.', argsFile));
  }
  const dir = path.dirname(path.resolve(argsFile));
  let out = text;
  const set = (key: string, value: unknown) => {
    out = applyEdits(out, modify(out, [key], value, { formattingOptions: { insertSpaces: true, tabSize: 2 } }));
  };
  for (const key of PATH_FIELDS) {
    const v = args[key];
    if (typeof v !== 'string' || v === '' || path.isAbsolute(v)) continue;
    if (key === 'chat_template' && (v.includes('{') || !/\.(jinja2?|j2|txt)$/i.test(v))) continue;
    const abs = path.resolve(dir, v);
    // "model" may be a Hugging Face id found in the local cache rather than a folder.
    if (key === 'model' && !fs.existsSync(abs)) continue;
    set(key, abs);
  }
  if (overrides.model !== undefined) set('model', fs.existsSync(path.resolve(cwd, overrides.model)) ? path.resolve(cwd, overrides.model) : overrides.model);
  if (overrides.data !== undefined) set('data', path.resolve(cwd, overrides.data));
  if (overrides.method !== undefined) set('method', overrides.method);
  if (overrides.steps !== undefined) {
    set('epochs', undefined);
    set('max_steps', overrides.steps);
  }
  if (overrides.modelName !== undefined) set('model_name', overrides.modelName);
  if (overrides.threads !== undefined) set('threads', overrides.threads);
  return out;
}

/** Writes the overridden copy under `dir` and returns its path (the user's file stays as it is). */
export function writeArgsWithOverrides(argsFile: string, overrides: ArgsOverrides, dir: string, cwd = process.cwd()): string {
  const text = applyArgsOverrides(argsFile, fs.readFileSync(argsFile, 'utf8'), overrides, cwd);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `ARGS-${Date.now()}-${process.pid}.json`);
  fs.writeFileSync(file, text);
  return file;
}
