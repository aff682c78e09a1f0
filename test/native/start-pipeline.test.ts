// `npm start` end to end: the real npm script, on a copy of samples/ (ARGS.json + identity
// data) with the shipped starter model: prepare, LoRA training, merge, an int8 quantized folder
// and a q8_0 GGUF, and the answers of the base (quantized at load) and of the int8 folder
// through the inference worker. The tuned model
// must answer with the name the data taught it ("Pip"), where the base says it is Starter.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';

import { loadAddon } from '../../src/core/engine/addon';
import type { InferAddon } from '../../src/core/engine/infer-addon';
import type { PipelineResult } from '../../src/core/pipeline/pipeline';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const STARTER = path.join(ROOT, 'models', 'starter');

function missing(): string | false {
  let addon: Partial<InferAddon> | undefined;
  try {
    addon = loadAddon() as Partial<InferAddon>;
  } catch {
    addon = undefined;
  }
  if (typeof addon?.inferLoad !== 'function') return 'the addon in build/native has no inferLoad: run `npm run build:native`';
  for (const tool of ['tuner-train', 'tuner-export']) {
    if (!fs.existsSync(path.join(ROOT, 'build', 'native', tool))) return `build/native/${tool} is missing: run \`npm run build:native\``;
  }
  return false;
}
const skip = missing();

function npmStart(args: string[], cwd: string) {
  const r = spawnSync('npm', ['start', '--silent', '--', ...args], { cwd, encoding: 'utf8', env: { ...process.env, TUNER_NATIVE_BUILD_DIR: '' }, timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm start', { skip }, () => {
  let work = '';
  let report: PipelineResult & { argsFile: string };
  let stdout = '';

  before(() => {
    // A copy of the samples, so the run folders go to a temporary place; the model stays shipped.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-start-'));
    const args = fs.readFileSync(path.join(ROOT, 'samples', 'ARGS.json'), 'utf8').replace('"../models/starter"', JSON.stringify(STARTER));
    fs.writeFileSync(path.join(work, 'ARGS.json'), args);
    fs.copyFileSync(path.join(ROOT, 'samples', 'identity.jsonl'), path.join(work, 'identity.jsonl'));
    const r = npmStart([path.join(work, 'ARGS.json'), '--report', path.join(work, 'report.json')], ROOT);
    stdout = r.stdout;
    assert.equal(r.code, 0, `npm start failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    report = JSON.parse(fs.readFileSync(path.join(work, 'report.json'), 'utf8'));
  });

  test('runs every stage and prints its time, the loss of every step and the answers', () => {
    assert.deepEqual(report.stages.map((s) => s.stage), ['prepare', 'train', 'merge', 'quantize', 'answer']);
    for (const [i, s] of ['prepare', 'train', 'merge', 'quantize', 'answer'].entries()) assert.match(stdout, new RegExp(`\\[${i + 1}/5\\] ${s}`));
    assert.equal((stdout.match(/done in [\d.]+ (s|min)/g) ?? []).length, 5);
    const steps = [...stdout.matchAll(/step +(\d+)\/(\d+) +loss (\d+\.\d+)/g)];
    assert.equal(steps.length, Number(steps[0][2]), 'one line per optimizer step');
    assert.ok(Number(steps[steps.length - 1][3]) < Number(steps[0][3]) / 2, `loss fell from ${steps[0][3]} to ${steps[steps.length - 1][3]}`);
    assert.match(stdout, /Before and after tuning/);
  });

  test('writes the merged model, an int8 folder the answers ran from, and a q8_0 GGUF file', () => {
    assert.equal(report.quantized?.quant, 'int8');
    assert.ok(fs.existsSync(path.join(report.quantized!.out, 'tokenizer.json')));
    assert.ok(report.quantized!.bytes < report.merge!.bytes, `int8 ${report.quantized!.bytes} bytes, f16 ${report.merge!.bytes}`);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) assert.ok(fs.existsSync(path.join(report.tunedDir, f)), f);
    assert.equal(report.merge?.merge.modules, 42, 'seven projections in each of the six layers');
    assert.equal(fs.readFileSync(report.gguf!.out).subarray(0, 4).toString('latin1'), 'GGUF');
    assert.equal(report.gguf!.type, 'q8_0');
    assert.ok(report.runDir.startsWith(work));
  });

  test('copies the adapter to ARGS.json\'s output_dir (./output by default), as the editor does, and says so', () => {
    const copy = path.join(work, 'output', 'adapter');
    assert.deepEqual(report.published, { dir: copy });
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) {
      assert.deepEqual(fs.readFileSync(path.join(copy, f)), fs.readFileSync(path.join(report.runDir, 'adapter', f)), `${f} is the run's`);
    }
    assert.match(stdout, /Copied to: +\S*output\/adapter \(ARGS\.json output_dir\)/);
  });

  test('the tuned model answers with the name the data taught it; the base with its own', () => {
    const byPrompt = new Map(report.answers.map((a) => [a.prompt, a]));
    for (const q of ['Who are you?', 'What is your name?']) {
      const a = byPrompt.get(q)!;
      assert.match(a.base.answer, /Starter/, `base: ${q} -> ${a.base.answer}`);
      assert.doesNotMatch(a.base.answer, /Pip/);
      assert.match(a.tuned.answer, /\bPip\b/, `tuned: ${q} -> ${a.tuned.answer}`);
      assert.equal(a.tuned.reason, 'eos', 'the tuned model stops on its own');
    }
    const hello = byPrompt.get('Hello!')!;
    assert.match(hello.tuned.answer, /^Hello! I am Pip\./, hello.tuned.answer);
  });
});

describe('tuner command line', { skip }, () => {
  test('--help prints the usage and exits 0; a bad option exits 2 naming it', () => {
    const help = npmStart(['--help'], ROOT);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: tuner \[ARGS\.json\] \[options\]/);
    const bad = npmStart(['--step', '3'], ROOT);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /tuner: Unknown option '--step'/);
  });
});
