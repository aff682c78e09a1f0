// ARGS.json device -> the run plan: auto is tuner-train's default (left out), cpu and cuda are
// passed on for the trainer to decide (it refuses cuda it cannot use, test/native/trainer-device),
// and what the extension refuses at ARGS.json's device line before preparing the data.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { localTrainerRefuses } from '../../../src/core/args/engine-support';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { argsToRunPlan } from '../../../src/core/args/run-plan';
import { parseModelSpec } from '../../../src/core/model/spec';

const paths = { modelDir: '/m', trainDataDir: '/d', outputDir: '/o' };
const base: Args = { model: 'm', data: 'd' };
const llamaSpec = () => parseModelSpec({ architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 1000, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4 });

describe('run plan: device', () => {
  it('auto is the trainer default and left out; cpu and cuda reach tuner-train', () => {
    assert.equal(argsToRunPlan(resolveArgs({ ...base }), paths).device, undefined);
    assert.equal(argsToRunPlan(resolveArgs({ ...base, device: 'auto' }), paths).device, undefined);
    assert.equal(argsToRunPlan(resolveArgs({ ...base, device: 'cpu' }), paths).device, 'cpu');
    assert.equal(argsToRunPlan(resolveArgs({ ...base, device: 'cuda', precision: 'bf16' }), paths).device, 'cuda');
  });

  it('the local trainer refuses device cuda only for a run its GPU path does not train, and says how to get there', () => {
    const llama = llamaSpec();
    assert.equal(localTrainerRefuses(resolveArgs({ ...base, device: 'cpu', method: 'lomo' }), llama), undefined);
    assert.equal(localTrainerRefuses(resolveArgs({ ...base, device: 'auto', method: 'lomo' }), llama), undefined);
    assert.equal(localTrainerRefuses(resolveArgs({ ...base, device: 'cuda' }), llama), undefined);
    assert.equal(localTrainerRefuses(resolveArgs({ ...base, device: 'cuda', method: 'lomo' }), undefined), undefined);
    assert.match(localTrainerRefuses(resolveArgs({ ...base, device: 'cuda', method: 'lomo' }), llama) ?? '', /GPU path cannot train this run: method lomo.*"device" to "auto" \(the CPU trains it\) or "cpu"/);
    assert.match(localTrainerRefuses(resolveArgs({ ...base, device: 'cuda', stage: 'dpo' }), llama) ?? '', /stage dpo trains on the CPU only/);
  });
});
