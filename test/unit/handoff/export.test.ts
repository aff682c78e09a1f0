// The hand-off folder: configs whose every key is one the tool documents (with its type), YAML
// that reads back to the same values, train.py that compiles and dry-runs on the converted data,
// a ZeRO stage that follows the estimator's per-GPU memory, and clear refusals.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { GiB } from '../../../src/core/hardware/types';
import { readModelSpec, type ModelSpec } from '../../../src/core/model/spec';
import { buildHandoff, checkHandoffConfigs, HandoffError, writeHandoff } from '../../../src/core/handoff/export';
import { AXOLOTL_KEYS, undocumentedKeys } from '../../../src/core/handoff/tool-keys';
import { chooseZeroStage } from '../../../src/core/handoff/zero';
import { parseYaml, STARTER, workspaceWithArgs } from './handoff-fixtures';

const EIGHT_H100 = { nodes: 1, gpusPerNode: 8, gpuMemoryBytes: 80 * GiB };

function parsedConfigs(files: Record<string, string>) {
  return {
    axolotl: parseYaml(files['axolotl.yaml']) as Record<string, unknown>,
    llamaFactory: parseYaml(files['llamafactory.yaml']) as Record<string, unknown>,
    datasetInfo: JSON.parse(files['data/dataset_info.json']) as Record<string, unknown>,
    deepspeed: files['ds_config.json'] ? (JSON.parse(files['ds_config.json']) as Record<string, unknown>) : undefined,
  };
}

const VARIANTS: Record<string, Record<string, unknown>> = {
  'lora, cosine, the model\'s own template': {},
  'qlora nf4 with eval data, gradient checkpointing, bf16': { method: 'qlora', eval_data: './messages.jsonl', eval_interval: 10, gradient_checkpointing: true, precision: 'bf16', save_interval: 20 },
  'full fine-tune, sgd with nesterov, linear, yarn RoPE': { method: 'full', optimizer: 'sgd', momentum: 0.9, nesterov: true, schedule: 'linear', rope_scaling: 'yarn', rope_scaling_factor: 2, max_length: 1024 },
  'lora on int8, lion, packing, default template, loss on every token': { quantization: 'int8', optimizer: 'lion', packing: true, chat_template: 'default', train_on_responses_only: false, eval_split: 0.1 },
};

