import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { applyTextEdits } from '../../../src/core/args/edits';
import { resolveArgs } from '../../../src/core/args/fields';
import { ARGS_CODES, validateArgsText } from '../../../src/core/args/validate';

const FIXTURES = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'args');

describe('ARGS.json validation', () => {
  for (const file of fs.readdirSync(path.join(FIXTURES, 'valid'))) {
    it(`accepts the example ${file}`, () => {
      const check = validateArgsText(fs.readFileSync(path.join(FIXTURES, 'valid', file), 'utf8'));
      assert.deepEqual(check.problems.map((p) => `${p.code} ${p.message}`), []);
      assert.ok(check.args);
    });
  }

  // Each bad file: the code and a piece of the message the user must see.
  const BAD: [string, string, string, RegExp][] = [
    ['not JSON', '{"model": "x", "data": }', ARGS_CODES.invalidJson, /not valid JSON: ValueExpected/],
    ['an array', '[1]', ARGS_CODES.notObject, /must be one JSON object/],
    ['missing data', '{"model": "m"}', ARGS_CODES.missing, /needs "data"/],
    ['missing model', '{"data": "d.jsonl"}', ARGS_CODES.missing, /needs "model"/],
    ['typo key', '{"model": "m", "data": "d", "learnig_rate": 0.001}', ARGS_CODES.unknownKey, /Unknown key "learnig_rate" in ARGS.json: did you mean "learning_rate"\?/],
    ['unknown key', '{"model": "m", "data": "d", "colour": "blue"}', ARGS_CODES.unknownKey, /Unknown key "colour"/],
    ['string number', '{"model": "m", "data": "d", "learning_rate": "1e-5"}', ARGS_CODES.wrongType, /"learning_rate" must be a number, not the string "1e-5": use 0.00001/],
    ['float batch', '{"model": "m", "data": "d", "batch_size": 2.5}', ARGS_CODES.wrongType, /"batch_size" must be a whole number/],
    ['bad enum', '{"model": "m", "data": "d", "method": "dora"}', ARGS_CODES.notAllowed, /"method" must be one of "full", "lora", "qlora", "lomo"/],
    ['enum case', '{"model": "m", "data": "d", "method": "LoRA"}', ARGS_CODES.notAllowed, /use "lora"/],
    ['negative lr', '{"model": "m", "data": "d", "learning_rate": -1}', ARGS_CODES.outOfRange, /must be greater than 0, not -1/],
    ['rank 0', '{"model": "m", "data": "d", "lora_rank": 0}', ARGS_CODES.outOfRange, /"lora_rank" must be at least 1/],
    ['bad target', '{"model": "m", "data": "d", "lora_target_modules": ["q_proj", "attn"]}', ARGS_CODES.wrongType, /"lora_target_modules" must be a list of/],
    ['epochs and steps', '{"model": "m", "data": "d", "epochs": 1, "max_steps": 10}', ARGS_CODES.conflict, /either "epochs" or "max_steps"/],
    ['qlora without a quantized base', '{"model": "m", "data": "d", "method": "qlora", "quantization": "none"}', ARGS_CODES.conflict, /must be "nf4", "int8" or "int4"/],
    ['full quantized', '{"model": "m", "data": "d", "method": "full", "quantization": "nf4"}', ARGS_CODES.conflict, /cannot be stored quantized/],
    ['wandb key', '{"model": "m", "data": "d", "wandb": "0123456789abcdef0123456789abcdef01234567"}', ARGS_CODES.secret, /Secrets never go in ARGS.json/],
    ['token in a value', '{"model": "m", "data": "d", "output_dir": "hf_abcdefghijklmnopqrstuvwxyz0123456789"}', ARGS_CODES.secret, /looks like an API key/],
    ['duplicate', '{"model": "m", "data": "d", "model": "n"}', ARGS_CODES.duplicate, /appears twice/],
    ['null not allowed', '{"model": "m", "data": "d", "output_dir": null}', ARGS_CODES.wrongType, /"output_dir" must be a string, not null/],
    ['sample prompts not a list', '{"model": "m", "data": "d", "sample_interval": 10, "sample_prompts": "hi"}', ARGS_CODES.wrongType, /"sample_prompts" must be a list of 1 to 16 non-empty strings, not the string "hi": use \["hi"\]/],
    ['empty sample prompt', '{"model": "m", "data": "d", "sample_interval": 10, "sample_prompts": ["ok", " "]}', ARGS_CODES.wrongType, /"sample_prompts" must be a list of 1 to 16 non-empty strings/],
    ['samples without prompts', '{"model": "m", "data": "d", "sample_interval": 10}', ARGS_CODES.conflict, /"sample_interval" is set but "sample_prompts" is not/],
  ];
  it('sample prompts without an interval are a warning, not an error', () => {
    const check = validateArgsText('{"model": "m", "data": "d", "sample_prompts": ["what is the capital of france ?"]}');
    assert.deepEqual(check.problems.map((p) => [p.severity, p.code]), [['warning', ARGS_CODES.ignored]]);
    assert.ok(check.args);
    assert.equal(resolveArgs(check.args).sample_max_new_tokens, 32);
  });
  for (const [name, text, code, message] of BAD) {
    it(`rejects ${name} with ${code}`, () => {
      const check = validateArgsText(text);
      const p = check.problems.find((x) => x.code === code);
      assert.ok(p, `expected ${code}, got ${JSON.stringify(check.problems.map((x) => [x.code, x.message]))}`);
      assert.match(p.message, message);
      assert.equal(check.args, undefined);
    });
  }

  it('places problems on the offending key or value', () => {
    const text = '{\n  "model": "m",\n  "data": "d",\n  "batch_size": "8"\n}\n';
    const p = validateArgsText(text).problems[0];
    assert.deepEqual(p.range, { line: 3, col: 16, endLine: 3, endCol: 19 });
    const fixed = applyTextEdits(text, p.fixes![0].edits);
    assert.match(fixed, /"batch_size": 8\n/);
    assert.deepEqual(validateArgsText(fixed).problems, []);
  });

  it('rename fix for a typo yields a valid file', () => {
    const text = '{"model": "m", "data": "d", "batchsize": 8}';
    const p = validateArgsText(text).problems.find((x) => x.code === ARGS_CODES.unknownKey)!;
    assert.equal(p.fixes![0].title, 'Rename to "batch_size"');
    assert.deepEqual(validateArgsText(applyTextEdits(text, p.fixes![0].edits)).problems, []);
  });

  it('removing a secret keeps the JSON valid', () => {
    for (const text of ['{"model": "m", "wandb": "0123456789abcdef0123456789abcdef01234567", "data": "d"}', '{"model": "m", "data": "d", "wandb": "0123456789abcdef0123456789abcdef01234567"}']) {
      const p = validateArgsText(text).problems.find((x) => x.code === ARGS_CODES.secret)!;
      const fixed = applyTextEdits(text, p.fixes![0].edits);
      assert.deepEqual(validateArgsText(fixed).problems, [], fixed);
      assert.doesNotMatch(fixed, /0123456789abcdef/);
    }
  });

  it('resolves defaults for absent keys', () => {
    const r = resolveArgs({ model: 'm', data: 'd', lora_rank: 4 });
    assert.equal(r.method, 'lora');
    assert.equal(r.lora_rank, 4);
    assert.equal(r.train_on_responses_only, true);
    assert.deepEqual(r.lora_target_modules, ['q_proj', 'k_proj', 'v_proj', 'o_proj']);
  });
});

