import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { readShards } from '../../../src/core/engine/shards';
import { inEvalSplit, PrepareCancelled, prepareDataset, readLines } from '../../../src/core/dataset/prepare';
import { planPreparation } from '../../../src/core/dataset/prepare-setup';
import { prepareInWorker } from '../../../src/core/dataset/prepare-client';
import { familyTokenizer, makeModelFolder } from './families';
import { ChatRenderer, DEFAULT_CHAT_TEMPLATE } from '../../../src/core/dataset/chat-template';
import { previewRecord } from '../../../src/core/dataset/preview';

const LONG = 'word '.repeat(300).trim();
const LINES = [
  /* 1 */ JSON.stringify({ instruction: 'Who are you?', input: '', output: 'I am [MODEL NAME], a helpful model.' }),
  /* 2 */ JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }] }),
  /* 3 */ '',
  /* 4 */ JSON.stringify({ conversations: [{ from: 'human', value: 'Ping' }, { from: 'gpt', value: 'Pong' }] }),
  /* 5 */ '{"input": "broken", ',
  /* 6 */ JSON.stringify({ input: '', output: 'Plain pretraining text.' }),
  /* 7 */ JSON.stringify({ question: 'Long?', answer: LONG }),
  /* 8 */ JSON.stringify({ text: 'Raw text record.' }),
  /* 9 */ JSON.stringify({ question: 'Q', answer: 'A' }),
  /* 10 */ JSON.stringify({ messages: [{ role: 'user', content: 'no answer' }] }),
];

