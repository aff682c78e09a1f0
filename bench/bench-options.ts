// Command-line options of the benchmarks (bench:train, bench:decode, bench:infer-worker): one
// parser over each benchmark's table of whole-number options, flags and list options, so every
// benchmark checks its arguments the same way and names the comment that documents them.

/** What a benchmark accepts: `--name value` whole numbers >= 1, `--name` flags, and options parsed by their own function. */
export interface OptionSpec<O> {
  /** The benchmark's file, named in the error for an unknown option (its opening comment lists them). */
  file: string;
  numeric?: Partial<Record<string, keyof O>>;
  flags?: Partial<Record<string, keyof O>>;
  /** `--no-…` flags: set their boolean field to false (a default that is on). */
  clears?: Partial<Record<string, keyof O>>;
  /** `--name value` options with their own parsing and checks (lists, fractions, choices). */
  custom?: Record<string, (value: string, o: O) => void>;
}

/** Parses argv into a copy of `defaults`; throws an Error naming the option and what it wants. */
/** The benchmark model's shape and batch, which the training benchmarks take alike. */
export interface ShapeOptions {
  dim: number;
  layers: number;
  heads: number;
  ffn: number;
  vocab: number;
  batch: number;
  seq: number;
}

/** The command-line options of ShapeOptions' fields. */
export const SHAPE_FLAGS = { '--dim': 'dim', '--layers': 'layers', '--heads': 'heads', '--ffn': 'ffn', '--vocab': 'vocab', '--batch': 'batch', '--seq': 'seq' } as const;

export function parseBenchOptions<O extends object>(argv: readonly string[], defaults: O, spec: OptionSpec<O>): O {
  const o = { ...defaults } as O;
  const fields = o as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const numeric = spec.numeric?.[a];
    const flag = spec.flags?.[a];
    const clear = spec.clears?.[a];
    const custom = spec.custom?.[a];
    if (numeric !== undefined) {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} wants a positive whole number, got ${argv[i]}`);
      fields[numeric as string] = v;
    } else if (flag !== undefined) {
      fields[flag as string] = true;
    } else if (clear !== undefined) {
      fields[clear as string] = false;
    } else if (custom) {
      if (i + 1 >= argv.length) throw new Error(`${a} wants a value`);
      custom(argv[++i], o);
    } else {
      throw new Error(`unknown option ${a} (see the comment at the top of ${spec.file})`);
    }
  }
  return o;
}

/** A comma-separated list whose every item is one of `known` (for the custom options). */
export function listOf<T extends string>(option: string, value: string, known: readonly T[]): T[] {
  const items = value.split(',') as T[];
  for (const x of items) if (!known.includes(x)) throw new Error(`${option}: "${x}" is not one of ${known.join(', ')}`);
  return items;
}

/** One of `known` (for the custom options). */
export function oneOf<T extends string>(option: string, value: string, known: readonly T[]): T {
  if (!(known as readonly string[]).includes(value)) throw new Error(`${option}: "${value}" is not one of ${known.join(', ')}`);
  return value as T;
}
