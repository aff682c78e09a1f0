// "Copy as command": a tuner-generate line that a shell runs as written.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { generateCommandLine, shellQuote } from '../../../src/core/playground/command-line';

test('quoting survives a shell round trip', () => {
  for (const s of ['plain', "it's", 'a b', '$HOME', '`x`', '', 'ü/ñ', '"q"']) {
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(s)}`], { encoding: 'utf8' }), s);
  }
});

test('the line names the model, adapter, format, prompt ids and every sampling filter that is on', () => {
  const line = generateCommandLine({
    binary: '/opt/tuner/tuner-generate',
    modelDir: '/models/base model',
    adapterDir: '/w/runs/20260101-120000/adapter',
    quant: 'q4_0',
    promptIds: [1, 5, 9],
    maxNewTokens: 64,
    sampling: { seed: 42, temperature: 0.8, no_repeat_ngram_size: 2, top_p: 0.95 },
    stopIds: [2],
    stopStrings: ['\n\n'],
    promptNote: 'chat template applied to 2 messages',
  });
  const lines = line.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^# Tuner playground: chat template applied to 2 messages, 3 prompt tokens/);
  assert.match(lines[1], /Stop strings "\\n\\n"/);
  assert.equal(lines[2], "/opt/tuner/tuner-generate '/models/base model' --adapter /w/runs/20260101-120000/adapter --quant q4_0 --ids 1,5,9 --max-new 64 --temperature 0.8 --top-p 0.95 --no-repeat-ngram 2 --seed 42 --stop 2");
  const greedy = generateCommandLine({ binary: 'tuner-generate', modelDir: '/m', quant: 'f32', promptIds: [1], maxNewTokens: 8, sampling: { seed: 0 }, stopIds: [], stopStrings: [], promptNote: 'raw completion' });
  assert.match(greedy, /\ntuner-generate \/m --quant f32 --ids 1 --max-new 8 --greedy --seed 0\n$/);
});
