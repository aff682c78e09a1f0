// The inference protocol: every request and event survives format -> parse unchanged, and
// anything else (unknown type or field, another version, a missing or mistyped field, a bad
// value deep inside) is an InferProtocolError naming what is wrong, never a silent default.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  formatInferEvent,
  formatInferRequest,
  INFER_PROTOCOL_VERSION,
  InferProtocolError,
  parseInferEvent,
  parseInferRequest,
  type InferEventBody,
  type InferRequestBody,
} from '../../../src/core/engine/infer-protocol';

const REQUESTS: InferRequestBody[] = [
  { type: 'load', id: 'l1', model: '/models/SmolLM2-135M' },
  { type: 'load', id: 'l2', model: 'm', adapter: 'runs/r1/adapter', quant: 'q4_0', context_length: 2048, threads: 2, chat_template: null },
  { type: 'load', id: 'l3', model: 'm', chat_template: '{{ messages[0].content }}' },
  { type: 'load', id: 'l4', model: 'm', device: 'cuda' },
  { type: 'generate', id: 'g1', prompt: { type: 'text', text: 'Once upon a time' }, max_new_tokens: 32 },
  {
    type: 'generate',
    id: 'g2',
    prompt: { type: 'chat', messages: [{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'Hi 👋' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: '你好' }] },
    max_new_tokens: 0,
    stop: ['\nUser:', '###'],
    sampling: { temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, repetition_penalty: 1.1, no_repeat_ngram_size: 2, seed: 42 },
  },
  { type: 'generate', id: 'g3', prompt: { type: 'text', text: '', add_bos: true }, max_new_tokens: 1, sampling: {} },
  { type: 'cancel', id: 'g1' },
  { type: 'unload', id: 'u1' },
  { type: 'shutdown' },
];

const TIMINGS = {
  prompt_tokens: 12,
  cached_tokens: 4,
  prompt_ms: 3.5,
  prompt_tokens_per_s: 2285.7,
  time_to_first_token_ms: 4.25,
  generated_tokens: 9,
  decode_ms: 20,
  tokens_per_s: 400,
  total_ms: 24.5,
};

const EVENTS: InferEventBody[] = [
  { type: 'ready', pid: 1234, engine_version: '0.1.0', inference: true },
  { type: 'ready', pid: 1, engine_version: null, inference: false },
  {
    type: 'loaded',
    id: 'l1',
    model: { dir: '/m', adapter: null, architecture: 'LlamaForCausalLM', vocab_size: 49152, context_length: 2048, quant: 'q8_0', kernel: 'q8_0 avx2 (int8 dot)', lora: false, device: 'cuda', device_reason: 'a CUDA device was found', chat_template: 'model', stop_token_ids: [0, 2] },
    load_ms: 812.5,
    weight_bytes: 144_000_000,
    kv_cache_bytes: 90_000_000,
    resident_bytes: 300_000_000,
  },
  { type: 'prefill', id: 'g1', done: 64, total: 300 },
  { type: 'token', id: 'g1', index: 0, token: 314, text: ' Hello' },
  { type: 'token', id: 'g1', index: 1, token: 9, text: '' },
  { type: 'done', id: 'g1', reason: 'eos', text: ' Hello', stop: '<|im_end|>', timings: TIMINGS },
  { type: 'done', id: 'g2', reason: 'cancelled', text: '', stop: null, timings: { ...TIMINGS, time_to_first_token_ms: null, tokens_per_s: null, prompt_tokens_per_s: null, cancel_ms: 1.5 } },
  { type: 'memory', id: 'g1', resident_bytes: 3e8, peak_resident_bytes: 4e8, weight_bytes: 1e8, kv_cache_bytes: 0 },
  { type: 'memory', id: null, resident_bytes: 1, peak_resident_bytes: 1, weight_bytes: 0, kv_cache_bytes: 0 },
  { type: 'unloaded', id: 'u1' },
  { type: 'error', id: 'l1', code: 'truncated_file', message: 'model.safetensors: ends at byte 100 of 4000', hint: 'Download the file again.' },
  { type: 'error', id: null, code: 'worker_exited', message: 'the inference worker ended (signal SIGKILL)', hint: 'Load the model again.' },
];

