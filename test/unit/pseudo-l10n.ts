// A pseudo-localised bundle for tests: every message of l10n/bundle.l10n.json with its vowels
// accented and the whole put in ⟦ ⟧, the {n} placeholders kept, so translated text is told from
// English at a glance (and in an assertion) without a real translation.
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ACCENTS: Record<string, string> = { a: 'á', e: 'é', i: 'í', o: 'ó', u: 'ú', A: 'Á', E: 'É', I: 'Í', O: 'Ó', U: 'Ú' };

/** A message in the pseudo language. */
export const pseudo = (message: string) => `⟦${message.split(/(\{\d+\})/).map((part, i) => (i % 2 ? part : part.replace(/[aeiouAEIOU]/g, (c) => ACCENTS[c]))).join('')}⟧`;

/** l10n/bundle.l10n.json with every message in the pseudo language. */
export function pseudoBundle(): Record<string, string> {
  const english = JSON.parse(fs.readFileSync(path.join(ROOT, 'l10n', 'bundle.l10n.json'), 'utf8')) as Record<string, string>;
  return Object.fromEntries(Object.keys(english).map((k) => [k, pseudo(k)]));
}

/** Whether `text` is a translated message (it opens with ⟦ and holds its closing ⟧). */
export const translated = (text: string) => text.startsWith('⟦') && text.includes('⟧');
