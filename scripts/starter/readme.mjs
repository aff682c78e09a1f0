// models/starter/README.md, written by the build from what the run measured: source and
// licence, tokenizer, shape, the loss curve (train loss averaged between evaluations, and the
// held-out loss), the time, and the model's greedy answers to a few questions.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SAMPLE_QUESTIONS = ['Who are you?', 'What is a dog?', 'What does it mean to eat?', 'What is the opposite of hot?', 'What is another word for big?', 'What is a house?'];

/** The model's greedy answer (tuner-generate; the prompt is the model's own chat template). */
export async function greedyAnswer(root, modelDir, question, maxNew = 48) {
  const { loadTokenizer } = await import(path.join(root, 'out', 'src', 'core', 'model', 'tokenizer.js'));
  const { findTrainerBinary } = await import(path.join(root, 'out', 'src', 'core', 'engine', 'trainer-client.js'));
  const tok = loadTokenizer(modelDir);
  const ids = tok.encode(`<|im_start|>user\n${question}<|im_end|>\n<|im_start|>assistant\n`);
  const generate = path.join(path.dirname(findTrainerBinary()), 'tuner-generate');
  const stop = [tok.tokenToId('<|im_end|>'), tok.tokenToId('<|endoftext|>')].join(',');
  const out = JSON.parse(execFileSync(generate, [modelDir, '--ids', ids.join(','), '--greedy', '--max-new', String(maxNew), '--stop', stop, '--threads', '1'], { encoding: 'utf8' }));
  const gen = out.ids.filter((id) => !stop.split(',').includes(String(id))); // generated ids only
  return tok.decode(gen).trim();
}

function lossTable(events, evalInterval) {
  const steps = events.filter((e) => e.type === 'step');
  const evals = new Map(events.filter((e) => e.type === 'eval').map((e) => [e.step, e.loss]));
  const rows = ['| step | train loss (mean since previous row) | held-out loss | elapsed |', '|---:|---:|---:|---:|'];
  let from = 0;
  let ms = 0;
  const marks = [...new Set([1, ...[...evals.keys()], steps.length ? steps[steps.length - 1].step : 0])].sort((a, b) => a - b);
  const every = Math.max(evalInterval, Math.ceil(marks.length / 16) * evalInterval);
  for (const mark of marks) {
    const window = steps.filter((s) => s.step > from && s.step <= mark);
    if (window.length === 0) continue;
    ms += window.reduce((t, s) => t + s.ms, 0);
    from = mark;
    if (mark !== 1 && mark % every !== 0 && mark !== marks[marks.length - 1]) continue;
    const mean = window.reduce((t, s) => t + s.loss, 0) / window.length;
    rows.push(`| ${mark} | ${mean.toFixed(3)} | ${evals.has(mark) ? evals.get(mark).toFixed(3) : ''} | ${(ms / 60000).toFixed(1)} min |`);
  }
  return rows.join('\n');
}

/** The WordNet 3.0 licence as Debian's copyright file states it (its "License: WordNet3.0" text). */
export function wordnetLicence(file = '/usr/share/doc/wordnet-base/copyright') {
  const text = fs.readFileSync(file, 'utf8');
  const m = /^License: WordNet3\.0\n((?: .*\n)+)/m.exec(text);
  if (!m) throw new Error(`${file}: no "License: WordNet3.0" paragraph`);
  const body = m[1].split('\n').map((l) => (l.trim() === '.' ? '' : l.replace(/^ /, ''))).join('\n');
  return `WordNet 3.0 licence (from ${file})\n\n${body.trimEnd()}\n`;
}

