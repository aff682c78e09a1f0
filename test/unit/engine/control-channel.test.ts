// Where a run's control channel lives (control-channel.ts) and how events.jsonl is followed
// (file-tail.ts): the socket in the run folder when its path fits sockaddr_un, else in a private
// folder under a hash; a named pipe on Windows; every complete line once, a partial one held.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { controlAddress, maxSocketPathBytes, privateSocketDir } from '../../../src/core/engine/control-channel';
import { FileTail, trimPartialLine } from '../../../src/core/engine/file-tail';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-ctl-'));

test('the socket is in the run folder when its path fits, else in a private folder under a hash', () => {
  const root = tmp();
  const short = path.join(root, 'runs', '20260101-120000');
  assert.equal(controlAddress(short, 'linux'), path.join(short, 'control.sock'));
  const deep = path.join(root, 'x'.repeat(120), 'runs', '20260101-120000');
  const env = { XDG_RUNTIME_DIR: path.join(root, 'xdg') };
  fs.mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 });
  const a = controlAddress(deep, 'linux', env);
  assert.match(a, new RegExp(`^${env.XDG_RUNTIME_DIR}/tuner/[0-9a-f]{24}\\.sock$`));
  assert.ok(Buffer.byteLength(a) <= maxSocketPathBytes('linux'));
  assert.equal(fs.statSync(path.dirname(a)).mode & 0o777, 0o700);
  assert.equal(controlAddress(deep, 'linux', env), a, 'the same run folder always has the same address');
  assert.notEqual(controlAddress(deep + '-2', 'linux', env), a);
  // macOS's sockaddr_un is shorter: a path of 105 bytes fits Linux only.
  const edge = path.join(root, 'y'.repeat(105 - root.length - 1 - 'control.sock'.length - 1));
  assert.equal(Buffer.byteLength(path.join(edge, 'control.sock')), 105);
  assert.equal(controlAddress(edge, 'linux', env), path.join(edge, 'control.sock'));
  assert.notEqual(controlAddress(edge, 'darwin', env), path.join(edge, 'control.sock'));
  assert.match(controlAddress(short, 'win32'), /^\\\\\.\\pipe\\tuner-[0-9a-f]{24}$/);
});

test('a private socket folder that others can open, or that is a link, is refused', () => {
  const root = tmp();
  const xdg = path.join(root, 'xdg');
  fs.mkdirSync(path.join(xdg, 'tuner'), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.join(xdg, 'tuner'), 0o755);
  assert.throws(() => privateSocketDir({ XDG_RUNTIME_DIR: xdg }), /mode 0700/);
  const other = path.join(root, 'other');
  fs.mkdirSync(path.join(other), { recursive: true });
  fs.mkdirSync(path.join(root, 'elsewhere'), { mode: 0o700 });
  fs.symlinkSync(path.join(root, 'elsewhere'), path.join(other, 'tuner'));
  assert.throws(() => privateSocketDir({ XDG_RUNTIME_DIR: other }), /mode 0700/);
});

test('a tail delivers each complete line once, holds a partial one, and continues from an offset', () => {
  const file = path.join(tmp(), 'events.jsonl');
  const seen: string[] = [];
  const tail = new FileTail(file, 0, (lines) => seen.push(...lines));
  assert.equal(tail.read(), 0, 'no file yet');
  fs.writeFileSync(file, 'a\nb\nc');
  tail.read();
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(tail.position, 4, 'the partial line is not counted as read');
  fs.appendFileSync(file, 'c\nd\n');
  tail.read();
  tail.read();
  assert.deepEqual(seen, ['a', 'b', 'cc', 'd']);
  const later: string[] = [];
  new FileTail(file, tail.position, (lines) => later.push(...lines)).read();
  assert.equal(later.length, 0, 'nothing new after the position');
  fs.appendFileSync(file, 'e\n');
  new FileTail(file, tail.position, (lines) => later.push(...lines)).read();
  assert.deepEqual(later, ['e']);
});

test('a line cut short at the end of events.jsonl is removed before another trainer appends', () => {
  const file = path.join(tmp(), 'events.jsonl');
  fs.writeFileSync(file, '{"a":1}\n{"b":');
  assert.deepEqual(trimPartialLine(file), { size: 8, removed: '{"b":' });
  assert.equal(fs.readFileSync(file, 'utf8'), '{"a":1}\n');
  assert.deepEqual(trimPartialLine(file), { size: 8, removed: '' });
  assert.deepEqual(trimPartialLine(path.join(path.dirname(file), 'none')), { size: 0, removed: '' });
});
