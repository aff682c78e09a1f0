// ARGS.json's output_dir: where a finished run's result is put for the user. The trainer writes
// into the run's own folder (runs/<id>/: checkpoints/, adapter/ or model/), which resume, the
// runs view and the playground rely on; when the run completes, its final adapter/ (LoRA) or
// model/ (full) is copied to <output_dir>/adapter or <output_dir>/model, replacing only a folder
// an earlier run published there (it holds OUTPUT_MARKER). Hard links are used where the file
// system allows, so a full model is not stored twice.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readArgsFile } from './resolve';
import { isInside, realPathOf } from '../dataset/prepare-paths';
import * as l10n from '@vscode/l10n';

export const OUTPUT_MARKER = '.tuner-output';

export interface Published {
  /** The folder the result is in now (<output_dir>/adapter or /model). */
  dir: string;
}

/**
 * The output_dir of `argsFile`, as a real path, when it lies inside `workspace` or is one of the
 * confirmed `allowed` paths; undefined (nothing is published) otherwise or when ARGS.json no
 * longer reads.
 */
export function outputTarget(argsFile: string, workspace: string, allowed: readonly string[] = []): string | undefined {
  let outputDir: string;
  try {
    outputDir = readArgsFile(argsFile).output_dir;
  } catch {
    return undefined;
  }
  const real = realPathOf(path.resolve(path.dirname(argsFile), outputDir));
  const ok = isInside(realPathOf(workspace), real) || allowed.map(realPathOf).some((a) => isInside(a, real));
  return ok ? real : undefined;
}

function copyTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) copyTree(src, dst);
    else if (e.isFile()) {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
      }
    }
  }
}

/**
 * Copies the run's final folder (`result`: runs/<id>/adapter or /model) to `outputDir`/<its
 * name>. Throws, naming the folder and the fix, when that place holds something Tuner did not
 * publish; the run's own copy stays either way.
 */
export function publishOutput(result: string, outputDir: string, runId: string): Published {
  const dest = path.join(outputDir, path.basename(result));
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(dest);
  } catch {
    st = undefined;
  }
  if (st && (st.isSymbolicLink() || !st.isDirectory() || !fs.existsSync(path.join(dest, OUTPUT_MARKER)))) {
    throw new Error(l10n.t('{0} exists and was not made by Tuner (no {1} in it), so the run\'s result was not copied there: it is in {2}. Move that folder away, or set "output_dir" in ARGS.json to another folder.', dest, OUTPUT_MARKER, result));
  }
  fs.mkdirSync(outputDir, { recursive: true });
  const tmp = path.join(outputDir, `.tmp-${path.basename(result)}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  copyTree(result, tmp);
  fs.writeFileSync(path.join(tmp, OUTPUT_MARKER), JSON.stringify({ createdBy: 'Tuner', run: runId, from: result }) + '\n');
  if (st) fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  return { dir: dest };
}
