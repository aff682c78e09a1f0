// Long context: "32k context" is understood; max_length comes from the data's lengths up to what
// the model was trained for (no silent 4096 ceiling), and whenever it is shorter than some
// records the plan says how many it cuts; the GPU estimate counts attention as the engine that
// runs the plan holds it (flash-style: no T×T score matrix), so long-context plans that fit are
// not refused. (LLaMA-Factory's cutoff_len and torchtune's max_seq_len are set from the data the
// same way; Llama-3.1-8B's published context is 131,072 tokens.)
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveArgs } from '../../../src/core/args/fields';
import { describedHardware } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { lengthHistogram, truncation } from '../../../src/core/planner/lengths';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

/** 1,000 sampled lengths: 900 around 2k tokens, 100 long ones up to 40k (p95 30k). */
function longData(records: number): DatasetInfo {
  const lengths: number[] = [];
  for (let i = 0; i < 900; i++) lengths.push(1500 + i);
  for (let i = 0; i < 100; i++) lengths.push(20000 + i * 200);
  lengths.sort((a, b) => a - b);
  return { ref: './legal.jsonl', file: '/w/legal.jsonl', format: 'messages', records, errors: 0, warnings: 0, tokens: { mean: 3900, p95: lengths[950], max: lengths[999], sampled: 1000, counter: 'tokenizer', histogram: lengthHistogram(lengths) } };
}

const H100 = describedHardware({ gpus: 1, gpuMemoryGiB: 80, gpuName: 'H100 80GB', ramGiB: 256 });

test('"32k context" and its spellings are understood, k being 1,024 tokens', () => {
  assert.equal(parseGoal('train with 32k context').maxLength, 32768);
  assert.equal(parseGoal('8K tokens per example').maxLength, 8192);
  assert.equal(parseGoal('a context length of 16k').maxLength, 16384);
  assert.equal(parseGoal('max_length 2048').maxLength, 2048);
});

test('the histogram counts what a max_length cuts', () => {
  const d = longData(5000);
  assert.deepEqual(truncation(d, 65536), { records: 0, share: 0, counted: true });
  const at2k = truncation(d, 2048);
  assert.equal(at2k.counted, true);
  assert.equal(at2k.share, 0.451, '549 of the 1,000 sampled are at most 2048 tokens');
  assert.equal(at2k.records, 2255);
});

test('max_length follows the data past 4096 up to the model\'s context, and the reason says what is cut', () => {
  const r = planWithRules({ intent: parseGoal('tune llama on my long documents'), hardware: H100, model: localModel('llama-3.1-8b'), models: [], dataset: longData(5000), estimator: defaultEstimator });
  assert.ok(r.args && r.estimate);
  assert.equal(r.args.max_length, 32768, 'p95 of about 28k tokens: 32k');
  assert.ok(r.estimate.fits, 'fits on one 80 GB GPU with flash-style attention');
  assert.match(r.reasons.max_length ?? '', /^\d+ records \(\d+%\) are longer and cut at 32768 tokens \(p95 30000 tokens, longest 39800\)$/);
});

test('a max_length that memory forces down cuts records, and the plan says how many', () => {
  const r = planWithRules({ intent: parseGoal('tune llama on my long documents'), hardware: describedHardware({ gpus: 1, gpuMemoryGiB: 24, gpuName: 'RTX 4090', ramGiB: 64 }), model: localModel('llama-3.1-8b'), models: [], dataset: longData(5000), estimator: defaultEstimator });
  assert.ok(r.args && (r.args.max_length ?? 0) < 32768, `max_length ${r.args?.max_length}`);
  assert.match(r.reasons.max_length ?? '', /max_length cut from 32768 to \d+ to fit; \d+ records \(\d+%\) are longer and cut at \d+ tokens/);
  assert.match(r.warnings.join('\n'), /max_length \d+ cuts \d+ of 5000 records \(\d+%\) short/);
});

test('the GPU estimate holds no T×T scores: 32k tokens of Llama-3.1-8B LoRA fit one 80 GB GPU', () => {
  const args = resolveArgs({ model: './m', data: './d.jsonl', method: 'lora', device: 'cuda', precision: 'bf16', max_length: 32768, batch_size: 1, gradient_checkpointing: true });
  const e = defaultEstimator(args, { model: localModel('llama-3.1-8b').spec, hardware: H100 });
  assert.ok(e.fits, `${(e.memoryBytes / 2 ** 30).toFixed(1)} GiB of ${(e.budgetBytes / 2 ** 30).toFixed(1)}`);
  // Twice the length is about twice the activations, not four times.
  const e2 = defaultEstimator({ ...args, max_length: 65536 }, { model: localModel('llama-3.1-8b').spec, hardware: H100 });
  assert.ok(e2.breakdown.activations < 2.2 * e.breakdown.activations);
});

test('short data keeps a short max_length and cuts nothing', () => {
  const d: DatasetInfo = { ref: './t.jsonl', file: '/w/t.jsonl', format: 'messages', records: 2000, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: 2000, counter: 'tokenizer', histogram: lengthHistogram(Array.from({ length: 2000 }, (_, i) => 100 + Math.floor((i * 800) / 2000)).sort((a, b) => a - b)) } };
  const r = planWithRules({ intent: parseGoal('tune it'), hardware: H100, model: localModel('qwen2.5-1.5b'), models: [], dataset: d, estimator: defaultEstimator });
  assert.equal(r.args?.max_length, 512);
  assert.match(r.reasons.max_length ?? '', /cut at 512 tokens|no record is cut/);
});
