// Replacing a whole file so that a reader sees the old text or the new, never half of it.
import * as fs from 'node:fs';

/**
 * Writes `text` to a partial file of this process beside `file` and renames it over `file`: a
 * link in its place is replaced, never followed, and another process writing the same file at
 * the same moment (a second window) has its own partial file, so neither renames the other's away.
 */
export function writeFileAtomic(file: string, text: string): void {
  const partial = `${file}.partial-${process.pid}`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
}
