// Driving tuner-train through stdin: start paused, single steps, pause / resume, save, stop;
// a closed stdin does not stop training; SIGTERM stops cleanly with a checkpoint.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import type { TrainerEvent } from '../../src/core/engine/protocol';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { basePlan, makeShards, makeTinyModel, repetitiveDocuments, startTrainer, steps, tempDir, writePlan } from './trainer-fixtures';

const VOCAB = 96;

function summary(events: TrainerEvent[]): string[] {
  return events
    .filter((e) => e.type !== 'start')
    .map((e) => ('step' in e && e.step !== undefined ? `${e.type}:${e.step}` : e.type));
}

describe('tuner-train commands', () => {
  let root: string;
  before(() => {
    root = tempDir('control');
    makeTinyModel(path.join(root, 'model'), { vocab: VOCAB });
    makeShards(path.join(root, 'data'), repetitiveDocuments(16, 33, VOCAB), VOCAB);
  });

  it('steps one at a time from a paused start, saves while paused, resumes and stops', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-steps'), max_steps: 100000 });
    const p = startTrainer({ planPath: writePlan(root, plan, 'steps.json'), startPaused: true });
    await p.waitFor((e) => e.type === 'paused' && e.step === 0);
    p.send('step');
    await p.waitFor((e) => e.type === 'paused' && e.step === 1);
    p.send('step');
    await p.waitFor((e) => e.type === 'paused' && e.step === 2);
    p.send('save');
    await p.waitFor((e) => e.type === 'checkpoint' && e.step === 2);
    p.send('resume');
    await p.waitFor((e) => e.type === 'step' && e.step === 6);
    p.send('pause');
    const paused = await p.waitFor((e) => e.type === 'paused' && e.step >= 6);
    p.send('stop');
    const exit = await p.exited;
    assert.equal(exit.protocolError, undefined);
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.equal(exit.signal, null);
    const n = paused.type === 'paused' ? paused.step : -1;
    const expected = ['paused:0', 'step:1', 'paused:1', 'step:2', 'paused:2', 'checkpoint:2', 'resumed:2'];
    for (let s = 3; s <= n; s++) expected.push(`step:${s}`);
    expected.push(`paused:${n}`, `checkpoint:${n}`, `done:${n}`);
    assert.deepEqual(summary(exit.events), expected);
    const done = exit.events[exit.events.length - 1];
    assert.ok(done.type === 'done' && done.reason === 'stopped');
    assert.ok(fs.existsSync(path.join(done.outputs.checkpoint!, 'trainer_state.json')));
    assert.ok(fs.existsSync(path.join(done.outputs.adapter!, 'adapter_model.safetensors')));
  });

  it('keeps training when stdin is closed', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-eof'), max_steps: 8 });
    const p = startTrainer({ planPath: writePlan(root, plan, 'eof.json') });
    p.closeInput();
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.equal(steps(exit.events).length, 8);
    const done = exit.events[exit.events.length - 1];
    assert.ok(done.type === 'done' && done.reason === 'completed');
  });

  it('resumes by itself when stdin closes while paused (no one could send resume)', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-eof-paused'), max_steps: 3 });
    const p = startTrainer({ planPath: writePlan(root, plan, 'eof-paused.json'), startPaused: true });
    await p.waitFor((e) => e.type === 'paused');
    p.closeInput();
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.deepEqual(summary(exit.events), ['paused:0', 'resumed:0', 'step:1', 'step:2', 'step:3', 'checkpoint:3', 'done:3']);
  });

  it('stops cleanly with a checkpoint on SIGTERM', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-term'), max_steps: 100000 });
    const p = startTrainer({ planPath: writePlan(root, plan, 'term.json') });
    await p.waitFor((e) => e.type === 'step' && e.step === 3);
    p.kill('SIGTERM');
    const exit = await p.exited;
    assert.equal(exit.code, 0, exit.stderrTail);
    assert.equal(exit.signal, null);
    const done = exit.events[exit.events.length - 1];
    assert.ok(done.type === 'done' && done.reason === 'stopped' && done.step >= 3);
    assert.ok(exit.events.some((e) => e.type === 'checkpoint' && e.step === done.step));
  });

  it('saves and stops when its stdout is closed (nobody is watching)', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-closed'), max_steps: 100000 });
    const child = spawn(findTrainerBinary(), ['--plan', writePlan(root, plan, 'closed.json')], { stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const [code, signal] = await exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
    const ckpts = fs.readdirSync(path.join(plan.output_dir, 'checkpoints'));
    assert.equal(ckpts.length, 1);
    assert.ok(fs.existsSync(path.join(plan.output_dir, 'checkpoints', ckpts[0], 'trainer_state.json')));
  });

  it('ignores a malformed command and keeps going', async () => {
    const plan = basePlan(root, { output_dir: path.join(root, 'out-badcmd'), max_steps: 4 });
    const p = startTrainer({ planPath: writePlan(root, plan, 'badcmd.json'), startPaused: true });
    await p.waitFor((e) => e.type === 'paused');
    p.sendRaw('{"version":1,"type":"jump"}\nresume\n');
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    assert.match(exit.stderrTail, /ignored command/);
    assert.equal(steps(exit.events).length, 4);
  });
});
