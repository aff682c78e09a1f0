// Malicious workspaces for the security suite: a workspace folder (what a cloned repository
// holds) beside an "outside" folder of the user's that nothing Tuner does for the workspace may
// read, change or delete. The outside folder holds canary files whose presence and content the
// tests check after each attack.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Arena {
  /** Parent of both, removed by dispose(). */
  root: string;
  /** The workspace folder (the attacker's repository). */
  ws: string;
  /** The user's folder outside the workspace. */
  outside: string;
  /** A secret the outside folder holds, which must never appear in shards, messages or requests. */
  secret: string;
  /** Whether every canary file under `outside` is still there with its content. */
  outsideIntact(): boolean;
  dispose(): void;
}

export const SECRET_TEXT = 'outside-secret-7f3a9c';

export function makeArena(prefix = 'tuner-sec-'): Arena {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  const ws = path.join(root, 'ws');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(ws);
  const canaries: [string, string][] = [
    ['keep.txt', 'precious'],
    ['data/keep.txt', 'precious'],
    ['data/train/keep.txt', 'precious'],
    ['secret.jsonl', JSON.stringify({ input: SECRET_TEXT, output: SECRET_TEXT }) + '\n'],
    ['secret.jinja', `${SECRET_TEXT} {% for m in messages %}{{ m.content }}{% endfor %}`],
    ['nested/deeper/keep.txt', 'precious'],
  ];
  for (const [rel, text] of canaries) {
    fs.mkdirSync(path.dirname(path.join(outside, rel)), { recursive: true });
    fs.writeFileSync(path.join(outside, rel), text);
  }
  return {
    root,
    ws,
    outside,
    secret: SECRET_TEXT,
    outsideIntact: () => canaries.every(([rel, text]) => {
      try {
        return fs.readFileSync(path.join(outside, rel), 'utf8') === text;
      } catch {
        return false;
      }
    }),
    dispose: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Every file under `dir` (not following links), as text, for "the secret never got here" checks. */
export function allText(dir: string): string {
  if (!fs.existsSync(dir)) return '';
  let out = '';
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(entry.parentPath, entry.name);
    if (entry.isFile()) out += fs.readFileSync(p).toString('latin1');
  }
  return out;
}
