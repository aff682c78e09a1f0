// The playground's sampling controls: their defaults, the presets, the range check shown next
// to each field, and the conversion to the inference worker's `sampling` request (Hugging Face
// generate() semantics; a neutral value is left out rather than sent).
import type { SamplingRequest } from '../engine/infer-protocol';
import * as l10n from '@vscode/l10n';

export interface SamplingControls {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  top_k: number;
  /** 1 = off. */
  top_p: number;
  /** 0 = off. */
  min_p: number;
  /** 1 = off. */
  repetition_penalty: number;
  /** 0 = off. */
  no_repeat_ngram_size: number;
  seed: number;
  max_new_tokens: number;
  /** Generation ends when the output contains one of these (the stop string is not shown). */
  stop: string[];
}

export type SamplingField = Exclude<keyof SamplingControls, 'stop'>;

export interface SamplingPreset {
  id: string;
  label: string;
  description: string;
  values: Omit<SamplingControls, 'seed' | 'max_new_tokens' | 'stop'>;
}

const NEUTRAL = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1, no_repeat_ngram_size: 0 };

export const SAMPLING_PRESETS: readonly SamplingPreset[] = [
  {
    id: 'balanced',
    get label() { return l10n.t('Balanced'); },
    get description() { return l10n.t('temperature 0.8, no repeated 2-grams: varied but on topic (the seed tutorial\'s settings)'); },
    values: { ...NEUTRAL, temperature: 0.8, no_repeat_ngram_size: 2 },
  },
  { id: 'greedy', get label() { return l10n.t('Greedy'); }, get description() { return l10n.t('always the most likely token: the same answer every time'); }, values: { ...NEUTRAL } },
  { id: 'precise', get label() { return l10n.t('Precise'); }, get description() { return l10n.t('temperature 0.3, top-p 0.9: close to greedy, a little variety'); }, values: { ...NEUTRAL, temperature: 0.3, top_p: 0.9 } },
  { id: 'creative', get label() { return l10n.t('Creative'); }, get description() { return l10n.t('temperature 1.0, top-p 0.95, top-k 50, repetition penalty 1.1'); }, values: { ...NEUTRAL, temperature: 1, top_p: 0.95, top_k: 50, repetition_penalty: 1.1 } },
];

export const DEFAULT_SAMPLING: SamplingControls = { ...SAMPLING_PRESETS[0].values, seed: 42, max_new_tokens: 256, stop: [] };

/** Largest max_new_tokens the panel accepts (the context length limits it further at generation time). */
export const MAX_NEW_TOKENS_LIMIT = 32768;

interface FieldRule {
  label: string;
  integer: boolean;
  ok(v: number): boolean;
  want: string;
}

export const SAMPLING_FIELDS: Record<SamplingField, FieldRule> = {
  temperature: { get label() { return l10n.t('Temperature'); }, integer: false, ok: (v) => v >= 0 && v <= 5, get want() { return l10n.t('between 0 (greedy) and 5'); } },
  top_k: { label: 'Top-k', integer: true, ok: (v) => v >= 0, get want() { return l10n.t('0 (off) or a whole number of tokens'); } },
  top_p: { label: 'Top-p', integer: false, ok: (v) => v > 0 && v <= 1, get want() { return l10n.t('more than 0 and at most 1 (1 = off)'); } },
  min_p: { label: 'Min-p', integer: false, ok: (v) => v >= 0 && v <= 1, get want() { return l10n.t('between 0 (off) and 1'); } },
  repetition_penalty: { get label() { return l10n.t('Repetition penalty'); }, integer: false, ok: (v) => v > 0 && v <= 10, get want() { return l10n.t('more than 0 and at most 10 (1 = off)'); } },
  no_repeat_ngram_size: { get label() { return l10n.t('No repeated n-grams'); }, integer: true, ok: (v) => v >= 0 && v <= 32, get want() { return l10n.t('0 (off) or an n-gram length up to 32'); } },
  seed: { get label() { return l10n.t('Seed'); }, integer: true, ok: (v) => v >= 0 && v <= Number.MAX_SAFE_INTEGER, get want() { return l10n.t('a whole number, 0 or more'); } },
  max_new_tokens: { get label() { return l10n.t('Max new tokens'); }, integer: true, ok: (v) => v >= 1 && v <= MAX_NEW_TOKENS_LIMIT, get want() { return l10n.t('a whole number from 1 to {0}', MAX_NEW_TOKENS_LIMIT); } },
};

/** What is wrong with one field's value, or undefined when it is fine. */
export function samplingFieldError(field: SamplingField, v: number): string | undefined {
  const rule = SAMPLING_FIELDS[field];
  if (!Number.isFinite(v)) return l10n.t('{0} must be a number: {1}', rule.label, rule.want);
  if (rule.integer && !Number.isInteger(v)) return l10n.t('{0} must be {1}', rule.label, rule.want);
  return rule.ok(v) ? undefined : l10n.t('{0} must be {1}', rule.label, rule.want);
}

/** Every problem of a set of controls, by field ("stop" included). Empty when all is well. */
export function samplingErrors(s: SamplingControls): Partial<Record<SamplingField | 'stop', string>> {
  const out: Partial<Record<SamplingField | 'stop', string>> = {};
  for (const f of Object.keys(SAMPLING_FIELDS) as SamplingField[]) {
    const e = samplingFieldError(f, s[f]);
    if (e) out[f] = e;
  }
  if (!Array.isArray(s.stop) || s.stop.some((x) => typeof x !== 'string' || x === '')) out.stop = l10n.t('Stop strings must be non-empty text');
  else if (s.stop.length > 16) out.stop = l10n.t('At most 16 stop strings');
  return out;
}

/** The preset these values match, if any. */
export function presetOf(s: SamplingControls): SamplingPreset | undefined {
  return SAMPLING_PRESETS.find((p) => (Object.keys(p.values) as (keyof SamplingPreset['values'])[]).every((k) => p.values[k] === s[k]));
}

/** The worker's `sampling` field: only the filters that are on, and the seed. */
export function toSamplingRequest(s: SamplingControls): SamplingRequest {
  const r: SamplingRequest = { seed: s.seed };
  if (s.temperature !== NEUTRAL.temperature) r.temperature = s.temperature;
  if (s.top_k !== NEUTRAL.top_k) r.top_k = s.top_k;
  if (s.top_p !== NEUTRAL.top_p) r.top_p = s.top_p;
  if (s.min_p !== NEUTRAL.min_p) r.min_p = s.min_p;
  if (s.repetition_penalty !== NEUTRAL.repetition_penalty) r.repetition_penalty = s.repetition_penalty;
  if (s.no_repeat_ngram_size !== NEUTRAL.no_repeat_ngram_size) r.no_repeat_ngram_size = s.no_repeat_ngram_size;
  return r;
}

/**
 * Stop strings as typed in one field: separated by newlines; \n and \t escapes stand for a
 * newline and a tab inside one (a stop at the end of a line is "\n").
 */
export function parseStopStrings(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\\(n|t|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\')))
    .filter((l) => l !== '');
}

export function formatStopStrings(stop: readonly string[]): string {
  return stop.map((s) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\t/g, '\\t')).join('\n');
}
