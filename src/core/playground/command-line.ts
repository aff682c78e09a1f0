// "Copy as command": the tuner-generate line that generates what the playground generated, for a
// terminal, a script or a bug report. tuner-generate is the engine without Node, so it takes
// token ids, not text: the prompt is rendered and tokenized here exactly as the inference worker
// does (same chat template, same BOS rule), and the same seed and filters give the same tokens.
import type { QuantName } from '../engine/infer-addon';
import type { SamplingRequest } from '../engine/infer-protocol';
import * as l10n from '@vscode/l10n';

export interface GenerateCommand {
  binary: string;
  modelDir: string;
  adapterDir?: string;
  quant: QuantName;
  contextLength?: number;
  promptIds: readonly number[];
  maxNewTokens: number;
  sampling: SamplingRequest;
  /** Ids that end a generation (the model's EOS and the template's end of turn). */
  stopIds: readonly number[];
  /** Stop strings: tuner-generate has none (it never sees text), so they are named in a comment. */
  stopStrings: readonly string[];
  /** What the prompt was, for the comment: e.g. "chat, 3 messages". */
  promptNote: string;
}

/** POSIX shell quoting: bare when safe, else in single quotes. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const num = (v: number) => String(Number(v.toPrecision(7)));

export function generateCommandLine(c: GenerateCommand): string {
  const args: string[] = [c.binary, c.modelDir];
  if (c.adapterDir) args.push('--adapter', c.adapterDir);
  args.push('--quant', c.quant);
  if (c.contextLength !== undefined) args.push('--context', String(c.contextLength));
  args.push('--ids', c.promptIds.join(','), '--max-new', String(c.maxNewTokens));
  const s = c.sampling;
  if (!s.temperature) args.push('--greedy');
  else {
    args.push('--temperature', num(s.temperature));
    if (s.top_k) args.push('--top-k', String(s.top_k));
    if (s.top_p !== undefined && s.top_p !== 1) args.push('--top-p', num(s.top_p));
    if (s.min_p) args.push('--min-p', num(s.min_p));
  }
  if (s.repetition_penalty !== undefined && s.repetition_penalty !== 1) args.push('--repetition-penalty', num(s.repetition_penalty));
  if (s.no_repeat_ngram_size) args.push('--no-repeat-ngram', String(s.no_repeat_ngram_size));
  if (s.seed !== undefined) args.push('--seed', String(s.seed));
  if (c.stopIds.length > 0) args.push('--stop', c.stopIds.join(','));
  const lines = [
    l10n.t('# Tuner playground: {0}, {1} prompt tokens. tuner-generate prints the generated token ids as JSON.', c.promptNote, c.promptIds.length),
  ];
  if (c.stopStrings.length > 0) lines.push(l10n.t('# Stop strings {0} end the playground\'s generation; tuner-generate stops at token ids only.', c.stopStrings.map((x) => JSON.stringify(x)).join(', ')));
  lines.push(args.map(shellQuote).join(' '));
  return lines.join('\n') + '\n';
}
