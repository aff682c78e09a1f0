// Command-line options of `tuner` (npm start): parsed with node:util parseArgs, then checked
// here so that every mistake is one sentence naming the option and what to write instead.
import { parseArgs } from 'node:util';

import type { GgufType } from '../core/engine/export-client';
import type { QuantName } from '../core/engine/infer-addon';
import { QUANT_NAMES } from '../core/engine/infer-protocol';
import type { ArgsOverrides } from '../core/pipeline/args-overrides';

/** Asked before and after tuning when no --prompt is given: questions the sample identity data answers. */
export const DEFAULT_PROMPTS = ['Who are you?', 'What is your name?', 'Who made you?', 'Hello!'];

const GGUF_TYPES: readonly (GgufType | 'none')[] = ['q8_0', 'q4_0', 'f16', 'bf16', 'f32', 'none'];

export const USAGE = `Usage: tuner [ARGS.json] [options]        (from a clone: npm start -- [options])

Fine-tunes a model as ARGS.json says, merges the adapter into the model, quantizes it (a folder
Tuner runs, and a GGUF file for llama.cpp / Ollama), and shows the base and the tuned model's
answers to the same questions. The run's adapter (or full model) is copied to ARGS.json's
output_dir as <output_dir>/adapter (or /model), as the editor does; the run folder keeps it too.
Without ARGS.json it runs samples/ARGS.json: the starter model (models/starter) learns a new
name from samples/identity.jsonl.

Options:
  --model DIR          model folder (or a Hugging Face id in the local cache) instead of ARGS "model"
  --data FILE          training data (JSON lines) instead of ARGS "data"
  --method lora|full   training method instead of ARGS "method"
  --steps N            optimizer steps (replaces ARGS "epochs" / "max_steps")
  --name NAME          name that replaces [MODEL NAME] in the data (ARGS "model_name")
  --threads N          CPU threads for training and inference (0: every core)
  --prompt TEXT        a question to ask before and after (repeatable; default: ${DEFAULT_PROMPTS.map((p) => JSON.stringify(p)).join(', ')})
  --quant FORMAT       quantized folder written from the tuned model, and the format the answers
                       run in: ${QUANT_NAMES.join(', ')} (default int8; f32: no folder)
  --gguf TYPE          GGUF file written from the tuned model: ${GGUF_TYPES.join(', ')} (default q8_0)
  --max-new-tokens N   longest answer in tokens (default 48)
  --runs DIR           folder of the run folders (default: runs/ next to ARGS.json)
  --report FILE        also write the result (stages, times, answers, paths) as JSON
  -h, --help           this text
  -v, --version        Tuner's version
`;

export interface CliOptions {
  command: 'run' | 'help' | 'version';
  /** ARGS.json given on the command line; undefined: the samples' one. */
  argsFile?: string;
  overrides: ArgsOverrides;
  prompts: string[];
  quant: QuantName;
  gguf: GgufType | null;
  maxNewTokens: number;
  runsDir?: string;
  reportFile?: string;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function count(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${name} wants a whole number of at least ${min}, got "${value}".`);
  return Number(value);
}

export function parseCliOptions(argv: readonly string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        model: { type: 'string' },
        data: { type: 'string' },
        method: { type: 'string' },
        steps: { type: 'string' },
        name: { type: 'string' },
        threads: { type: 'string' },
        prompt: { type: 'string', multiple: true },
        quant: { type: 'string' },
        gguf: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        runs: { type: 'string' },
        report: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (e) {
    // parseArgs names the option ("Unknown option '--step'"); point at the list.
    throw new UsageError(`${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')}. Run \`tuner --help\` for the options.`);
  }
  const v = parsed.values;
  const base: CliOptions = { command: 'run', overrides: {}, prompts: DEFAULT_PROMPTS, quant: 'int8', gguf: 'q8_0', maxNewTokens: 48 };
  if (v.help) return { ...base, command: 'help' };
  if (v.version) return { ...base, command: 'version' };
  if (parsed.positionals.length > 1) throw new UsageError(`one ARGS.json at a time, got ${parsed.positionals.length}: ${parsed.positionals.join(' ')}.`);
  if (v.method !== undefined && v.method !== 'lora' && v.method !== 'full') throw new UsageError(`--method is lora or full, got "${v.method}".`);
  if (v.quant !== undefined && !(QUANT_NAMES as readonly string[]).includes(v.quant)) throw new UsageError(`--quant is one of ${QUANT_NAMES.join(', ')}, got "${v.quant}".`);
  if (v.gguf !== undefined && !(GGUF_TYPES as readonly string[]).includes(v.gguf)) throw new UsageError(`--gguf is one of ${GGUF_TYPES.join(', ')}, got "${v.gguf}".`);
  for (const key of ['model', 'data', 'name', 'runs', 'report'] as const) {
    if (v[key] !== undefined && v[key]!.trim() === '') throw new UsageError(`--${key} is empty.`);
  }
  const prompts = v.prompt ?? DEFAULT_PROMPTS;
  if (prompts.some((p) => p.trim() === '')) throw new UsageError('--prompt is empty.');
  const overrides: ArgsOverrides = {
    model: v.model,
    data: v.data,
    method: v.method as ArgsOverrides['method'],
    steps: count('steps', v.steps, 1),
    modelName: v.name,
    threads: count('threads', v.threads, 0),
  };
  return {
    command: 'run',
    argsFile: parsed.positionals[0],
    overrides: Object.fromEntries(Object.entries(overrides).filter(([, x]) => x !== undefined)) as ArgsOverrides,
    prompts: [...prompts],
    quant: (v.quant as QuantName | undefined) ?? 'int8',
    gguf: v.gguf === 'none' ? null : ((v.gguf as GgufType | undefined) ?? 'q8_0'),
    maxNewTokens: count('max-new-tokens', v['max-new-tokens'], 1) ?? 48,
    runsDir: v.runs,
    reportFile: v.report,
  };
}
