// Trainer events for the run tests, shaped as tuner-train writes them.
import type { StartEvent, StepEvent } from '../../../src/core/engine/protocol';

export const start = (step = 0): StartEvent => ({
  version: 1, type: 'start', method: 'lora', params: 1000, trainable_params: 10, tokens_per_step: 64, threads: 1, max_steps: 10, step, resumed_from: step ? '/ckpt' : null,
  model: { architecture: 'LlamaForCausalLM', model_type: 'llama', vocab_size: 41, hidden_size: 32, intermediate_size: 48, num_layers: 2, num_heads: 4, num_kv_heads: 2, head_dim: 8 },
  data: { documents: 4, tokens: 100, truncated_documents: 0, batches_per_epoch: 2 },
});
export const stepEv = (step: number, loss: number, ms = 100): StepEvent => ({ version: 1, type: 'step', step, epoch: 0, loss, lr: 0.01, grad_norm: 1, tokens: 64, tokens_per_s: 640, ms, peak_memory_bytes: 1 << 20 });