describe('hand-off export', () => {
  for (const [name, fields] of Object.entries(VARIANTS)) {
    it(`${name}: every generated key is documented with its type, YAML reads back unchanged`, () => {
      const ws = workspaceWithArgs(fields);
      const { files, result } = buildHandoff({ argsFile: ws.argsFile, outDir: path.join(ws.dir, 'out'), target: EIGHT_H100 });
      const parsed = parsedConfigs(files);
      assert.deepEqual(checkHandoffConfigs(parsed), []);
      // The YAML says exactly what the settings say (no value turned into another type).
      assert.equal(parsed.axolotl.learning_rate, result.settings.learning_rate);
      assert.equal(parsed.llamaFactory.cutoff_len, result.settings.max_length);
      assert.equal(parsed.axolotl.micro_batch_size, result.settings.per_device_train_batch_size);
      if (result.settings.lora) assert.deepEqual(parsed.axolotl.lora_target_modules, result.settings.lora.target_modules);
      assert.equal(parsed.llamaFactory.train_on_prompt, fields.train_on_responses_only === false);
    });
  }

  it('maps the ARGS.json settings onto each engine\'s names', () => {
    const ws = workspaceWithArgs(VARIANTS['qlora nf4 with eval data, gradient checkpointing, bf16']);
    const { files, result } = buildHandoff({ argsFile: ws.argsFile, outDir: path.join(ws.dir, 'out'), target: EIGHT_H100 });
    const { axolotl, llamaFactory } = parsedConfigs(files);
    assert.equal(result.settings.quantization, 'nf4');
    assert.equal(axolotl.adapter, 'qlora');
    assert.equal(axolotl.load_in_4bit, true);
    assert.equal(llamaFactory.quantization_bit, 4);
    assert.equal(llamaFactory.quantization_type, 'nf4');
    assert.equal(llamaFactory.disable_gradient_checkpointing, false);
    assert.equal(axolotl.chat_template, 'tokenizer_default');
    assert.equal(llamaFactory.template, undefined);
    assert.equal(llamaFactory.eval_dataset, 'tuner_eval');
    assert.equal(axolotl.bf16, true);
    assert.equal(llamaFactory.lora_target, 'q_proj,k_proj,v_proj,o_proj');
    // The data: identity.jsonl's input/output records become messages, [MODEL NAME] filled in.
    const first = JSON.parse(files['data/train.jsonl'].split('\n')[0]) as { messages: { role: string; content: string }[] };
    assert.deepEqual(first.messages.map((m) => m.role), ['user', 'assistant']);
    assert.match(first.messages[1].content, /Pip/);
    assert.doesNotMatch(files['data/train.jsonl'], /\[MODEL NAME\]/);
    assert.match(files['requirements.txt'], /^bitsandbytes==/m);
    assert.match(files['README.md'], /torchrun --nproc_per_node 8 train\.py/);
    assert.match(files['README.md'], /FORCE_TORCHRUN=1 NNODES=1/);
  });

  it('a template override travels as chat_template.jinja for train.py and Axolotl', () => {
    const ws = workspaceWithArgs({ chat_template: 'default' });
    const { files } = buildHandoff({ argsFile: ws.argsFile, outDir: path.join(ws.dir, 'out'), target: EIGHT_H100 });
    const axolotl = parseYaml(files['axolotl.yaml']) as Record<string, unknown>;
    assert.equal(axolotl.chat_template, 'jinja');
    assert.equal(axolotl.chat_template_jinja, 'chat_template.jinja');
    assert.match(files['chat_template.jinja'], /Assistant/);
    assert.equal(JSON.parse(files['train_config.json']).chat_template_file, 'chat_template.jinja');
  });

  it('train.py compiles and its --dry-run reads the settings and the converted data (no torch)', () => {
    const ws = workspaceWithArgs({ eval_data: './messages.jsonl' });
    const out = path.join(ws.dir, 'handoff');
    const r = writeHandoff({ argsFile: ws.argsFile, outDir: out, target: { nodes: 2, gpusPerNode: 4, gpuMemoryBytes: 24 * GiB } });
    execFileSync('python3', ['-m', 'py_compile', path.join(out, 'train.py')]);
    const dry = JSON.parse(execFileSync('python3', [path.join(out, 'train.py'), '--dry-run', '--deepspeed', 'ds_config.json'], { encoding: 'utf8' })) as { train_records: number; eval_records: number; settings: { lora: { r: number } } };
    assert.equal(dry.train_records, r.trainRecords);
    assert.equal(dry.eval_records, r.evalRecords);
    assert.equal(dry.train_records, fs.readFileSync(path.join(ws.dir, 'identity.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).length);
    assert.equal(dry.settings.lora.r, 8);
    const help = execFileSync('python3', [path.join(out, 'train.py'), '--help'], { encoding: 'utf8' });
    assert.match(help, /--deepspeed/);
    // A second export into the same folder replaces Tuner's own files; a user's folder is refused.
    writeHandoff({ argsFile: ws.argsFile, outDir: out, target: EIGHT_H100 });
    const mine = path.join(ws.dir, 'mine');
    fs.mkdirSync(mine);
    fs.writeFileSync(path.join(mine, 'notes.txt'), 'x');
    assert.throws(() => writeHandoff({ argsFile: ws.argsFile, outDir: mine, target: EIGHT_H100 }), /not a Tuner hand-off/);
  });

  it('records Tuner cannot train on are left out and listed with file and line', () => {
    const ws = workspaceWithArgs({ data: './mixed.jsonl' }, { 'mixed.jsonl': '{"input": "a", "output": "b"}\n{"nope": 1}\n{"text": "raw text"}\n' });
    const { files, result } = buildHandoff({ argsFile: ws.argsFile, outDir: path.join(ws.dir, 'out'), target: EIGHT_H100 });
    assert.equal(result.trainRecords, 1);
    assert.deepEqual(result.skipped.map((s) => s.line), [2, 3]);
    assert.match(files['README.md'], /mixed\.jsonl:2: matches no known format/);
  });

  it('refuses what the engines cannot run, naming the ARGS.json field', () => {
    for (const [fields, field] of [[{ method: 'lomo', optimizer: 'sgd' }, 'method'], [{ rope_scaling: 'xpos' }, 'rope_scaling'], [{ stage: 'dpo', data: './p.jsonl' }, 'stage']] as const) {
      const ws = workspaceWithArgs(fields, { 'p.jsonl': '{"prompt": "a", "chosen": "b", "rejected": "c"}\n' });
      assert.throws(() => buildHandoff({ argsFile: ws.argsFile, outDir: path.join(ws.dir, 'out'), target: EIGHT_H100 }), (e: unknown) => e instanceof HandoffError && e.field === field);
    }
  });

  it('the key check catches an undocumented key and a wrong type', () => {
    assert.deepEqual(undocumentedKeys({ lora_r: 8, lora_alpha: 16.5, sequence_length: 512 }, AXOLOTL_KEYS, 'axolotl.yaml'), [
      'axolotl.yaml: "lora_alpha" is a number, documented as int',
      'axolotl.yaml: "sequence_length" is not a documented key',
    ]);
  });
});

describe('ZeRO stage from the estimator', () => {
  const seven: ModelSpec = { ...readModelSpec(STARTER), vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numLayers: 32, numHeads: 32, numKvHeads: 32, headDim: 128, tieWordEmbeddings: false, torchDtype: 'bfloat16' };
  const full = resolveArgs({ model: 'm', data: 'd', method: 'full', precision: 'bf16', batch_size: 1, max_length: 512, gradient_checkpointing: true } as Args);

  it('one GPU never shards; a small LoRA run on 8 GPUs needs no sharding', () => {
    const lora = resolveArgs({ model: 'm', data: 'd' } as Args);
    assert.equal(chooseZeroStage(lora, readModelSpec(STARTER), { nodes: 1, gpusPerNode: 1, gpuMemoryBytes: 24 * GiB }).stage, 0);
    assert.equal(chooseZeroStage(lora, readModelSpec(STARTER), EIGHT_H100).stage, 0);
  });

  it('a 7B full fine-tune shards more as GPUs get smaller, and each stage lowers the per-GPU peak', () => {
    const big = chooseZeroStage(full, seven, EIGHT_H100);
    const small = chooseZeroStage(full, seven, { nodes: 1, gpusPerNode: 8, gpuMemoryBytes: 24 * GiB });
    for (const z of [big, small]) for (const s of [1, 2, 3] as const) assert.ok(z.perGpuBytes[s] < z.perGpuBytes[(s - 1) as 0 | 1 | 2]);
    assert.ok(big.stage >= 1 && big.stage <= small.stage, `80 GB: ${big.stage}, 24 GB: ${small.stage}`);
    assert.ok(big.perGpuBytes[big.stage] <= big.budgetBytes);
    assert.ok(big.stage === 0 || big.perGpuBytes[(big.stage - 1) as 0 | 1 | 2] > big.budgetBytes, 'the lowest stage that fits');
    // Two nodes of 8 share the state over 16 GPUs: never more sharding than one node needs.
    assert.ok(chooseZeroStage(full, seven, { nodes: 2, gpusPerNode: 8, gpuMemoryBytes: 24 * GiB }).stage <= small.stage);
  });
});