function throwsProtocol(fn: () => unknown, pattern: RegExp, code = 'bad_request'): InferProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InferProtocolError, `expected an InferProtocolError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  assert.equal(caught.code, code);
  return caught;
}

describe('inference protocol round trips', () => {
  for (const body of REQUESTS) {
    it(`request ${body.type} ${'id' in body ? body.id : ''}`, () => {
      const line = formatInferRequest(body);
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line');
      assert.deepEqual(parseInferRequest(line), { version: INFER_PROTOCOL_VERSION, ...body });
    });
  }
  for (const body of EVENTS) {
    it(`event ${body.type}`, () => {
      const line = formatInferEvent(body);
      assert.deepEqual(parseInferEvent(line), { version: INFER_PROTOCOL_VERSION, ...body });
    });
  }
});

describe('inference protocol rejects', () => {
  const gen = (patch: Record<string, unknown>) => JSON.stringify({ version: 1, type: 'generate', id: 'g9', prompt: { type: 'text', text: 'x' }, max_new_tokens: 4, ...patch });

  it('a line that is not JSON, or not an object', () => {
    throwsProtocol(() => parseInferRequest('load model'), /not JSON/);
    throwsProtocol(() => parseInferRequest('[1,2]'), /not a JSON object/);
    throwsProtocol(() => parseInferEvent('"done"'), /not a JSON object/);
  });

  it('another protocol version, naming the request id', () => {
    const e = throwsProtocol(() => parseInferRequest(gen({ version: 2 })), /version 2.*speaks 1/, 'version_mismatch');
    assert.equal(e.id, 'g9');
    throwsProtocol(() => parseInferEvent('{"type":"ready","pid":1,"engine_version":null,"inference":true}'), /version undefined/, 'version_mismatch');
  });

  it('an unknown request or event type', () => {
    throwsProtocol(() => parseInferRequest('{"version":1,"type":"pause","id":"x"}'), /unknown request type "pause".*load, generate, cancel, unload, shutdown/);
    throwsProtocol(() => parseInferEvent('{"version":1,"type":"tokens","id":"g1"}'), /unknown event type "tokens"/);
    throwsProtocol(() => parseInferRequest('{"version":1}'), /unknown request type undefined/);
  });

  it('an unknown field, at the top or nested (a typo must not become a default)', () => {
    throwsProtocol(() => parseInferRequest(gen({ max_tokens: 4 })), /unknown field "max_tokens"/);
    throwsProtocol(() => parseInferRequest(gen({ sampling: { temprature: 0.7 } })), /sampling: unknown field "temprature"/);
    throwsProtocol(() => parseInferRequest(gen({ prompt: { type: 'text', text: 'x', version: 1 } })), /prompt: unknown field "version"/);
    throwsProtocol(() => parseInferEvent(formatInferEvent(EVENTS[4]).replace('"text"', '"extra":1,"text"')), /unknown field "extra"/);
  });

  it('a missing or mistyped field', () => {
    throwsProtocol(() => parseInferRequest(gen({ max_new_tokens: undefined })), /field "max_new_tokens" is missing/);
    throwsProtocol(() => parseInferRequest(gen({ max_new_tokens: -1 })), /max_new_tokens should be a non-negative integer, got -1/);
    throwsProtocol(() => parseInferRequest(gen({ max_new_tokens: 2.5 })), /non-negative integer/);
    throwsProtocol(() => parseInferRequest(gen({ id: '' })), /id should be a non-empty string/);
    throwsProtocol(() => parseInferRequest(gen({ stop: ['ok', ''] })), /stop\[1\] should be a non-empty string/);
    throwsProtocol(() => parseInferRequest(gen({ stop: 'END' })), /stop should be an array/);
    throwsProtocol(() => parseInferRequest(gen({ sampling: { temperature: '0.7' } })), /temperature should be a number/);
    throwsProtocol(() => parseInferEvent('{"version":1,"type":"token","id":"g","index":0,"token":1,"text":null}'), /text should be a string, got null/);
    // JSON cannot carry NaN, but 1e999 parses to Infinity.
    throwsProtocol(() => parseInferEvent(formatInferEvent(EVENTS[6]).replace('"prompt_ms":3.5', '"prompt_ms":1e999')), /prompt_ms should be a number/);
  });

  it('a bad prompt, naming the path', () => {
    throwsProtocol(() => parseInferRequest(gen({ prompt: 'hello' })), /prompt should be an object with "type" "chat" or "text"/);
    throwsProtocol(() => parseInferRequest(gen({ prompt: { type: 'ids', ids: [1] } })), /"chat" or "text"/);
    throwsProtocol(() => parseInferRequest(gen({ prompt: { type: 'chat' } })), /prompt: field "messages" is missing/);
    throwsProtocol(() => parseInferRequest(gen({ prompt: { type: 'chat', messages: [{ role: 'human', content: 'hi' }] } })), /messages\[0\]\.role should be one of "system", "user", "assistant", "tool", got "human"/);
    throwsProtocol(() => parseInferRequest(gen({ prompt: { type: 'text', messages: [] } })), /unknown field "messages"/);
  });

  it('an unknown quantization, with its own code', () => {
    const e = throwsProtocol(() => parseInferRequest('{"version":1,"type":"load","id":"l","model":"m","quant":"q5_k"}'), /quant should be one of "f32", "f16", "bf16", "q8_0", "q4_0", "int8", "nf4", got "q5_k"/, 'unknown_quant');
    assert.equal(e.id, 'l');
  });

  it('an unknown device, naming the three', () => {
    throwsProtocol(() => parseInferRequest('{"version":1,"type":"load","id":"l","model":"m","device":"gpu"}'), /device should be one of "cpu", "cuda", "auto", got "gpu"/);
  });

  it('an unknown done reason or chat-template source', () => {
    throwsProtocol(() => parseInferEvent(formatInferEvent(EVENTS[6]).replace('"eos"', '"timeout"')), /reason should be one of "eos", "stop", "length", "cancelled"/);
    throwsProtocol(() => parseInferEvent(formatInferEvent(EVENTS[2]).replace('"chat_template":"model"', '"chat_template":"tokenizer"')), /chat_template should be one of/);
  });
});
