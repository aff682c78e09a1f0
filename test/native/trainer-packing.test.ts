// Packed data through tuner-train: shards whose documents hold several records (with their
// record starts) train, the start event says the data is packed and how much of an epoch is
// padding, and every step reports its own batches' padding. Unpacked short records waste most
// of each row; packing them cuts that waste, which the events show.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { ShardDocument } from '../../src/core/engine/shards';
import type { EvalEvent, StartEvent } from '../../src/core/engine/protocol';
import { basePlan, makeShards, makeTinyModel, runTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 64;
const T = 32;

function records(): ShardDocument[] {
  return Array.from({ length: 24 }, (_, i) => {
    const n = 6 + (i % 7);
    return { tokens: Array.from({ length: n }, (_, j) => (3 + i * 5 + j * 7) % VOCAB), mask: Array.from({ length: n }, (_, j) => (j < 3 ? 0 : 1)) };
  });
}

/** Greedy packing as preparation does it: records joined while they fit T + 1 tokens. */
function pack(recs: ShardDocument[]): ShardDocument[] {
  const out: ShardDocument[] = [];
  let cur: { tokens: number[]; mask: number[]; sampleStarts: number[] } | undefined;
  for (const r of recs) {
    if (cur && cur.tokens.length + r.tokens.length > T + 1) {
      out.push(cur);
      cur = undefined;
    }
    if (!cur) cur = { tokens: [], mask: [], sampleStarts: [] };
    else cur.sampleStarts.push(cur.tokens.length);
    cur.tokens.push(...Array.from(r.tokens));
    cur.mask.push(...Array.from(r.mask));
  }
  if (cur) out.push(cur);
  return out;
}

function epochPadding(docs: ShardDocument[]): number {
  const real = docs.reduce((s, d) => s + Math.min(d.tokens.length - 1, T), 0);
  return 1 - real / (docs.length * T);
}

describe('packed data in tuner-train', () => {
  let root: string;
  before(() => {
    root = tempDir('packing');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'plain'), records(), VOCAB);
    makeShards(path.join(root, 'packed'), pack(records()), VOCAB);
  });

  it('reports packing and padding waste in the start and step events', async () => {
    const run = async (data: string) => {
      const plan = basePlan(root, { data_dir: path.join(root, data), output_dir: path.join(root, `out-${data}`), max_steps: 3, batch_size: 2, seq_len: T });
      const exit = await runTrainer({ planPath: writePlan(root, plan, `${data}.json`) });
      assert.equal(exit.code, 0, exit.stderrTail);
      const start = exit.events.find((e): e is StartEvent => e.type === 'start');
      assert.ok(start);
      return { start, steps: steps(exit.events) };
    };
    const plain = await run('plain');
    const packed = await run('packed');
    assert.equal(plain.start.packed, false);
    assert.equal(packed.start.packed, true);
    const want = (docs: ShardDocument[]) => Math.round(epochPadding(docs) * 1e4) / 1e4;
    assert.equal(plain.start.padding, want(records()));
    assert.equal(packed.start.padding, want(pack(records())));
    assert.ok(packed.start.padding! < plain.start.padding! / 2, `packed ${packed.start.padding} vs plain ${plain.start.padding}`);
    for (const s of [...plain.steps, ...packed.steps]) assert.ok(s.padding! >= 0 && s.padding! < 1, `padding ${s.padding}`);
    assert.ok(packed.steps.every((s) => Number.isFinite(s.loss)));
    console.log(`padding waste of an epoch: plain ${plain.start.padding}, packed ${packed.start.padding}`);
  });

  it('scores greedy answers to packed eval records every N-th evaluation (ROUGE-L, BLEU-4), on text when the model has a tokenizer.json', async () => {
    // The same weights with a byte-level tokenizer.json whose 64 tokens are 8 words in 8 spellings
    // of upper and lower case (id i is " " + word i % 8, its letters capitalised by the bits of
    // i / 8): BLEU keeps case, so it scores the same answers on text as on ids; ROUGE-L
    // lowercases, so unequal ids may match and it scores at least as high.
    const withTokenizer = path.join(root, 'model-tokenizer');
    fs.cpSync(path.join(root, 'model'), withTokenizer, { recursive: true });
    const words = ['cat', 'dog', 'sun', 'map', 'pen', 'cup', 'hat', 'box'];
    const spell = (i: number) => [...words[i % 8]].map((c, k) => ((i >> (3 + k)) & 1 ? c.toUpperCase() : c)).join('');
    const vocab = Object.fromEntries(Array.from({ length: VOCAB }, (_, i) => [`\u0120${spell(i)}`, i]));
    assert.equal(Object.keys(vocab).length, VOCAB);
    fs.writeFileSync(path.join(withTokenizer, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab, merges: [] }, added_tokens: [], decoder: { type: 'ByteLevel' } }));
    const run = async (model: string) => {
      const plan = basePlan(root, {
        model_dir: path.join(root, model), data_dir: path.join(root, 'packed'), output_dir: path.join(root, `out-generate-${model}`), max_steps: 4,
        batch_size: 2, seq_len: T, eval_data_dir: path.join(root, 'packed'), eval_interval: 1,
        eval_generate: { every: 2, max_records: 3, max_new_tokens: 8, stop_ids: [] },
      });
      const exit = await runTrainer({ planPath: writePlan(root, plan, `generate-${model}.json`) });
      assert.equal(exit.code, 0, exit.stderrTail);
      return exit.events.filter((e): e is EvalEvent => e.type === 'eval');
    };
    // A tokenizer.json that cannot be read costs the text scores, not the run.
    const broken = path.join(root, 'model-broken-tokenizer');
    fs.cpSync(path.join(root, 'model'), broken, { recursive: true });
    fs.writeFileSync(path.join(broken, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": ');
    const ids = await run('model');
    const text = await run('model-tokenizer');
    const fallback = await run('model-broken-tokenizer');
    assert.deepEqual(fallback.map((e) => [e.metrics_on, e.rouge_l, e.bleu]), ids.map((e) => [e.metrics_on, e.rouge_l, e.bleu]));
    for (const evals of [ids, text]) {
      assert.deepEqual(evals.map((e) => e.step), [1, 2, 3, 4]);
      // The 2nd and 4th evaluations answer the first record of each of the first 3 packed sequences.
      assert.deepEqual(evals.map((e) => e.generated), [undefined, 3, undefined, 3]);
      for (const e of [evals[1], evals[3]]) {
        assert.ok(e.rouge_l! >= 0 && e.rouge_l! <= 1, `rouge_l ${e.rouge_l}`);
        assert.ok(e.bleu! >= 0 && e.bleu! <= 100, `bleu ${e.bleu}`);
      }
    }
    assert.deepEqual(ids.map((e) => e.metrics_on), [undefined, 'token_ids', undefined, 'token_ids']);
    assert.deepEqual(text.map((e) => e.metrics_on), [undefined, 'text', undefined, 'text']);
    for (const i of [1, 3]) {
      assert.ok(text[i].rouge_l! >= ids[i].rouge_l!, `ROUGE-L on text ${text[i].rouge_l} < on ids ${ids[i].rouge_l}`);
      assert.equal(text[i].bleu, ids[i].bleu);
    }
    console.log(`eval answers: ROUGE-L ${ids[3].rouge_l} on ids, ${text[3].rouge_l} on text; BLEU ${ids[3].bleu} on ids, ${text[3].bleu} on text`);
  });
});
