// The engine's executables and the PyTorch reference scripts as the native tests run them:
// tools found in the developer's build ($TUNER_NATIVE_BUILD_DIR) or build/native, scripts of
// test/native/reference/ run with Debian's python (which has torch).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const REFERENCE_DIR = path.join(REPO_ROOT, 'test', 'native', 'reference');
/** Debian's interpreter, which has torch and numpy (the PATH python may not). */
export const PYTHON = process.env.TUNER_PYTHON ?? '/usr/bin/python3';

/** A native executable (tuner-check, tuner-generate, tuner-export, …) of the build under test. */
export function findTool(name: string): string {
  const dirs = [
    ...(process.env.TUNER_NATIVE_BUILD_DIR ? [path.resolve(process.env.TUNER_NATIVE_BUILD_DIR)] : []),
    path.join(REPO_ROOT, 'build', 'native'),
    path.join(REPO_ROOT, 'build', 'native', 'Release'),
  ];
  const found = dirs.map((d) => path.join(d, name)).find((p) => fs.existsSync(p));
  if (!found) throw new Error(`${name} not found in ${dirs.join(', ')}; run npm run build:native or set TUNER_NATIVE_BUILD_DIR`);
  return found;
}

/** Runs `cmd` to its end; `env` adds to this process's environment. */
export function runTool(cmd: string, args: string[], o: { env?: Record<string, string>; timeoutMs?: number } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: o.timeoutMs ?? 300_000, maxBuffer: 256 << 20, env: { ...process.env, ...o.env } });
  if (r.error) throw r.error;
  return r;
}

/** Runs a script of test/native/reference/ and returns its stdout; fails the test with its stderr. */
export function referencePython(script: string, args: string[]): string {
  const r = runTool(PYTHON, [path.join(REFERENCE_DIR, script), ...args]);
  assert.equal(r.status, 0, `${script} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** A deterministic tuner-check batch (batch.json) with masked (prompt) positions, like the trainer's shards produce. */
export function writeBatch(file: string, B: number, T: number, vocab: number, seed: number): void {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const tokens: number[] = [];
  const targets: number[] = [];
  const mask: number[] = [];
  for (let b = 0; b < B; b++) {
    const promptLen = 1 + Math.floor(rnd() * (T / 2));
    for (let t = 0; t < T; t++) {
      tokens.push(Math.floor(rnd() * vocab));
      targets.push(Math.floor(rnd() * vocab));
      mask.push(t >= promptLen ? 1 : 0);
    }
  }
  fs.writeFileSync(file, JSON.stringify({ B, T, tokens, targets, loss_mask: mask }));
}

/**
 * The largest difference between a generation's per-step logits (ours, [steps * V]) and the
 * reference's ([steps][V]), relative to the largest reference logit.
 */
export function logitsRelError(ours: Float32Array, ref: number[][]): number {
  const V = ref[0].length;
  let err = 0;
  let scale = 0;
  for (let s = 0; s < ref.length; s++)
    for (let v = 0; v < V; v++) {
      err = Math.max(err, Math.abs(ours[s * V + v] - ref[s][v]));
      scale = Math.max(scale, Math.abs(ref[s][v]));
    }
  return err / scale;
}
