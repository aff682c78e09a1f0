// The trainer's Windows control channel (native/src/protocol/control_server_win.cpp, a named
// pipe) compiled here with MinGW-w64, as a Windows build would compile it: warnings are errors,
// and the object must call CreateNamedPipeW and ConnectNamedPipe, so the file's Windows half was
// compiled, not left out by its #ifdef _WIN32. The cross compiler is Debian's
// g++-mingw-w64-x86-64-posix (the posix thread model: the server runs in a std::thread), which
// the test installs itself when run as root and otherwise names the apt-get command for.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { ensureDebianPackages } from '../ensure-debian-packages';
import { REPO_ROOT } from './native-tools';

const PACKAGE = 'g++-mingw-w64-x86-64-posix';
const CXX = 'x86_64-w64-mingw32-g++-posix';
const NM = 'x86_64-w64-mingw32-nm';
const NATIVE = path.join(REPO_ROOT, 'native');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

describe('the Windows control channel', { skip: process.platform === 'win32' && 'a Windows build compiles it natively' }, () => {
  before(() => ensureDebianPackages([PACKAGE]));

  it('compiles with MinGW-w64 without a warning, its named-pipe server included', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-control-win-'));
    try {
      const symbols: string[] = [];
      for (const source of ['control_server_win.cpp', 'control_lines.cpp']) {
        const object = path.join(out, source.replace(/\.cpp$/, '.o'));
        run(CXX, ['-std=c++17', '-O0', '-Wall', '-Wextra', '-Werror', '-Wno-unused-parameter', '-I', path.join(NATIVE, 'include'), '-I', path.join(NATIVE, 'src'), '-c', path.join(NATIVE, 'src', 'protocol', source), '-o', object]);
        symbols.push(...run(NM, ['--undefined-only', object]).split('\n'));
      }
      for (const call of ['CreateNamedPipeW', 'ConnectNamedPipe']) {
        assert.ok(symbols.some((s) => s.includes(call)), `the object calls ${call}`);
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
