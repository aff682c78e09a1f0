// A model that is not on this machine: the planner asks, lists the local models that would fit
// here (estimated, not just listed) and gives the exact download command for later.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { describedHardware } from '../../../src/core/hardware/types';
import type { DatasetInfo } from '../../../src/core/planner/context';
import { defaultEstimator } from '../../../src/core/planner/engine-estimator';
import { parseGoal } from '../../../src/core/planner/goal';
import { planWithRules } from '../../../src/core/planner/rules';
import { localModel } from './models';

const DATA: DatasetInfo = { ref: './train.jsonl', file: '/w/train.jsonl', format: 'messages', records: 2000, errors: 0, warnings: 0, tokens: { mean: 180, p95: 410, max: 900, sampled: 2000, counter: 'tokenizer' } };

test('a named model that is not here: ask, with the local models that fit and the download command', () => {
  const r = planWithRules({
    intent: parseGoal('tune meta-llama/Llama-3.1-8B-Instruct on my data'),
    hardware: describedHardware({ ramGiB: 16, cores: 4 }),
    models: [localModel('qwen-0.5b'), localModel('llama-70b')],
    dataset: DATA,
    estimator: defaultEstimator,
  });
  assert.equal(r.args, undefined);
  assert.equal(r.questions.length, 1);
  const q = r.questions[0];
  assert.match(q, /I could not find the model "meta-llama\/Llama-3\.1-8B-Instruct" on this machine/);
  assert.match(q, /Local models that fit this machine: \.\/models\/qwen-0\.5b\. Which should I use\?/);
  assert.doesNotMatch(q, /llama-70b/, 'a model that does not fit is not offered');
  assert.match(q, /`huggingface-cli download meta-llama\/Llama-3\.1-8B-Instruct`/);
});
