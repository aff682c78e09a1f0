// Reads Princeton WordNet 3.0 as Debian's wordnet-base installs it (/usr/share/wordnet) and
// turns the most used English words into short, grammatical training text: chat questions with
// one-sentence answers ("What is a dog?" -> "A dog is a member of the genus Canis ...") and
// plain paragraphs. Only the word's most frequent sense (first in index.POS) is used, and only
// words whose SemCor tag count (cntlist.rev) reaches a threshold, so the set stays small and
// every answer is about a word people actually ask about.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const WORDNET_DIR = '/usr/share/wordnet';

const POS_FILES = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };
/** cntlist.rev's ss_type digit -> index file part of speech (5 = adjective satellite). */
const SS_TYPE = { 1: 'n', 2: 'v', 3: 'a', 4: 'r', 5: 'a' };

/** Usage counts per "lemma pos" summed over senses, from the SemCor-based cntlist.rev. */
function lemmaCounts(dir) {
  const counts = new Map();
  for (const line of fs.readFileSync(path.join(dir, 'cntlist.rev'), 'utf8').split('\n')) {
    const [key, , cnt] = line.split(' ');
    if (!key) continue;
    const [lemma, rest] = key.split('%');
    const pos = SS_TYPE[rest[0]];
    const k = `${lemma} ${pos}`;
    counts.set(k, (counts.get(k) ?? 0) + Number(cnt));
  }
  return counts;
}

/** index.POS: lemma -> synset offsets, most frequent sense first. */
function readIndex(dir, pos) {
  const out = new Map();
  for (const line of fs.readFileSync(path.join(dir, `index.${POS_FILES[pos]}`), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('  ')) continue;
    const f = line.trim().split(' ');
    const pCnt = Number(f[3]);
    const synsetCnt = Number(f[2]);
    out.set(f[0], f.slice(4 + pCnt + 2, 4 + pCnt + 2 + synsetCnt));
  }
  return out;
}

/** data.POS: offset -> {words, pointers, definition, examples}. */
function readData(dir, pos) {
  const out = new Map();
  for (const line of fs.readFileSync(path.join(dir, `data.${POS_FILES[pos]}`), 'utf8').split('\n')) {
    if (line === '' || line.startsWith('  ')) continue;
    const bar = line.indexOf(' | ');
    const f = line.slice(0, bar).split(' ');
    const wCnt = parseInt(f[3], 16);
    const words = [];
    for (let i = 0; i < wCnt; i++) words.push(f[4 + 2 * i].replace(/\(.*\)$/, ''));
    let p = 4 + 2 * wCnt;
    const pCnt = Number(f[p++]);
    const pointers = [];
    for (let i = 0; i < pCnt; i++, p += 4) {
      pointers.push({ symbol: f[p], offset: f[p + 1], pos: f[p + 2], source: parseInt(f[p + 3].slice(0, 2), 16), target: parseInt(f[p + 3].slice(2), 16) });
    }
    const gloss = line.slice(bar + 3).trim();
    const parts = gloss.split(/;\s*/);
    const examples = [];
    let definition = null;
    for (const part of parts) {
      const m = /^"(.*)"$/.exec(part.trim());
      if (m) examples.push(m[1]);
      else if (definition === null) definition = part.trim();
    }
    out.set(f[0], { words, pointers, definition, examples });
  }
  return out;
}

