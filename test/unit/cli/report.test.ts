import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { consoleReporter, formatSeconds, formatSummary, progressBar } from '../../../src/cli/report';
import type { StepEvent } from '../../../src/core/engine/protocol';
import type { ModelAnswer } from '../../../src/core/pipeline/answers';
import type { PipelineResult } from '../../../src/core/pipeline/pipeline';

const step = (n: number, loss: number): StepEvent => ({ version: 1, type: 'step', step: n, epoch: 0, loss, lr: 0.002, grad_norm: 1, tokens: 512, tokens_per_s: 1234.4, ms: 400, peak_memory_bytes: 1 });
const answer = (prompt: string, text: string): ModelAnswer => ({ prompt, answer: text, reason: 'eos', tokens: 5, tokensPerS: 100 });

describe('tuner console output', () => {
  it('draws a progress bar and short times', () => {
    assert.equal(progressBar(0.5, 10), '[#####.....]  50%');
    assert.equal(progressBar(2, 4), '[####] 100%');
    assert.equal(formatSeconds(3.14), '3.1 s');
    assert.equal(formatSeconds(42.4), '42 s');
    assert.equal(formatSeconds(185), '3 min 05 s');
  });

  it('prints a line per stage and per step, and no redraws off a terminal', () => {
    let text = '';
    const r = consoleReporter({ write: (t) => (text += t), isTTY: false });
    r.onStageStart!('train', 'lora');
    r.onTrainStep!(step(1, 3.5), 10);
    r.onTrainStep!(step(10, 0.25), 10);
    r.onEval!(10, 0.5);
    r.onStageEnd!('train', 12.34, 'final loss 0.250');
    assert.equal(text, [
      '[2/5] train  lora',
      '      step  1/10  loss 3.5000  lr 2.00e-3  1234 tok/s',
      '      step 10/10  loss 0.2500  lr 2.00e-3  1234 tok/s',
      '      eval at step 10: loss 0.5000',
      '      done in 12 s: final loss 0.250',
      '',
    ].join('\n'));
  });

  it('redraws the bar in place on a terminal, under the step lines', () => {
    let text = '';
    const r = consoleReporter({ write: (t) => (text += t), isTTY: true });
    r.onStageStart!('train', 'lora');
    r.onTrainStep!(step(1, 3.5), 4);
    r.onTrainStep!(step(2, 3.0), 4);
    assert.match(text, /step 1\/4 +loss 3\.5000[^\n]*\n {6}\[#{6}\.{18}\] +25% +ETA/);
    assert.ok(text.includes('\r\u001b[K      step 2/4'), 'the bar is erased before the next step line');
  });

  it('summarises answers, times and paths', () => {
    const result: PipelineResult = {
      runDir: '/w/runs/1', tunedDir: '/w/runs/1/merged', adapterDir: '/w/runs/1/adapter', merge: null,
      quantized: { command: 'quantize', out: '/w/runs/1/tuned-int8', files: [], quant: 'int8', bytes: 2_800_000, seconds: 1, warnings: [] },
      gguf: { command: 'gguf', out: '/w/runs/1/tuned.q8_0.gguf', type: 'q8_0', bytes: 3_000_000, seconds: 1, warnings: [] },
      stages: [{ stage: 'prepare', seconds: 1 }, { stage: 'train', seconds: 30 }],
      answers: [{ prompt: 'Who are you?', base: answer('Who are you?', 'I am Starter.'), tuned: answer('Who are you?', 'I am Pip.') }],
      finalLoss: 0.2,
      published: { dir: '/w/output/adapter' },
    };
    const text = formatSummary(result, 'int8', (p) => p.replace('/w/', ''));
    assert.match(text, /Q: Who are you\?\n {5}before: I am Starter\.\n {5}after: {2}I am Pip\./);
    assert.match(text, /Time: prepare 1 s, train 30 s; total 31 s/);
    assert.match(text, /Tuned model: runs\/1\/merged \(LoRA adapter: runs\/1\/adapter\)/);
    assert.match(text, /Quantized: +runs\/1\/tuned-int8 \(2\.67 MiB, int8\)/);
    assert.match(text, /GGUF: +runs\/1\/tuned\.q8_0\.gguf \(2\.86 MiB, q8_0\)/);
    assert.match(text, /Copied to: +output\/adapter \(ARGS\.json output_dir\)/);
    const refused = formatSummary({ ...result, published: { problem: 'output_dir ../x leads outside the workspace' } }, 'int8', (p) => p);
    assert.match(refused, /Not copied to output_dir: output_dir \.\.\/x leads outside the workspace/);
  });
});
