// The trainer child process sees only the environment it needs: the extension host's holds
// tokens and keys of everything the editor runs with, and variables such as NODE_OPTIONS or
// LD_PRELOAD that change what a process runs. The environment is read from the real
// tuner-train's /proc/<pid>/environ while it waits paused before its first step.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, test } from 'node:test';
import { trainerEnv } from '../../../src/core/engine/trainer-client';
import { RunManager } from '../../../src/core/run/run-manager';
import { RunStore } from '../../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER } from '../../unit/run/tiny-run';
import { makeArena, type Arena } from '../workspaces';

const HOST_ONLY = {
  GITHUB_TOKEN: 'ghp_not-for-the-trainer',
  OPENAI_API_KEY: 'sk-not-for-the-trainer',
  AWS_SECRET_ACCESS_KEY: 'not-for-the-trainer',
  VSCODE_IPC_HOOK: '/tmp/vscode-ipc.sock',
  ELECTRON_RUN_AS_NODE: '1',
  NODE_OPTIONS: '--require /tmp/evil.js',
  LD_PRELOAD: '/tmp/evil.so',
  HF_TOKEN: 'hf_not-for-the-trainer',
};
const NEEDED = { TUNER_CPU_LIMIT: 'generic', TUNER_PROFILE: '0', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TMPDIR: '/tmp', CUDA_VISIBLE_DEVICES: '0' };

let arena: Arena;
before(() => {
  arena = makeArena();
});
after(() => arena.dispose());

test('trainerEnv keeps PATH, HOME, temp, locale, TUNER_* and GPU selection, and drops everything else', () => {
  const env = trainerEnv({ ...HOST_ONLY, ...NEEDED, PATH: '/usr/bin', HOME: '/home/u' });
  assert.deepEqual(Object.keys(env).sort(), [...Object.keys(NEEDED), 'PATH', 'HOME'].sort());
});

test('the real trainer process has none of the host\'s other variables', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const argsFile = makeTinyProject(arena.ws, { args: { max_steps: 4 } });
  const manager = new RunManager(RunStore.forWorkspace(arena.ws), PREPARE_WORKER);
  const { session } = await manager.start(argsFile, { mode: 'lockstep', stopOnEntry: true, env: { ...process.env, ...HOST_ONLY, ...NEEDED } });
  try {
    await new Promise<void>((resolve, reject) => {
      const stop = session.listen({ onStopped: () => (stop(), resolve()), onExit: (x) => reject(new Error(`tuner-train exited: ${x.stderrTail}`)) });
    });
    const environ = fs.readFileSync(`/proc/${session.pid}/environ`, 'utf8').split('\0').filter(Boolean);
    const seen = Object.fromEntries(environ.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    for (const key of Object.keys(HOST_ONLY)) assert.equal(seen[key], undefined, `${key} reached the trainer`);
    for (const [key, value] of Object.entries(NEEDED)) assert.equal(seen[key], value, `${key} should reach the trainer`);
    assert.equal(seen.PATH, process.env.PATH);
    assert.deepEqual(Object.keys(seen).filter((k) => !/^(PATH|HOME|TMPDIR|LANG|LANGUAGE|TZ|LD_LIBRARY_PATH|CUDA_VISIBLE_DEVICES|CUDA_DEVICE_ORDER|TUNER_.*|LC_.*)$/.test(k)), []);
  } finally {
    session.kill('SIGKILL');
    await session.exited;
  }
});
