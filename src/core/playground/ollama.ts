// Ollama around an export: whether `ollama` is installed (then the editor offers to run
// `ollama create` on the exported folder).
import * as fs from 'node:fs';
import * as path from 'node:path';

/** True when an executable `ollama` is on PATH. */
export function ollamaOnPath(env: NodeJS.ProcessEnv = process.env): boolean {
  const names = process.platform === 'win32' ? ['ollama.exe'] : ['ollama'];
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const n of names) {
      try {
        fs.accessSync(path.join(dir, n), fs.constants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}
