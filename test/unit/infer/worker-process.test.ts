// The inference worker as a process, without a model: it announces itself, answers every
// request line (a bad one with an error naming the field and the request id), ignores a
// cancel for a request that already ended, and ends cleanly on shutdown or at end of input.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { describe, it } from 'node:test';

import { formatInferRequest, parseInferEvent, type InferEvent, type InferRequestBody } from '../../../src/core/engine/infer-protocol';

const WORKER = path.join(__dirname, '..', '..', '..', 'src', 'core', 'infer', 'worker-main.js');
/** The bundle the extension ships (npm run build:ts writes it before the tests run). */
const BUNDLED = path.join(__dirname, '..', '..', '..', '..', 'dist', 'infer-worker.js');

/** Runs the worker on these stdin lines (then end of input); returns every event (each one parsed strictly) and the exit code. */
async function runWorker(lines: Array<string | InferRequestBody>, script = WORKER): Promise<{ events: InferEvent[]; code: number | null }> {
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'], env: {} });
  const events: InferEvent[] = [];
  const rl = readline.createInterface({ input: child.stdout });
  rl.on('line', (l) => events.push(parseInferEvent(l)));
  const closed = new Promise((resolve) => rl.on('close', resolve));
  for (const l of lines) child.stdin.write(typeof l === 'string' ? l + '\n' : formatInferRequest(l));
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  await closed;
  return { events, code };
}

function errorFor(events: InferEvent[], id: string | null, code: string): Extract<InferEvent, { type: 'error' }> {
  const e = events.find((x) => x.type === 'error' && x.id === id && x.code === code);
  assert.ok(e && e.type === 'error', `an error ${code} for ${id}: ${JSON.stringify(events)}`);
  return e;
}

describe('inference worker process', () => {
  it('starts with ready and exits 0 at end of input', async () => {
    const { events, code } = await runWorker([]);
    assert.equal(code, 0);
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ready');
  });

  it('the bundled worker (dist/infer-worker.js) runs the same way and finds the addon', { skip: !fs.existsSync(BUNDLED) && 'dist/infer-worker.js is not built (npm run build:ts)' }, async () => {
    const { events, code } = await runWorker([{ type: 'unload', id: 'u' }], BUNDLED);
    assert.equal(code, 0);
    const ready = events[0];
    assert.ok(ready.type === 'ready');
    // The addon loads from the bundle's folder as from out/ (engine_version null would mean it was not found).
    const fromOut = (await runWorker([])).events[0];
    assert.ok(fromOut.type === 'ready');
    assert.equal(ready.engine_version, fromOut.engine_version);
    assert.equal(ready.inference, fromOut.inference);
    assert.deepEqual(events.slice(1).map((e) => e.type), ['unloaded', 'memory']);
  });

  it('answers bad lines with errors that name the problem, and keeps going', async () => {
    const { events, code } = await runWorker([
      'not json',
      '{"version":2,"type":"load","id":"v2","model":"m"}',
      '{"version":1,"type":"load","id":"q","model":"m","quant":"q3_k"}',
      '{"version":1,"type":"generate","id":"typo","prompt":{"type":"text","text":"x"},"max_new_tokens":4,"temprature":0.5}',
      '{"version":1,"type":"resume"}',
      '',
      { type: 'generate', id: 'g1', prompt: { type: 'text', text: 'hi' }, max_new_tokens: 4 },
    ]);
    assert.equal(code, 0);
    assert.match(errorFor(events, null, 'bad_request').message, /not JSON/);
    assert.match(errorFor(events, 'v2', 'version_mismatch').message, /version 2/);
    const quant = errorFor(events, 'q', 'unknown_quant');
    assert.match(quant.hint, /q8_0/);
    assert.match(errorFor(events, 'typo', 'bad_request').message, /unknown field "temprature"/);
    assert.ok(events.some((e) => e.type === 'error' && /unknown request type "resume"/.test(e.message)));
    // The last request still got its answer.
    assert.match(errorFor(events, 'g1', 'no_model').hint, /load/);
  });

  it('load errors name the folder and what is wrong with it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-worker-'));
    try {
      fs.writeFileSync(path.join(dir, 'model.bin'), 'x');
      const adapterOnly = path.join(dir, 'adapter');
      fs.mkdirSync(adapterOnly);
      fs.writeFileSync(path.join(adapterOnly, 'adapter_config.json'), '{}');
      const { events } = await runWorker([
        { type: 'load', id: 'a', model: dir },
        { type: 'load', id: 'b', model: path.join(dir, 'missing') },
        { type: 'load', id: 'c', model: path.join(dir, 'model.bin') },
        { type: 'load', id: 'd', model: adapterOnly },
      ]);
      assert.match(errorFor(events, 'a', 'unknown_format').message, /no config\.json.*model\.bin/);
      errorFor(events, 'b', 'model_not_found');
      assert.match(errorFor(events, 'c', 'unknown_format').message, /is a file/);
      assert.match(errorFor(events, 'd', 'unknown_format').hint, /base model.*adapter/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a cancel for an unknown or finished request is a no-op', async () => {
    const { events } = await runWorker([
      { type: 'cancel', id: 'nothing-like-it' },
      { type: 'unload', id: 'u1' },
      { type: 'unload', id: 'u2' },
      { type: 'cancel', id: 'u1' },
    ]);
    const answered = events.filter((e) => e.type === 'unloaded').map((e) => (e as { id: string }).id);
    assert.deepEqual(answered, ['u1', 'u2']);
    assert.ok(!events.some((e) => e.type === 'error'), JSON.stringify(events));
  });

  it('shutdown answers queued requests and exits 0', async () => {
    const { events, code } = await runWorker([
      { type: 'shutdown' },
      { type: 'unload', id: 'late' },
    ]);
    assert.equal(code, 0);
    // The request after shutdown is refused, not dropped (unless the worker had already gone).
    const late = events.find((e) => e.type === 'error' && e.id === 'late');
    if (late) assert.equal((late as { code: string }).code, 'shutting_down');
  });
});
