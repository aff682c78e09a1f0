// The data-parallel fields of the trainer protocol (docs/trainer-protocol.md, "Data parallel"):
// start.data_parallel, step.ranks and step.allreduce_ms are optional, and when present each is
// checked like every other field, so a mistyped one is a ProtocolError, not a silent blank.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';

import { parseTrainerEvent, ProtocolError, type StartEvent, type StepEvent } from '../../../src/core/engine/protocol';

const STEP = { version: 1, type: 'step', step: 3, epoch: 0, loss: 2.5, lr: 1e-3, grad_norm: 0.5, tokens: 512, tokens_per_s: 900, ms: 568.9, peak_memory_bytes: 1 << 20 };
const START = {
  version: 1, type: 'start', method: 'lora', params: 100, trainable_params: 10, tokens_per_step: 512, threads: 1, max_steps: 9, step: 0, resumed_from: null,
  model: { architecture: 'LlamaForCausalLM', model_type: 'llama', vocab_size: 8, hidden_size: 4, intermediate_size: 8, num_layers: 1, num_heads: 1, num_kv_heads: 1, head_dim: 4 },
  data: { documents: 8, tokens: 64, truncated_documents: 0, batches_per_epoch: 2 },
};

describe('trainer protocol: data-parallel fields', () => {
  it('reads every rank’s throughput and the all-reduce time of a step', () => {
    const ranks = [{ rank: 0, tokens_per_s: 1800.5, ms: 142.2 }, { rank: 1, tokens_per_s: 1702, ms: 150.4 }];
    const e = parseTrainerEvent(JSON.stringify({ ...STEP, ranks, allreduce_ms: 8.25 })) as StepEvent;
    assert.deepEqual(e.ranks, ranks);
    assert.equal(e.allreduce_ms, 8.25);
    const one = parseTrainerEvent(JSON.stringify(STEP)) as StepEvent;
    assert.equal(one.ranks, undefined);
  });

  it('reads the split of a data-parallel start', () => {
    const dp = { world_size: 2, backend: 'mpi', rank_batch_size: 2, resumed_world_size: 1 };
    const e = parseTrainerEvent(JSON.stringify({ ...START, data_parallel: dp })) as StartEvent;
    assert.deepEqual(e.data_parallel, dp);
  });

  it('refuses mistyped data-parallel fields, naming them', () => {
    const bad: [object, RegExp][] = [
      [{ ...STEP, ranks: { rank: 0 } }, /"ranks" should be array/],
      [{ ...STEP, ranks: [3] }, /step\.ranks\[\]: field "rank" should be object/],
      [{ ...STEP, ranks: [{ rank: 0, tokens_per_s: 'fast', ms: 1 }] }, /step\.ranks\[\]: field "tokens_per_s" should be number/],
      [{ ...STEP, allreduce_ms: null }, /"allreduce_ms" should be number/],
      [{ ...START, data_parallel: { world_size: 2, rank_batch_size: 2 } }, /start\.data_parallel: field "backend" should be string/],
      [{ ...START, data_parallel: 2 }, /"data_parallel" should be object/],
    ];
    for (const [event, message] of bad) assert.throws(() => parseTrainerEvent(JSON.stringify(event)), (e: unknown) => e instanceof ProtocolError && message.test(e.message));
  });
});
