// Where preparation may read and write. ARGS.json comes with the workspace, which may be a
// cloned repository, so every path it names (data, eval_data, a chat template file, output_dir)
// must lead inside the workspace once symbolic links and ".." are resolved; a path that leads
// elsewhere is used only when the user has confirmed it (the editor asks, with the list that
// OutsideWorkspaceError carries). The model is the exception: it is only read, must be a
// Hugging Face folder to be read at all, and usually lives in a shared cache.
//
// And preparation removes only what it made: its output folder carries a marker file, and a
// folder without one is never deleted to make room.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedArgs } from '../args/fields';
import * as l10n from '@vscode/l10n';

export type PathField = 'data' | 'eval_data' | 'chat_template' | 'output_dir';

export interface OutsidePath {
  field: PathField;
  /** As ARGS.json gives it. */
  given: string;
  /** Where it really leads (links and ".." resolved). */
  path: string;
}

/** The paths ARGS.json names that lead outside the workspace and were not confirmed. */
export class OutsideWorkspaceError extends Error {
  constructor(
    readonly workspace: string,
    readonly paths: OutsidePath[],
  ) {
    super(l10n.t('ARGS.json names {0} outside the workspace {1}: {2}. Move the files into the workspace, or confirm the location when Tuner asks.', paths.length === 1 ? 'a path' : 'paths', workspace, paths.map((p) => `"${p.field}": ${JSON.stringify(p.given)} (${p.path})`).join('; ')));
    this.name = 'OutsideWorkspaceError';
  }
}

/** Where preparation may go: inside `workspace`, or to one of the `allowed` real paths the user confirmed. */
export interface Confinement {
  workspace: string;
  allowed?: readonly string[];
  /** The fields to check (default: all); the token preview reads only the chat template. */
  fields?: readonly PathField[];
}

/** The real path of `p`; for a path not created yet, the real path of its nearest existing parent plus the rest. */
export function realPathOf(p: string): string {
  const abs = path.resolve(p);
  const rest: string[] = [];
  for (let at = abs; ; at = path.dirname(at)) {
    try {
      return path.join(fs.realpathSync(at), ...rest.reverse());
    } catch {
      if (path.dirname(at) === at) return abs;
      rest.push(path.basename(at));
    }
  }
}

/** Whether real path `p` is `root` or lies under it. */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A chat_template value that names a template file rather than giving inline Jinja. */
export function templateFileOf(chatTemplate: string | null | undefined): string | undefined {
  if (typeof chatTemplate !== 'string') return undefined;
  const t = chatTemplate.trim();
  return /\.(jinja2?|j2|txt)$/i.test(t) && !t.includes('{') ? t : undefined;
}

export interface PreparePaths {
  dataFile: string;
  evalFile?: string;
  templateFile?: string;
  /** The folder the shards go to: `outDir` when the caller chose it, else <output_dir>/data. */
  outDir: string;
}

/**
 * Every path preparation will use, as real paths, and the ones that lead outside the workspace
 * without the user's confirmation. `outDir`, when given, is the caller's own choice (a run
 * folder Tuner made) and is not checked.
 */
export function checkPreparePaths(args: ResolvedArgs, argsFile: string, confine: Confinement, outDir?: string): { paths: PreparePaths; outside: OutsidePath[] } {
  const argsDir = path.dirname(path.resolve(argsFile));
  const workspace = realPathOf(confine.workspace);
  const allowed = new Set((confine.allowed ?? []).map(realPathOf));
  const outside: OutsidePath[] = [];
  const checked = new Set<PathField>(confine.fields ?? ['data', 'eval_data', 'chat_template', 'output_dir']);
  const resolve = (field: PathField, given: string, rel = given): string => {
    const real = realPathOf(path.resolve(argsDir, rel));
    if (checked.has(field) && !isInside(workspace, real) && !allowed.has(real)) outside.push({ field, given, path: real });
    return real;
  };
  const templateFile = templateFileOf(args.chat_template);
  const paths: PreparePaths = {
    dataFile: resolve('data', args.data),
    evalFile: args.eval_data ? resolve('eval_data', args.eval_data) : undefined,
    templateFile: templateFile ? resolve('chat_template', templateFile) : undefined,
    outDir: outDir ?? resolve('output_dir', args.output_dir, path.join(args.output_dir, 'data')),
  };
  return { paths, outside };
}

/** checkPreparePaths, throwing OutsideWorkspaceError when a path leads outside unconfirmed. */
export function confinePreparePaths(args: ResolvedArgs, argsFile: string, confine: Confinement, outDir?: string): PreparePaths {
  const { paths, outside } = checkPreparePaths(args, argsFile, confine, outDir);
  if (outside.length > 0) throw new OutsideWorkspaceError(realPathOf(confine.workspace), outside);
  return paths;
}

/** The file that marks a folder as made by preparation, so that it may be replaced. */
export const PREPARED_MARKER = '.tuner-prepared';

export class NotTunersFolderError extends Error {
  constructor(readonly folder: string, why: string) {
    super(l10n.t('{0} {1}, so Tuner will not replace it: move it away (or set "output_dir" in ARGS.json to another folder) and prepare again.', folder, why));
    this.name = 'NotTunersFolderError';
  }
}

/** Creates `dir` (which must not exist yet, or be one of ours) marked as preparation's own. */
export function makeOwnFolder(dir: string): void {
  removeOwnFolder(dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, PREPARED_MARKER), JSON.stringify({ createdBy: 'Tuner', what: l10n.t('prepared dataset shards') }) + '\n');
}

/**
 * Removes `dir` if preparation made it (it holds PREPARED_MARKER). A link there is removed
 * itself, never followed; a folder without the marker, or anything else, is refused.
 */
export function removeOwnFolder(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return; // nothing there
  }
  if (st.isSymbolicLink()) throw new NotTunersFolderError(dir, l10n.t('is a symbolic link'));
  if (!st.isDirectory()) throw new NotTunersFolderError(dir, l10n.t('is a file, not a folder of prepared shards'));
  const marker = path.join(dir, PREPARED_MARKER);
  let markerStat: fs.Stats | undefined;
  try {
    markerStat = fs.lstatSync(marker);
  } catch {
    markerStat = undefined;
  }
  if (!markerStat?.isFile()) throw new NotTunersFolderError(dir, l10n.t('was not made by Tuner (it has no {0} file)', PREPARED_MARKER));
  fs.rmSync(dir, { recursive: true, force: true });
}
