// Preparation for stage "dpo": preference records become pairs of documents (layout
// "preference-pairs") rendered with the chat template, each trained on its final answer only;
// a record that is not a pair stops preparation naming the file, line and field.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { readShards } from '../../../src/core/engine/shards';
import { prepareDataset } from '../../../src/core/dataset/prepare';
import { planPreparation } from '../../../src/core/dataset/prepare-setup';
import { keepLastAnswer } from '../../../src/core/dataset/prepare-pairs';
import { familyTokenizer, makeModelFolder } from './families';

const PAIRS = [
  /* 1 */ JSON.stringify({ prompt: 'Say hi', chosen: 'Hello!', rejected: 'Go away.' }),
  /* 2 */ JSON.stringify({
    system: 'Be kind.',
    prompt: [{ role: 'user', content: 'Name?' }, { role: 'assistant', content: 'Tunie.' }, { role: 'user', content: 'Again?' }],
    chosen: [{ role: 'assistant', content: 'I am [MODEL NAME].' }],
    rejected: 'No.',
  }),
  /* 3 */ JSON.stringify({ prompt: 'Long?', chosen: 'word '.repeat(200).trim(), rejected: 'Short.' }),
];

describe('prepareDataset, stage dpo (GPT-2 tokenizer, default template)', () => {
  let root: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-prep-pairs-'));
    makeModelFolder(path.join(root, 'model'));
  });

  const run = (lines: string[], extra: Partial<Args>, out: string) => {
    fs.writeFileSync(path.join(root, `${out}.jsonl`), lines.join('\n') + '\n');
    const args = resolveArgs({ model: './model', data: `./${out}.jsonl`, model_name: 'Tunie', max_length: 64, stage: 'dpo', ...extra });
    const plan = planPreparation(args, path.join(root, 'ARGS.json'), path.join(root, out));
    return prepareDataset(plan.options, plan.renderer, plan.tokenizer);
  };

  it('writes each pair as prompt + chosen and prompt + rejected, trained on the final answer only', () => {
    const report = run(PAIRS, {}, 'pairs');
    assert.equal(report.trainDocuments, 3);
    assert.deepEqual(report.formats, { preference: 3 });
    assert.deepEqual(report.truncated.map((n) => n.line), [3]);
    const { manifest, documents } = readShards(path.join(root, 'pairs', 'train'));
    assert.equal(manifest.layout, 'preference-pairs');
    assert.equal(manifest.documents, 6);
    const tok = familyTokenizer('gpt2');
    const text = (i: number) => tok.decode(Array.from(documents[i].tokens));
    const trained = (i: number) => tok.decode(Array.from(documents[i].tokens).filter((_, j) => documents[i].mask[j] === 1));
    assert.equal(text(0), '<|endoftext|>Human: Say hi\nAssistant: Hello!<|endoftext|>\n');
    assert.equal(text(1), '<|endoftext|>Human: Say hi\nAssistant: Go away.<|endoftext|>\n');
    assert.equal(trained(0), ' Hello!<|endoftext|>');
    assert.equal(trained(1), ' Go away.<|endoftext|>');
    // A conversation prompt: its earlier answer is context; placeholders are filled in.
    assert.equal(trained(2), ' I am Tunie.<|endoftext|>');
    assert.equal(trained(3), ' No.<|endoftext|>');
    assert.ok(text(2).startsWith('<|endoftext|>Be kind.\n\nHuman: Name?\nAssistant: Tunie.<|endoftext|>\nHuman: Again?\nAssistant:'));
    // Both sequences of a pair share the prompt's tokens.
    const prefix = Array.from(documents[2].tokens).findIndex((t, j) => documents[2].mask[j] === 1);
    assert.deepEqual(Array.from(documents[3].tokens).slice(0, prefix), Array.from(documents[2].tokens).slice(0, prefix));
    // The long chosen answer is cut to max_length, the pair kept.
    assert.equal(documents[4].tokens.length, 64);
  });

  it('drop leaves out a pair with an over-long side; an eval split keeps pairs whole', () => {
    const dropped = run(PAIRS, { truncation: 'drop' }, 'pairs-drop');
    assert.deepEqual(dropped.dropped.map((n) => n.line), [3]);
    assert.match(dropped.dropped[0].reason, /over max_length 64/);
    const split = run([...PAIRS, ...PAIRS], { eval_split: 0.34 }, 'pairs-eval');
    assert.equal(split.evalDocuments, 2);
    assert.equal(readShards(path.join(root, 'pairs-eval', 'eval')).manifest.documents, 4);
    assert.equal(readShards(path.join(root, 'pairs-eval', 'train')).manifest.documents, 8);
  });

  it('a record lacking "rejected" stops preparation naming file, line and field', () => {
    const lines = [PAIRS[0], JSON.stringify({ prompt: 'Hi', chosen: 'Hello' })];
    assert.throws(() => run(lines, {}, 'missing'), (e: Error) => {
      assert.match(e.message, /missing\.jsonl:2: field "rejected" is missing: stage "dpo" trains on preference pairs/);
      return true;
    });
    assert.throws(() => run([JSON.stringify({ prompt: 'Hi', chosen: 'Hello', rejected: 7 })], {}, 'typed'), /typed\.jsonl:1: field "rejected" must be a string/);
    assert.ok(!fs.existsSync(path.join(root, 'missing')), 'nothing is written');
  });

  it('refuses packing', () => {
    assert.throws(() => run(PAIRS, { packing: true }, 'packed'), /"packing".*stage "dpo"/);
  });

  it('keepLastAnswer keeps only the last trained run of segments', () => {
    const s = keepLastAnswer([
      { text: 'a', trained: false }, { text: 'b', trained: true }, { text: 'c', trained: false }, { text: 'd', trained: true }, { text: 'e', trained: false },
    ]);
    assert.deepEqual(s.map((x) => x.trained), [false, false, false, true, false]);
  });
});
