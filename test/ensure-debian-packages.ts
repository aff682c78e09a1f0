// The Debian packages a test file needs, asked for from its before() hook through the one shared
// script, test/ensure-debian-packages.sh: it installs the missing ones when run as root, and
// otherwise fails the hook with the exact command to run. So a test file run on its own
// (`node --test out/test/native/reference.test.js`) sets itself up as `npm test` does.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'test', 'ensure-debian-packages.sh');

export function ensureDebianPackages(packages: readonly string[]): void {
  const r = spawnSync('bash', [SCRIPT, ...packages], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(r.stderr.trim() || `${SCRIPT} ${packages.join(' ')} exited with ${r.status}`);
  if (r.stderr) process.stderr.write(r.stderr);
}

/**
 * The packages behind the PyTorch reference scripts (test/native/reference, bench), unless
 * TUNER_PYTHON names another interpreter that brings its own torch and numpy.
 */
export function ensurePyTorch(): void {
  if (!process.env.TUNER_PYTHON) ensureDebianPackages(['python3-torch', 'python3-numpy']);
}
