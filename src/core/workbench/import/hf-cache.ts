// What the Hugging Face caches on this machine hold, to pick from: the datasets library's
// cache (<cache>/datasets/<name>/<config>/<version>/<hash>/<builder>-<split>[-NNNNN-of-NNNNN].arrow
// with dataset_info.json beside it) and the hub's download cache
// (<cache>/hub/datasets--<owner>--<name>/snapshots/<revision>/**/*.parquet). Each entry is one
// split of one dataset (its shards together), with its row count.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { countArrowRows } from './arrow';
import { parquetInfo } from './parquet';

export interface HfCacheEntry {
  /** "owner/name" (hub) or the datasets cache folder name ("stanfordnlp___imdb" shown as "stanfordnlp/imdb"). */
  dataset: string;
  config: string;
  split: string;
  format: 'arrow' | 'parquet';
  /** The shards, in order. */
  files: string[];
  rows: number;
  bytes: number;
}

export interface HfCacheRoots {
  datasets: string;
  hub: string;
}

/** The cache folders, as the Hugging Face libraries resolve them (HF_DATASETS_CACHE, HF_HUB_CACHE, HF_HOME). */
export function defaultHfCacheRoots(env: NodeJS.ProcessEnv = process.env): HfCacheRoots {
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  return { datasets: env.HF_DATASETS_CACHE ?? path.join(home, 'datasets'), hub: env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? path.join(home, 'hub') };
}

function walk(dir: string, accept: (file: string) => boolean, out: string[] = [], depth = 0): string[] {
  if (depth > 8 || !existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && !e.name.startsWith('.')) walk(p, accept, out, depth + 1);
    else if ((e.isFile() || e.isSymbolicLink()) && accept(p)) out.push(p);
  }
  return out;
}

const SHARD = /-(\d{5})-of-(\d{5})$/;
const SPLIT_NAMES = /^(train|test|validation|valid|dev|eval|evaluation)\b/i;

async function datasetsCacheEntries(root: string): Promise<HfCacheEntry[]> {
  const groups = new Map<string, HfCacheEntry>();
  for (const file of walk(root, (f) => f.endsWith('.arrow') && !path.basename(f).startsWith('cache-')).sort()) {
    const rel = path.relative(root, file).split(path.sep);
    if (rel.length < 5) continue; // <name>/<config>/<version>/<hash>/<file>
    const stem = path.basename(file, '.arrow').replace(SHARD, '');
    const dash = stem.lastIndexOf('-');
    const split = dash >= 0 ? stem.slice(dash + 1) : stem;
    const dir = path.dirname(file);
    const key = `${dir}\0${split}`;
    const entry = groups.get(key) ?? { dataset: rel[0].replace('___', '/'), config: rel[1], split, format: 'arrow' as const, files: [], rows: -1, bytes: 0 };
    entry.files.push(file);
    entry.bytes += statSync(file).size;
    groups.set(key, entry);
  }
  for (const entry of groups.values()) {
    const info = path.join(path.dirname(entry.files[0]), 'dataset_info.json');
    let rows: number | undefined;
    try {
      rows = (JSON.parse(readFileSync(info, 'utf8')) as { splits?: Record<string, { num_examples?: number }> }).splits?.[entry.split]?.num_examples;
    } catch { /* no dataset_info.json: count below */ }
    if (rows === undefined) {
      rows = 0;
      for (const f of entry.files) rows += await countArrowRows(f);
    }
    entry.rows = rows;
  }
  return [...groups.values()];
}

/** The split of a hub Parquet file: "train-00000-of-00002.parquet", "data/test-*.parquet" or "<config>/validation/0000.parquet". */
function hubSplit(relParts: string[]): { config: string; split: string } {
  const stem = relParts[relParts.length - 1].replace(/\.parquet$/, '');
  const dirs = relParts.slice(0, -1);
  const byName = SPLIT_NAMES.exec(stem);
  if (byName) return { config: dirs.filter((d) => d !== 'data').join('/') || 'default', split: stem.replace(SHARD, '').replace(/-\d+$/, '') };
  const last = dirs[dirs.length - 1];
  if (last && SPLIT_NAMES.test(last)) return { config: dirs.slice(0, -1).join('/') || 'default', split: last };
  return { config: dirs.join('/') || 'default', split: stem.replace(SHARD, '') };
}

async function hubEntries(root: string): Promise<HfCacheEntry[]> {
  if (!existsSync(root)) return [];
  const groups = new Map<string, HfCacheEntry>();
  for (const repo of readdirSync(root).filter((d) => d.startsWith('datasets--')).sort()) {
    const dataset = repo.slice('datasets--'.length).replace('--', '/');
    const snapshots = path.join(root, repo, 'snapshots');
    for (const file of walk(snapshots, (f) => f.endsWith('.parquet')).sort()) {
      const rel = path.relative(snapshots, file).split(path.sep).slice(1); // drop the revision
      const { config, split } = hubSplit(rel);
      const key = `${repo}\0${config}\0${split}`;
      const info = await parquetInfo(file);
      const entry = groups.get(key) ?? { dataset, config, split, format: 'parquet' as const, files: [], rows: 0, bytes: 0 };
      entry.files.push(file);
      entry.rows += info.rows;
      entry.bytes += statSync(file).size;
      groups.set(key, entry);
    }
  }
  return [...groups.values()];
}

/** Every split cached on this machine, datasets cache first, then the hub cache. */
export async function listHfCache(roots: HfCacheRoots = defaultHfCacheRoots()): Promise<HfCacheEntry[]> {
  return [...(await datasetsCacheEntries(roots.datasets)), ...(await hubEntries(roots.hub))];
}
