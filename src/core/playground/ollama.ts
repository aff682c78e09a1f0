// Ollama around an export: the Modelfile beside the GGUF, and whether `ollama` is installed
// (then the editor offers to run `ollama create` on the exported folder).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeModelfile } from '../export/modelfile';
import type { ExportPlan } from './export-job';
import * as l10n from '@vscode/l10n';

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

/**
 * Writes the Modelfile of an Ollama export beside its GGUF (src/core/export/modelfile.ts). An
 * adapter does not change the chat template, so the base model folder's is translated.
 */
export function writeOllamaModelfile(plan: ExportPlan): string {
  if (!plan.ollama) throw new Error(l10n.t('{0} is not an Ollama export', plan.out));
  const gguf = path.join(plan.ollama.dir, plan.ollama.gguf);
  writeModelfile(gguf, plan.ollama.modelDir);
  return path.join(plan.ollama.dir, 'Modelfile');
}