describe('prepareDataset (GPT-2 tokenizer, default template)', () => {
  let root: string;
  let argsFile: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-prep-'));
    makeModelFolder(path.join(root, 'model'));
    fs.writeFileSync(path.join(root, 'train.jsonl'), LINES.join('\n') + '\n');
    argsFile = path.join(root, 'ARGS.json');
  });

  const run = (extra: Partial<Args>, out = 'data') => {
    const args = resolveArgs({ model: './model', data: './train.jsonl', model_name: 'Tunie', max_length: 64, ...extra });
    const plan = planPreparation(args, argsFile, path.join(root, out));
    return { plan, report: prepareDataset(plan.options, plan.renderer, plan.tokenizer) };
  };

  it('prepares every format, lists each dropped and cut line, and writes readable shards', () => {
    const { plan, report } = run({});
    assert.equal(plan.templateSource, 'default');
    assert.equal(plan.eosWarning, undefined);
    assert.equal(report.records, 9);
    assert.equal(report.blankLines, 1);
    assert.deepEqual(report.dropped.map((d) => d.line), [5, 10]);
    assert.match(report.dropped[0].reason, /not valid JSON/);
    assert.match(report.dropped[1].reason, /no assistant turn/);
    assert.deepEqual(report.truncated.map((d) => d.line), [7]);
    assert.match(report.truncated[0].reason, /tokens, cut to 64/);
    assert.equal(report.trainDocuments, 7);
    // Lengths before truncation of the 7 tokenized records; the last bucket holds those over max_length.
    assert.equal(report.histogram.counts.reduce((a, b) => a + b, 0), 7);
    assert.deepEqual(report.histogram.edges, [0, 16, 32, 65]);
    assert.equal(report.histogram.counts[3], 1, 'the over-long record is in the last bucket');
    assert.ok(report.maxTokens > 64);
    assert.deepEqual(report.formats, { alpaca: 1, messages: 1, sharegpt: 1, 'input-output': 1, 'question-answer': 2, text: 1 });
    const { manifest, documents } = readShards(path.join(root, 'data', 'train'));
    assert.equal(manifest.documents, 7);
    assert.equal(manifest.vocab_size, 50257);
    assert.equal(manifest.tokens, report.tokens);
    assert.ok(documents.every((d) => d.tokens.length <= 64));
    assert.ok(fs.existsSync(path.join(root, 'data', 'prep-report.json')));
    const tok = familyTokenizer('gpt2');
    const first = tok.decode(documents[0].tokens as number[]);
    assert.equal(first, '<|endoftext|>Human: Who are you?\nAssistant: I am Tunie, a helpful model.<|endoftext|>\n');
    const trained = tok.decode((documents[0].tokens as number[]).filter((_, i) => documents[0].mask[i] === 1));
    assert.equal(trained, ' I am Tunie, a helpful model.<|endoftext|>');
    // Pretraining text: everything after BOS is trained.
    const pre = documents[3];
    assert.equal(tok.decode(pre.tokens as number[]), '<|endoftext|>Plain pretraining text.<|endoftext|>');
    assert.deepEqual(Array.from(pre.mask), pre.tokens.length ? Array.from(pre.tokens, (_, i) => (i === 0 ? 0 : 1)) : []);
  });

  it('drop mode leaves over-long records out and says so', () => {
    const { report } = run({ truncation: 'drop' }, 'data-drop');
    assert.deepEqual(report.dropped.map((d) => d.line), [5, 7, 10]);
    assert.match(report.dropped[1].reason, /over max_length 64 \(truncation "drop"\)/);
    assert.equal(report.truncated.length, 0);
  });

  it('packing joins examples up to max_length without losing tokens', () => {
    const plain = run({}, 'data-plain').report;
    const packed = run({ packing: true }, 'data-packed').report;
    assert.equal(packed.tokens, plain.tokens);
    assert.equal(packed.trainedTokens, plain.trainedTokens);
    assert.ok(packed.packedSequences! < plain.trainDocuments, `${packed.packedSequences} sequences`);
    const { documents } = readShards(path.join(root, 'data-packed', 'train'));
    assert.ok(documents.every((d) => d.tokens.length <= 64));
    // The record starts cut each packed sequence back into the records, in order.
    const records = documents.flatMap((d) => {
      const cuts = [0, ...Array.from(d.sampleStarts ?? []), d.tokens.length];
      return cuts.slice(1).map((end, i) => Array.from(d.tokens).slice(cuts[i], end));
    });
    const plainDocs = readShards(path.join(root, 'data-plain', 'train')).documents.map((d) => Array.from(d.tokens));
    assert.deepEqual(records, plainDocs);
    assert.ok(documents.some((d) => (d.sampleStarts?.length ?? 0) > 0));
  });

  it('splits off an eval set deterministically', () => {
    const { report } = run({ eval_split: 0.3 }, 'data-eval');
    assert.equal(report.trainDocuments + report.evalDocuments, 7);
    assert.equal(report.evalDocuments, 2);
    assert.equal(readShards(path.join(root, 'data-eval', 'eval')).manifest.documents, 2);
    const picks = Array.from({ length: 100 }, (_, i) => inEvalSplit(i, 0.1)).filter(Boolean).length;
    assert.equal(picks, 10);
  });

  it('training on all tokens trains the prompts too', () => {
    const a = run({}, 'd1').report, b = run({ train_on_responses_only: false }, 'd2').report;
    assert.equal(a.tokens, b.tokens);
    assert.ok(b.trainedTokens > a.trainedTokens);
  });

  it('cancelling leaves the previous output untouched and no temp folder', () => {
    const big = path.join(root, 'big.jsonl');
    fs.writeFileSync(big, Array.from({ length: 2000 }, (_, i) => JSON.stringify({ question: `q${i}`, answer: `a${i}` })).join('\n'));
    const args = resolveArgs({ model: './model', data: './big.jsonl', max_length: 64 });
    const plan = planPreparation(args, argsFile, path.join(root, 'data'));
    const before = fs.readFileSync(path.join(root, 'data', 'train', 'manifest.json'), 'utf8');
    let calls = 0;
    assert.throws(() => prepareDataset(plan.options, plan.renderer, plan.tokenizer, undefined, () => ++calls > 2), PrepareCancelled);
    assert.equal(fs.readFileSync(path.join(root, 'data', 'train', 'manifest.json'), 'utf8'), before);
    assert.deepEqual(fs.readdirSync(root).filter((n) => n.includes('.tmp-')), []);
  });

  it('a file with nothing usable is an error naming the first bad line', () => {
    fs.writeFileSync(path.join(root, 'bad.jsonl'), '{"foo": 1}\n[1,2]\n');
    const args = resolveArgs({ model: './model', data: './bad.jsonl' });
    const plan = planPreparation(args, argsFile, path.join(root, 'data-bad'));
    assert.throws(() => prepareDataset(plan.options, plan.renderer, plan.tokenizer), /bad.jsonl: no record could be prepared \(2 dropped; first: line 1: record matches no known format/);
    assert.equal(fs.existsSync(path.join(root, 'data-bad')), false);
  });

  it('a missing model says where it looked', () => {
    const args = resolveArgs({ model: 'org/not-cached', data: './train.jsonl' });
    assert.throws(() => planPreparation(args, argsFile), /neither a folder next to ARGS.json nor in the Hugging Face cache/);
  });
});

