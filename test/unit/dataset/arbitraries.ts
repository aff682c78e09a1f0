// fast-check generators for the linter's property tests: records of every format (text with
// quotes, escapes, control characters, non-BMP characters, placeholders), lines printed with
// varied spacing, and mutations that break them the way hand-edited files break.

import fc from 'fast-check';

/** Runs per property: TUNER_FUZZ_RUNS scales them (CI keeps the default), TUNER_FUZZ_SEED replays a failure. */
export function fuzzParams(runs: number): { numRuns: number; seed?: number } {
  const scale = Number(process.env.TUNER_FUZZ_RUNS_SCALE ?? '1');
  const seed = process.env.TUNER_FUZZ_SEED;
  return { numRuns: Math.max(1, Math.round(runs * (Number.isFinite(scale) && scale > 0 ? scale : 1))), ...(seed ? { seed: Number(seed) } : {}) };
}

const CHARS = ['a', 'b', 'Z', ' ', '  ', '\t', '\n', '\r', '"', '\\', '/', '{', '}', '[', ']', ',', ':', 'é', '数', '😀', '\u00a0', '\u2028', '\u001b', '\u0000', '\uFFFD', '@', '<b>', '&amp;', '[MODEL NAME]', '{{name}}', 'http://x.io', 'true', '1'];

export const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 12 }).map((parts) => parts.join(''));
const role = fc.constantFrom('system', 'user', 'assistant', 'tool', 'bot');
const turns = fc.array(fc.record({ role, content: text }), { maxLength: 5 });
const extra = fc.dictionary(fc.constantFrom('id', 'meta', 'source', 'x'), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 2 });

/** One record of any format (some with extra or missing fields, some with a broken shape). */
export const record: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ instruction: text, input: text, output: text }, { requiredKeys: ['instruction', 'output'] }),
  fc.record({ input: text, output: text }),
  fc.record({ question: text, answer: text }),
  fc.record({ messages: turns }),
  fc.record({ conversations: fc.array(fc.record({ from: fc.constantFrom('human', 'gpt', 'system', 'x'), value: text }), { maxLength: 4 }) }),
  fc.record({ text }),
  fc.record({ prompt: text, chosen: fc.oneof(text, turns), rejected: fc.oneof(text, turns) }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 4 }),
).chain((rec) => extra.map((x) => ({ ...rec, ...x })));

/** A record printed on one line, compact or spaced. */
export const line = fc.tuple(record, fc.boolean()).map(([rec, spaced]) => {
  const s = JSON.stringify(rec);
  return spaced ? s.replace(/([,:])(?=["{[\d-tfn])/g, '$1 ') : s;
});

const INSERTS = ['"', ',', '}', ']', '{', '[', ':', '\\', 'x', ' ', '1', '0', '-', '.', 'e', 't', 'n', '\u201c', "'", '😀', '\u00a0', '\t', '\u0001'];

type Mutation = { kind: 'insert'; at: number; ch: string } | { kind: 'delete'; at: number } | { kind: 'cut'; at: number } | { kind: 'comma'; at: number } | { kind: 'quote'; at: number; ch: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: fc.constantFrom(...INSERTS) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('comma' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('quote' as const), at: fc.nat(), ch: fc.constantFrom('\u201c', '\u201d', "'") }),
);

function mutate(s: string, m: Mutation): string {
  const at = s.length ? m.at % (s.length + 1) : 0;
  switch (m.kind) {
    case 'insert': return s.slice(0, at) + m.ch + s.slice(at);
    case 'delete': return s.slice(0, at) + s.slice(at + 1);
    case 'cut': return s.slice(0, at);
    case 'comma': {
      // A trailing comma before one of the closing brackets, with or without a space.
      const closers = [...s.matchAll(/[}\]]/g)].map((x) => x.index);
      if (closers.length === 0) return s;
      const c = closers[m.at % closers.length];
      return s.slice(0, c) + (m.at % 2 ? ', ' : ',') + s.slice(c);
    }
    case 'quote': {
      const quotes = [...s.matchAll(/"/g)].map((x) => x.index);
      if (quotes.length === 0) return s;
      const q = quotes[m.at % quotes.length];
      return s.slice(0, q) + m.ch + s.slice(q + 1);
    }
  }
}

/** A line broken by one to three mutations (it may still be valid JSON now and then). */
export const brokenLine = fc.tuple(line, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([s, ms]) => ms.reduce(mutate, s));