export async function writeStarterReadme(r) {
  const shape = r.recipe.shape;
  const bytes = fs.statSync(path.join(r.out, 'model.safetensors')).size;
  const steps = r.events.filter((e) => e.type === 'step');
  const tokensPerS = steps.reduce((t, s) => t + s.tokens_per_s, 0) / Math.max(1, steps.length);
  const answers = [];
  for (const q of SAMPLE_QUESTIONS) answers.push(`| ${q} | ${(await greedyAnswer(r.root, r.out, q)).replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
  const text = `# Starter model

A small Llama-architecture chat model that Tuner ships so that \`npm start\` has something to
tune on any machine, offline. It was pretrained from scratch by Tuner's own trainer
(\`tuner-train\`, method \`full\`) on short answers about common English words. It answers in
their shape ("What is a house?" → "A house is a dwelling that serves as living quarters for one
or more families."), though for most words the facts it writes are made up: ${(r.params / 1e6).toFixed(1)}M parameters
remember little. What it knows firmly is who it is: ask "Who are you?" and it says it is
Starter. About a minute of LoRA on [samples/](../../samples) (\`npm start\`) changes that visibly.

Rebuild it with \`node scripts/build-starter-model.mjs\` (after \`npm run build\`); every step is
seeded, so the same machine and thread count give the same weights.

## Data and licence

- **Source**: [WordNet 3.0](https://wordnet.princeton.edu/) as Debian's \`wordnet-base\`
  package installs it (\`/usr/share/wordnet\`), © 2006 Princeton University, under the
  **WordNet 3.0 licence** (permissive: use, copy, modify and distribute for any purpose
  without fee, keeping the copyright notice; text in [LICENSE-WordNet](LICENSE-WordNet)).
  The model is a derived work and carries the same notice.
- **Selection**: words of ${r.recipe.minCount} or more tagged occurrences in WordNet's SemCor
  counts (\`cntlist.rev\`), each with its most frequent sense: ${r.entries} words.
- **Shape of the text** (scripts/starter/wordnet.mjs, corpus.mjs): chat questions with
  one-sentence answers built from the glosses ("What is a dog?" → "A dog is a member of the
  genus Canis that has been domesticated by man since prehistoric times."), hypernyms ("a kind
  of canine"), antonyms and synonyms; a plain paragraph (those answers and WordNet's example
  sentence) for every second word; and ${'the model\'s identity'} ("I am Starter, a small language model trained by
  Tuner."). ${r.records} records; ${r.report.tokens} tokens after the chat template,
  ${r.report.evalDocuments} records held out for the held-out loss.

## Tokenizer

Byte-level BPE (GPT-2's scheme: any UTF-8 text encodes), **trained on this corpus** with Hugging
Face's \`tokenizers\` library (npm \`tokenizers\`, Apache-2.0), keeping the first
${r.tokenizer.merges} merges: ${r.tokenizer.vocabSize} tokens = 3 special tokens
(\`<|endoftext|>\` 0, \`<|im_start|>\` 1, \`<|im_end|>\` 2) + 256 bytes + merges. The chat
template is ChatML (in tokenizer_config.json); answers end with \`<|im_end|>\`, plain text with
\`<|endoftext|>\`; generation_config.json stops at either.

## Model

| | |
|---|---|
| architecture | LlamaForCausalLM (RMSNorm, RoPE, SwiGLU, grouped-query attention, tied embeddings) |
| hidden size / layers / heads / kv heads / head dim | ${shape.hidden} / ${shape.layers} / ${shape.heads} / ${shape.kvHeads} / ${shape.hidden / shape.heads} |
| MLP size | ${shape.intermediate} |
| vocabulary / max positions | ${r.tokenizer.vocabSize} / ${shape.maxPositions} (trained on ${r.recipe.train.max_length}-token packed sequences) |
| parameters | ${r.params.toLocaleString('en-US')} |
| weights | model.safetensors, float16, ${(bytes / 1e6).toFixed(2)} MB |

## Pretraining

ARGS: \`${JSON.stringify({ ...r.args, model: undefined, data: undefined })}\`
(AdamW, cosine schedule, full sequences packed, loss on every token).

Trained on ${r.args.threads} threads of a shared 2-vCPU x86-64 machine in
**${(r.trainSeconds / 60).toFixed(1)} minutes** (${Math.round(tokensPerS)} tokens/s on average;
the whole build, data and tokenizer included, ${(r.totalSeconds / 60).toFixed(1)} minutes).

${lossTable(r.events, r.recipe.train.eval_interval)}

## What it says (greedy decoding)

| question | answer |
|---|---|
${answers.join('\n')}
`;
  fs.writeFileSync(path.join(r.out, 'README.md'), text);
  fs.writeFileSync(path.join(r.out, 'LICENSE-WordNet'), wordnetLicence());
}
