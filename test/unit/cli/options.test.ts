import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DEFAULT_PROMPTS, parseCliOptions, USAGE, UsageError } from '../../../src/cli/options';

describe('tuner command-line options', () => {
  it('runs the samples with the defaults when given nothing', () => {
    const o = parseCliOptions([]);
    assert.equal(o.command, 'run');
    assert.equal(o.argsFile, undefined);
    assert.deepEqual(o.overrides, {});
    assert.deepEqual(o.prompts, DEFAULT_PROMPTS);
    assert.equal(o.quant, 'int8');
    assert.equal(o.gguf, 'q8_0');
    assert.equal(o.maxNewTokens, 48);
    assert.equal(o.runsDir, undefined);
  });

  it('reads an ARGS.json and every override', () => {
    const o = parseCliOptions(['my/ARGS.json', '--model', 'models/x', '--data', 'd.jsonl', '--method', 'full', '--steps', '25', '--name', 'Ada', '--threads', '0',
      '--prompt', 'Who are you?', '--prompt', 'What is LoRA?', '--quant', 'q4_0', '--gguf', 'none', '--max-new-tokens', '16', '--runs', 'out/runs', '--report', 'r.json']);
    assert.equal(o.argsFile, 'my/ARGS.json');
    assert.deepEqual(o.overrides, { model: 'models/x', data: 'd.jsonl', method: 'full', steps: 25, modelName: 'Ada', threads: 0 });
    assert.deepEqual(o.prompts, ['Who are you?', 'What is LoRA?']);
    assert.equal(o.quant, 'q4_0');
    assert.equal(o.gguf, null);
    assert.equal(o.maxNewTokens, 16);
    assert.equal(o.runsDir, 'out/runs');
    assert.equal(o.reportFile, 'r.json');
  });

  it('accepts --opt=value and the short flags', () => {
    assert.deepEqual(parseCliOptions(['--steps=7']).overrides, { steps: 7 });
    assert.equal(parseCliOptions(['-h']).command, 'help');
    assert.equal(parseCliOptions(['--help', '--steps', 'x']).command, 'help');
    assert.equal(parseCliOptions(['-v']).command, 'version');
  });

  const BAD: [string, string[], RegExp][] = [
    ['an unknown option', ['--step', '3'], /Unknown option '--step'.*tuner --help/],
    ['a missing value', ['--steps'], /--steps/],
    ['steps that are not a count', ['--steps', '1.5'], /--steps wants a whole number of at least 1, got "1.5"/],
    ['zero steps', ['--steps', '0'], /--steps wants a whole number of at least 1/],
    ['negative threads', ['--threads', '-1'], /--threads/],
    ['a method the trainer lacks', ['--method', 'qlora'], /--method is lora or full, got "qlora"/],
    ['an unknown weight format', ['--quant', 'int4'], /--quant is one of f32, f16, bf16, q8_0, q4_0, int8, nf4, got "int4"/],
    ['an unknown GGUF type', ['--gguf', 'q5_k'], /--gguf is one of q8_0, q4_0, f16, bf16, f32, none/],
    ['two ARGS files', ['a.json', 'b.json'], /one ARGS.json at a time, got 2/],
    ['an empty prompt', ['--prompt', ' '], /--prompt is empty/],
    ['an empty model', ['--model', ''], /--model is empty/],
  ];
  for (const [what, argv, message] of BAD) {
    it(`refuses ${what} with a sentence naming the option`, () => {
      assert.throws(() => parseCliOptions(argv), (e: unknown) => e instanceof UsageError && message.test((e as Error).message));
    });
  }

  it('documents every option it accepts', () => {
    for (const flag of ['--model', '--data', '--method', '--steps', '--name', '--threads', '--prompt', '--quant', '--gguf', '--max-new-tokens', '--runs', '--report', '--help', '--version']) {
      assert.match(USAGE, new RegExp(`\\s${flag}\\b`), flag);
    }
  });
});
