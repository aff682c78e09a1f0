// Finds a model on this machine: a folder path (absolute, or relative to ARGS.json) or a
// Hugging Face id resolved in the local hub cache (models--org--name/snapshots/<rev>), never
// downloaded. Errors say where Tuner looked and what to do.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';

export class ModelNotFoundError extends Error {}

/** The hub cache folder, honouring HF_HUB_CACHE and HF_HOME as huggingface_hub does. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, 'hub');
  return path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface', 'hub');
}

function isModelFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'));
}

/** The snapshot folder of a cached hub model: refs/main first, else the newest snapshot. */
export function cachedSnapshot(id: string, cacheDir = hubCacheDir()): string | undefined {
  const repo = path.join(cacheDir, `models--${id.replace(/\//g, '--')}`);
  const snapshots = path.join(repo, 'snapshots');
  if (!fs.existsSync(snapshots)) return undefined;
  try {
    const rev = fs.readFileSync(path.join(repo, 'refs', 'main'), 'utf8').trim();
    if (rev && isModelFolder(path.join(snapshots, rev))) return path.join(snapshots, rev);
  } catch {
    // no refs/main: fall back to the newest snapshot
  }
  const revs = fs.readdirSync(snapshots).map((r) => path.join(snapshots, r)).filter(isModelFolder);
  revs.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return revs[0];
}

export function resolveModelDir(model: string, baseDir: string, cacheDir = hubCacheDir()): string {
  const asPath = path.resolve(baseDir, model);
  if (isModelFolder(asPath)) return asPath;
  if (fs.existsSync(asPath) && fs.statSync(asPath).isDirectory()) {
    throw new ModelNotFoundError(l10n.t('model folder {0} has no config.json: point "model" at a Hugging Face model folder (config.json, *.safetensors, tokenizer.json).', asPath));
  }
  if (/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(model)) {
    const snap = cachedSnapshot(model, cacheDir);
    if (snap) return snap;
    throw new ModelNotFoundError(l10n.t('model "{0}" is neither a folder next to ARGS.json nor in the Hugging Face cache ({1}). Download it once (e.g. huggingface-cli download {2}) or set "model" to a local folder.', model, cacheDir, model));
  }
  throw new ModelNotFoundError(l10n.t('model "{0}" not found: no folder {1}. Set "model" to a Hugging Face model folder or a Hugging Face id (org/name) in the local cache.', model, asPath));
}

export interface CachedModel {
  id: string;
  dir: string;
}

/** Every model in the local hub cache, for completion and the planner. */
export function listCachedModels(cacheDir = hubCacheDir()): CachedModel[] {
  if (!fs.existsSync(cacheDir)) return [];
  const out: CachedModel[] = [];
  for (const entry of fs.readdirSync(cacheDir)) {
    if (!entry.startsWith('models--')) continue;
    const id = entry.slice('models--'.length).replace(/--/g, '/');
    const dir = cachedSnapshot(id, cacheDir);
    if (dir) out.push({ id, dir });
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