const readable = (w) => w.replace(/_/g, ' ');
const capitalize = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/** A definition made into a clause: parentheticals and stray spaces removed, no final period. */
export function cleanDefinition(def) {
  if (!def) return null;
  let d = def;
  for (let i = 0; i < 3; i++) d = d.replace(/\s*\([^()]*\)/g, '');
  d = d.replace(/\s+/g, ' ').replace(/\s+([,.;:])/g, '$1').replace(/[.;,:\s]+$/, '').trim();
  if (d === '' || /[()"[\]{}<>|=_`]/.test(d)) return null;
  if (d.split(' ').length > 24) return null;
  return d;
}

/** A WordNet example as a sentence, when it is short, uses the word, and reads as prose. */
export function exampleSentence(example, lemma) {
  const e = example.replace(/\s+/g, ' ').trim();
  if (e.length < 12 || e.split(' ').length > 16 || /[()"[\]{}<>|=_`;]|--|\.\.\.|^[A-Z]+ /.test(e)) return null;
  const stem = lemma.length > 4 ? lemma.slice(0, lemma.length - 1) : lemma;
  if (!new RegExp(`\\b${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'i').test(e)) return null;
  const s = capitalize(e);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** "a" or "an" before a word, by its sound where the spelling misleads. */
export function article(word) {
  const w = word.toLowerCase();
  if (/^(hour|honest|honou?r|heir)/.test(w)) return 'an';
  if (/^(uni|use|usu|uti|eu|ewe|one|once|ure)/.test(w)) return 'a';
  return /^[aeiou]/.test(w) ? 'an' : 'a';
}

const DETERMINER = /^(a|an|the|any|one|someone|something|somebody|anything|a person|an individual)\b/;

/**
 * One entry per selected word: its part of speech and, from its first sense, the cleaned
 * definition, the examples that use it, a hypernym, antonyms and synonyms.
 */
export function readWordNet({ dir = WORDNET_DIR, minCount = 5 } = {}) {
  const counts = lemmaCounts(dir);
  const entries = [];
  for (const pos of ['n', 'v', 'a', 'r']) {
    const index = readIndex(dir, pos);
    const data = readData(dir, pos);
    for (const [lemma, offsets] of index) {
      if (!/^[a-z]+$/.test(lemma) || lemma.length < 2) continue;
      const count = counts.get(`${lemma} ${pos}`) ?? 0;
      if (count < minCount) continue;
      const syn = data.get(offsets[0]);
      const definition = cleanDefinition(syn?.definition);
      if (!syn || !definition) continue;
      const self = syn.words.findIndex((w) => w.toLowerCase() === lemma) + 1;
      const lexical = (symbol) => syn.pointers
        .filter((p) => p.symbol === symbol && p.pos === pos && (p.source === 0 || p.source === self))
        .map((p) => data.get(p.offset)?.words[(p.target || 1) - 1])
        .filter((w) => w && /^[a-z]+$/.test(w));
      const hyper = syn.pointers.find((p) => p.symbol === '@' && p.pos === pos);
      entries.push({
        lemma,
        pos,
        count,
        definition,
        examples: syn.examples.map((e) => exampleSentence(e, lemma)).filter(Boolean),
        hypernym: hyper ? readable(data.get(hyper.offset)?.words[0] ?? '') || null : null,
        antonyms: [...new Set(lexical('!'))],
        synonyms: syn.words.filter((w) => w.toLowerCase() !== lemma && /^[a-z]+$/.test(w)),
        countable: pos === 'n' && DETERMINER.test(definition),
      });
    }
  }
  return entries;
}

/** Question/answer pairs about one word (some forms need a countable noun, an antonym, …). */
export function wordQuestions(e) {
  const qa = [];
  const w = e.lemma;
  if (e.pos === 'n') {
    if (!e.countable) return qa; // "What is a water?" would teach bad grammar
    const an = article(w);
    const answer = `${capitalize(an)} ${w} is ${e.definition}.`;
    qa.push([`What is ${an} ${w}?`, answer], [`What does the word "${w}" mean?`, answer]);
    if (e.hypernym && e.hypernym !== w) qa.push([`What kind of thing is ${an} ${w}?`, `${capitalize(an)} ${w} is a kind of ${e.hypernym}.`]);
  } else if (e.pos === 'v') {
    const answer = `To ${w} is to ${e.definition}.`;
    qa.push([`What does it mean to ${w}?`, answer], [`What does the verb "${w}" mean?`, answer]);
  } else {
    const answer = `${capitalize(w)} means ${e.definition}.`;
    qa.push([`What does "${w}" mean?`, answer], [`What does ${w} mean?`, answer]);
  }
  if (e.antonyms.length) qa.push([`What is the opposite of ${w}?`, `The opposite of ${w} is ${e.antonyms[0]}.`]);
  if (e.synonyms.length) qa.push([`What is another word for ${w}?`, `Another word for ${w} is ${e.synonyms[0]}.`]);
  return qa;
}