describe('LMTuner ARGS.json', () => {
  const text = fs.readFileSync(path.join(FIXTURES, 'lmtuner-medical.json'), 'utf8');

  it('names each LMTuner key with its Tuner counterpart', () => {
    const check = validateArgsText(text);
    const msgs = check.problems.filter((p) => p.code === ARGS_CODES.lmtunerKey).map((p) => p.message);
    assert.ok(msgs.includes('"learning rate" is the LMTuner name of "learning_rate": rename it to "learning_rate" with the value 0.00001.'), msgs.join('\n'));
    assert.ok(msgs.some((m) => m.startsWith('"GPU Memory" is an LMTuner setting with no Tuner counterpart')));
    assert.equal(msgs.length, 14);
    assert.ok(check.problems.some((p) => p.code === ARGS_CODES.notAllowed && /use "lomo"/.test(p.message)));
    assert.ok(check.problems.some((p) => p.code === ARGS_CODES.wrongType && /"quantization".*use "none"/.test(p.message)));
  });

  it('the convert-all fix plus value fixes give a valid Tuner file', () => {
    let t = text;
    const all = validateArgsText(t).problems.find((p) => p.code === ARGS_CODES.lmtunerKey)!.fixes!.find((f) => f.title.startsWith('Convert every'))!;
    t = applyTextEdits(t, all.edits);
    // Then the remaining value fixes (method case, quantization null), one at a time as a user would.
    for (let i = 0; i < 5; i++) {
      const p = validateArgsText(t).problems.find((x) => x.severity === 'error' && x.fixes?.length);
      if (!p) break;
      t = applyTextEdits(t, p.fixes![0].edits);
    }
    const check = validateArgsText(t);
    assert.deepEqual(check.problems.filter((p) => p.severity === 'error'), [], t);
    const v = JSON.parse(t);
    assert.deepEqual(
      { lr: v.learning_rate, epochs: v.epochs, rank: v.lora_rank, bs: v.batch_size, len: v.max_length, gpus: v.gpus, q: v.quantization, save: v.save_interval, out: v.output_dir, ga: v.gradient_accumulation, rope: v.rope_scaling, resume: v.resume_from, method: v.method },
      { lr: 1e-5, epochs: 100, rank: 16, bs: 20, len: 350, gpus: 2, q: 'none', save: 100, out: './checkpoints', ga: 1, rope: 'none', resume: null, method: 'lomo' },
    );
    assert.equal(v['GPU Memory'], undefined);
    assert.equal(v['train this machine'], undefined);
    // lora_rank with method lomo is only a warning.
    assert.ok(check.problems.some((p) => p.code === ARGS_CODES.ignored));
  });
});
