// Which ARGS.json trains on a dataset file: the editor's token preview, the prepare command and
// the linter (for model_name, the replacement of an identity placeholder) all ask the same way.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateArgsText } from './validate';

/** The ARGS.json that trains on `file`: nearest up the tree whose "data" is this file, else the nearest. */
export function findArgsFor(file: string, stopAt: string | undefined): string | undefined {
  let nearest: string | undefined;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'ARGS.json');
    if (fs.existsSync(candidate)) {
      nearest ??= candidate;
      try {
        const v = validateArgsText(fs.readFileSync(candidate, 'utf8')).value;
        if (typeof v?.data === 'string' && path.resolve(dir, v.data) === file) return candidate;
      } catch {
        // unreadable ARGS.json: keep looking
      }
    }
    if (dir === stopAt || path.dirname(dir) === dir) return nearest;
  }
}

/** model_name of the ARGS.json that trains on `file` (findArgsFor), when it sets one. */
export function modelNameFor(file: string, stopAt: string | undefined): string | undefined {
  const args = findArgsFor(file, stopAt);
  if (!args) return undefined;
  try {
    const name = validateArgsText(fs.readFileSync(args, 'utf8')).value?.model_name;
    return typeof name === 'string' && name.trim() ? name : undefined;
  } catch {
    return undefined;
  }
}