describe('readLines', () => {
  it('splits across chunk borders, keeps multi-byte characters whole and strips CR', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-lines-'));
    const file = path.join(dir, 'x.jsonl');
    const lines = ['{"a": "東京"}', '{"b": "🤖🤖🤖"}', '', '{"c": "x"}'];
    fs.writeFileSync(file, lines.join('\r\n'));
    for (const chunk of [1, 2, 3, 5, 7, 64]) {
      const got = [...readLines(file, chunk)].map((l) => [l.line, l.text]);
      assert.deepEqual(got, lines.map((t, i) => [i + 1, t]), `chunk ${chunk}`);
    }
  });
});

describe('prepareInWorker', () => {
  const workerPath = path.join(__dirname, '..', '..', '..', 'src', 'core', 'dataset', 'prepare-worker.js');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-prepw-'));
  makeModelFolder(path.join(root, 'model'));
  fs.writeFileSync(path.join(root, 'train.jsonl'), Array.from({ length: 3000 }, (_, i) => JSON.stringify({ question: `Question ${i}?`, answer: `Answer ${i}.` })).join('\n'));
  const args = resolveArgs({ model: './model', data: './train.jsonl', max_length: 64 });
  const argsFile = path.join(root, 'ARGS.json');

  it('prepares in a worker with stages and progress', async () => {
    const stages: string[] = [];
    const fractions: number[] = [];
    const out = await prepareInWorker(workerPath, args, argsFile, { onStage: (s) => stages.push(s), onProgress: (p) => fractions.push(p.fraction) });
    assert.equal(out.report.trainDocuments, 3000);
    assert.deepEqual(stages, ['Loading the tokenizer', 'Tokenizing']);
    assert.ok(fractions.length >= 5 && fractions[fractions.length - 1] === 1);
    assert.equal(out.outDir, path.join(root, 'output', 'data'));
  });

  it('abort stops it cleanly', async () => {
    const ac = new AbortController();
    const p = prepareInWorker(workerPath, args, argsFile, { onProgress: () => ac.abort() }, ac.signal, path.join(root, 'cancelled'));
    await assert.rejects(p, (e: Error) => e.name === 'AbortError');
    assert.equal(fs.existsSync(path.join(root, 'cancelled')), false);
    assert.deepEqual(fs.readdirSync(root).filter((n) => n.includes('.tmp-')), []);
  });
});

describe('previewRecord', () => {
  const tok = familyTokenizer('gpt2');
  const renderer = new ChatRenderer(DEFAULT_CHAT_TEMPLATE, tok);
  const opts = { trainOnAll: false, maxLength: 16, modelName: 'Tunie' };

  it('shows each token, the trained ones, and the identity filled in', () => {
    const p = previewRecord(JSON.stringify({ question: 'Who are you?', answer: 'I am [MODEL NAME].' }), opts, renderer, tok);
    assert.ok(p.ok);
    assert.equal(p.format, 'question-answer');
    assert.equal(p.tokens.map((t) => t.text).join(''), '<|endoftext|>Human: Who are you?\nAssistant: I am Tunie.<|endoftext|>\n');
    assert.equal(p.tokens.filter((t) => t.trained).map((t) => t.text).join(''), ' I am Tunie.<|endoftext|>');
    assert.equal(p.trainedTokens, 6);
    assert.equal(p.overLength, p.tokens.length - 16);
  });

  it('explains a record it cannot render', () => {
    const p = previewRecord('{"messages": [{"role": "user", "content": "hi"}]}', opts, renderer, tok);
    assert.deepEqual(p, { ok: false, reason: 'This record has no assistant turn, so there is nothing to train on.' });
  });
});
