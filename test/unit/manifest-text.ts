// package.json as the user reads it: every "%key%" replaced by its English text from
// package.nls.json (VS Code does the same with package.nls.<locale>.json for other languages).
import * as fs from 'node:fs';
import * as path from 'node:path';

export function readManifest<T>(root: string): T {
  const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
  return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'), (_key, value: unknown) => {
    const m = typeof value === 'string' ? /^%([\w.-]+)%$/.exec(value) : null;
    return m && m[1] in nls ? nls[m[1]] : value;
  }) as T;
}
