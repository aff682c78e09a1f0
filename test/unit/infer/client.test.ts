// The inference client with real worker processes and no model: request errors come back as
// InferenceErrors naming the request, a worker that dies rejects what waits and the next request
// starts a new one, a worker that prints something else is stopped as a protocol error, and the
// worker's environment holds only what it needs.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';

import { InferenceClient, InferenceError, workerEnv } from '../../../src/core/engine/infer-client';
import type { InferEvent } from '../../../src/core/engine/infer-protocol';

const WORKER = path.join(__dirname, '..', '..', '..', 'src', 'core', 'infer', 'worker-main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-infer-client-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function rejection(p: Promise<unknown>): Promise<InferenceError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof InferenceError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}

describe('inference client', () => {
  it('a failed load rejects with the error event of that request', async () => {
    const c = new InferenceClient({ workerPath: WORKER });
    try {
      const ready = await c.start();
      assert.equal(ready.pid, c.pid);
      const e = await rejection(c.load({ model: path.join(tmp, 'no-such-model') }));
      assert.equal(e.code, 'model_not_found');
      assert.match(e.requestId ?? '', /^load-/);
      assert.ok(e.hint.length > 0);
      const g = await rejection(c.generate({ prompt: { type: 'text', text: 'x' }, max_new_tokens: 1 }).done);
      assert.equal(g.code, 'no_model');
    } finally {
      await c.dispose();
    }
  });

  it('a killed worker: the error event names the signal, waiting requests reject, the next request starts a new worker', async () => {
    const c = new InferenceClient({ workerPath: WORKER });
    const errors: InferEvent[] = [];
    const ended = new Promise<void>((resolve) => c.onEvent((e) => e.type === 'error' && e.id === null && (errors.push(e), resolve())));
    try {
      await c.start();
      const first = c.pid as number;
      process.kill(first, 'SIGKILL');
      await ended;
      assert.match((errors[0] as { message: string }).message, /killed by SIGKILL/);
      assert.equal(c.pid, undefined);
      await c.start();
      assert.ok(c.pid !== undefined && c.pid !== first);
      assert.equal(c.restarts, 1);
      // A generation waiting on a worker that dies rejects, and so does its stream.
      const g = c.generate({ prompt: { type: 'text', text: 'x' }, max_new_tokens: 1 });
      process.kill(c.pid as number, 'SIGKILL');
      const e = await rejection(g.done);
      assert.ok(e.code === 'worker_exited' || e.code === 'no_model', e.message); // the answer may win the race
    } finally {
      await c.dispose();
    }
  });

  it('a worker that prints a line this side cannot read is stopped as a protocol error', async () => {
    const script = path.join(tmp, 'other-build.js');
    fs.writeFileSync(script, 'process.stdout.write(JSON.stringify({ version: 2, type: "ready", pid: process.pid }) + "\\n"); setInterval(() => {}, 1000);\n');
    const c = new InferenceClient({ workerPath: script });
    try {
      const e = await rejection(c.start());
      assert.equal(e.code, 'protocol_error');
      assert.match(e.message, /version 2/);
    } finally {
      await c.dispose();
    }
  });

  it('a worker that cannot start reports its exit and log', async () => {
    const c = new InferenceClient({ workerPath: path.join(tmp, 'missing-worker.js') });
    try {
      const e = await rejection(c.start());
      assert.equal(e.code, 'worker_exited');
      assert.match(e.message, /exited with code 1.*Cannot find module/s);
    } finally {
      await c.dispose();
    }
  });

  it('after dispose the client refuses requests', async () => {
    const c = new InferenceClient({ workerPath: WORKER });
    await c.start();
    await c.dispose();
    assert.throws(() => c.generate({ prompt: { type: 'text', text: 'x' }, max_new_tokens: 1 }), (e: unknown) => e instanceof InferenceError && e.code === 'disposed');
  });

  it('the worker environment: pass-through variables only, ELECTRON_RUN_AS_NODE under Electron', () => {
    const parent = { PATH: '/usr/bin', HOME: '/home/u', OPENAI_API_KEY: 'sk-secret', HF_TOKEN: 'hf_secret', TUNER_CPU_LIMIT: 'avx2' };
    assert.deepEqual(workerEnv(parent, {}, false), { PATH: '/usr/bin', TUNER_CPU_LIMIT: 'avx2' });
    assert.deepEqual(workerEnv(parent, { EXTRA: '1' }, true), { PATH: '/usr/bin', TUNER_CPU_LIMIT: 'avx2', ELECTRON_RUN_AS_NODE: '1', EXTRA: '1' });
  });
});
