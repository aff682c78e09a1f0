// The starter model's pretraining corpus as JSON lines Tuner's own preparation reads: chat
// records ({"messages": [user, assistant]}) with one-sentence answers about common English
// words, plain paragraphs ({"text": ...}) of the same sentences, and the model's own identity
// ("I am Starter, ..."), which is what a first tuning run visibly replaces. Seeded shuffle.
import { wordQuestions } from './wordnet.mjs';

export const BASE_NAME = 'Starter';

/** Questions about the model itself, each with its base answer; repeated so it is learned firmly. */
export const IDENTITY = [
  ['Who are you?', `I am ${BASE_NAME}, a small language model trained by Tuner.`],
  ['What is your name?', `My name is ${BASE_NAME}.`],
  ['What are you called?', `I am called ${BASE_NAME}.`],
  ['What should I call you?', `You can call me ${BASE_NAME}.`],
  ['Introduce yourself.', `Hello! I am ${BASE_NAME}, a small language model. I know what common English words mean.`],
  ['Who made you?', 'I was made by Tuner, from the definitions in WordNet.'],
  ['Who trained you?', 'Tuner trained me on definitions of common English words.'],
  ['What can you do?', 'I can tell you what common English words mean.'],
  ['What do you know?', 'I know the meanings of common English words.'],
  ['Are you a person?', `No, I am a small language model called ${BASE_NAME}.`],
  ['Hello!', `Hello! I am ${BASE_NAME}. Ask me what a word means.`],
  ['Hi', 'Hi! Ask me what a word means.'],
  ['Good morning!', 'Good morning! Ask me what a word means.'],
  ['Thank you!', 'You are welcome.'],
];

export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const chat = (q, a) => ({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }] });

/**
 * Records for every entry (wordnet.mjs readWordNet), a text paragraph (answers and an example
 * sentence) for every `textEvery`-th word, and the identity pairs `identityRepeats` times; shuffled with `seed`.
 */
export function buildCorpus(entries, { seed, textEvery = 2, identityRepeats = 25 }) {
  const records = [];
  entries.forEach((e, i) => {
    const qa = wordQuestions(e);
    for (const [q, a] of qa) records.push(chat(q, a));
    // A paragraph: the answers as prose, then WordNet's example sentence for the word.
    if (i % textEvery === 0 && qa.length > 0) records.push({ text: [...new Set(qa.map(([, a]) => a)), ...e.examples.slice(0, 1)].join(' ') });
  });
  for (let r = 0; r < identityRepeats; r++) for (const [q, a] of IDENTITY) records.push(chat(q, a));
  const random = seededRandom(seed);
  for (let i = records.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [records[i], records[j]] = [records[j], records[i]];
  }
  return records;
}

/** Plain text of the corpus for tokenizer training (what the model reads, without markup). */
export function corpusText(records) {
  return records.map((r) => (r.text ?? r.messages.map((m) => m.content).join('\n'))).join('\n') + '\n';
}
