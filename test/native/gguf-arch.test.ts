// GGUF export of GPT-2, Bloom, Qwen3 and Gemma 3 read by llama.cpp itself (node-llama-cpp, as in
// gguf-llama.test.ts): a tiny random model of each (make_tiny_arch.py, GPT-2's tokenizer) with a
// LoRA adapter on every projection merged by tuner-export gguf --adapter; llama.cpp's greedy
// tokens equal ours (tuner-generate with the adapter applied on the fly) and its log-probabilities
// after the prompt and after an 80-token prompt equal ours, so every name, layout change (Conv1D transposed, Bloom's fused
// rows regrouped, Gemma's 1 + w norms) and hyper-parameter lands where llama.cpp looks. Gemma 3
// runs 7 layers (llama.cpp's pattern: layer 5 global, the others sliding) with a window of 6
// over a 71-token sequence. A Gemma 3 layout llama.cpp cannot compute is refused by name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { ensurePyTorch } from '../ensure-debian-packages';
import { REPO_ROOT, TOKENIZERS, exportGguf, firstDifference, logProbDiff, tunerExport, tunerGreedy } from './export-fixtures';
import { LlamaCppPeer } from './llama-cpp-peer';
import { referencePython } from './native-tools';
import { tempDir } from './trainer-fixtures';

const PROMPT = [464, 3290, 318, 257, 1332, 13, 383];
const N = 64;
const LONG_PROMPT = Array.from({ length: 80 }, (_, i) => 100 + ((i * 617) % 20000));
const CTX = 256;

// [name, general.architecture, make_tiny_arch.py options, tensors llama.cpp must find]
const MODELS: Array<[string, string, string[], string[]]> = [
  ['gpt2', 'gpt2', ['--arch', 'gpt2', '--max-pos', '256'], ['position_embd.weight', 'blk.1.attn_qkv.bias', 'blk.0.ffn_up.weight']],
  ['bloom', 'bloom', ['--arch', 'bloom', '--heads', '6', '--hidden', '48'], ['token_embd_norm.bias', 'blk.1.attn_qkv.weight']],
  ['qwen3', 'qwen3', ['--arch', 'qwen3', '--head-dim', '16', '--max-pos', '256'], ['blk.1.attn_q_norm.weight', 'blk.1.attn_k_norm.weight', 'output.weight']],
  ['gemma3', 'gemma3', ['--arch', 'gemma3', '--layers', '7', '--sliding-window', '6', '--head-dim', '16', '--query-pre-attn-scalar', '16', '--max-pos', '256'],
    ['blk.6.post_attention_norm.weight', 'blk.6.post_ffw_norm.weight', 'blk.0.attn_k_norm.weight']],
];

let root = '';
let peer: LlamaCppPeer;
const dirs = new Map<string, { model: string; adapter: string }>();

before(async () => {
  ensurePyTorch();
  root = tempDir('gguf-arch');
  const tok = path.join(REPO_ROOT, 'node_modules', '@lenml', 'tokenizer-gpt2', 'models');
  for (const [name, , opts] of MODELS) {
    const model = path.join(root, name);
    referencePython('make_tiny_arch.py', ['--out', model, '--vocab', String(TOKENIZERS.gpt2), '--hidden', '64', '--seed', '7', ...opts]);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(tok, f), path.join(model, f));
    const adapter = path.join(root, `${name}-adapter`);
    referencePython('make_tiny_adapter.py', ['--model', model, '--out', adapter, '--seed', '3', '--rank', '4', '--alpha', '8']);
    dirs.set(name, { model, adapter });
  }
  peer = await LlamaCppPeer.open();
});
after(() => {
  if (root && !process.env.TUNER_KEEP_TEST_DIRS) fs.rmSync(root, { recursive: true, force: true });
});

describe('GGUF export of GPT-2, Bloom, Qwen3 and Gemma 3 read by llama.cpp (node-llama-cpp)', { timeout: 900_000 }, () => {
  for (const [name, arch, , tensors] of MODELS) {
    test(`${name}: a merged LoRA in f32 gives our greedy tokens and log-probabilities`, async (t) => {
      const { model, adapter } = dirs.get(name)!;
      const file = path.join(root, `${name}.gguf`);
      const res = exportGguf(model, 'f32', file, undefined, adapter);
      const info = await peer.readInfo(file);
      const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
      assert.equal(md.general.architecture, arch);
      const names = new Set(info.tensorInfo!.map((x) => x.name));
      for (const n of tensors) assert.ok(names.has(n), `${n} is missing (${[...names].slice(0, 12).join(', ')}, …)`);

      const ours = tunerGreedy(model, 'f32', PROMPT, N, { context: CTX, adapter, logitsOut: path.join(root, `${name}-logits.safetensors`) });
      const m = await peer.load(file, { contextSize: CTX, threads: 2, kvCache: 'F32' });
      try {
        const theirs = await m.greedy(PROMPT, N);
        const same = firstDifference(ours.ids, theirs);
        let maxDiff = logProbDiff(ours.logits![0], await m.logProbsAfter(PROMPT));
        // After a long prompt of distinct tokens too: GPT-2's and Bloom's tied random heads repeat
        // one token, so this is what checks their later positions (and Gemma's windows).
        const ourLong = tunerGreedy(model, 'f32', LONG_PROMPT, 1, { context: CTX, adapter, logitsOut: path.join(root, `${name}-long.safetensors`) });
        maxDiff = Math.max(maxDiff, logProbDiff(ourLong.logits![0], await m.logProbsAfter(LONG_PROMPT)));
        t.diagnostic(`${res.warnings.length} warnings; ${same}/${N} greedy tokens equal (${new Set(ours.ids).size} distinct); ` +
          `log-prob max |diff| after the prompt and after ${LONG_PROMPT.length} tokens ${maxDiff.toExponential(2)}`);
        assert.ok(same >= 32, `llama.cpp's greedy tokens differ from ours at token ${same}:\nours   ${ours.ids.join(' ')}\ntheirs ${theirs.join(' ')}`);
        // llama.cpp's CPU GELU reads an f16 table: Gemma's GeGLU in every layer sits nearest the bound.
        const tol = name === 'gemma3' ? 1.5e-2 : 1e-2;
        assert.ok(maxDiff < tol, `log-probabilities differ by ${maxDiff} (tolerance ${tol})`);
      } finally {
        await m.dispose();
      }
    });
  }

  test('a Gemma 3 layout llama.cpp cannot compute is refused, naming the field', () => {
    const model = path.join(root, 'gemma3-pattern2');
    referencePython('make_tiny_arch.py', ['--out', model, '--vocab', '96', '--arch', 'gemma3', '--layers', '3', '--pattern', '2', '--head-dim', '16', '--query-pre-attn-scalar', '16']);
    assert.throws(() => tunerExport(['gguf', '--model', model, '--type', 'f32', '--out', path.join(root, 'refused.gguf')]),
      /unsupported_model[\s\S]*sliding_window_pattern \/ layer_types[\s\S]*layer 1 global/);
    assert.ok(!fs.existsSync(path.join(root, 'refused.gguf')));
  });
});
