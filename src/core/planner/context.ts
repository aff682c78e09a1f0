// What the planner knows about this workspace besides the goal: local models (with their shape
// read from config.json) and the dataset (format, records, token lengths). Both tools of the LLM
// loop and the rule planner read them through these functions.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectRecordFormat, toConversation, type FormatId } from '../dataset/formats';
import { lintFile } from '../dataset/stream-lint';
import { listCachedModels, resolveModelDir } from '../model/discover';
import { parameterCount, readModelSpec, type ModelSpec } from '../model/spec';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { lengthHistogram, type LengthBucket } from './lengths';

export interface LocalModel {
  /** What goes in ARGS.json "model": a path relative to the workspace, or a hub id. */
  ref: string;
  dir: string;
  spec: ModelSpec;
  params: number;
}

export interface DatasetInfo {
  /** As written in ARGS.json (relative to the ARGS.json folder). */
  ref: string;
  file: string;
  format: FormatId | 'mixed' | 'unknown';
  records: number;
  errors: number;
  warnings: number;
  tokens: {
    mean: number;
    p95: number;
    max: number;
    sampled: number;
    counter: 'tokenizer' | 'characters / 4';
    /** Cumulative record counts of the sample by length (lengths.ts), for what a max_length cuts. */
    histogram?: LengthBucket[];
  };
}

function modelAt(ref: string, dir: string): LocalModel | undefined {
  try {
    const spec = readModelSpec(dir);
    return { ref, dir, spec, params: parameterCount(spec) };
  } catch {
    return undefined;
  }
}

/** "./a/b" for a path under the workspace, with forward slashes as ARGS.json writes them. */
function relativeRef(workspaceDir: string, p: string): string {
  return './' + path.relative(workspaceDir, p).split(path.sep).join('/');
}

/**
 * Visits the workspace's folders down to `maxDepth` levels below the root, skipping hidden
 * folders and `skip`; `visit` returns false to stop descending below a folder. Unreadable
 * folders are passed over.
 */
function walkWorkspace(root: string, maxDepth: number, skip: readonly string[], visit: (dir: string, entries: fs.Dirent[], depth: number) => boolean): void {
  const walk = (dir: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (!visit(dir, entries, depth) || depth >= maxDepth) return;
    for (const e of entries) {
      if (e.isDirectory() && !e.name.startsWith('.') && !skip.includes(e.name)) walk(path.join(dir, e.name), depth + 1);
    }
  };
  walk(root, 0);
}

/** Model folders in the workspace (up to two levels deep, config.json present) and the hub cache. */
export function listLocalModels(workspaceDir: string, cacheDir?: string): LocalModel[] {
  const out: LocalModel[] = [];
  walkWorkspace(workspaceDir, 3, ['node_modules', 'output'], (dir, entries, depth) => {
    if (depth > 0 && entries.some((e) => e.isFile() && e.name === 'config.json')) {
      const m = modelAt(relativeRef(workspaceDir, dir), dir);
      if (m) out.push(m);
      return false;
    }
    return true;
  });
  for (const c of listCachedModels(cacheDir)) {
    const m = modelAt(c.id, c.dir);
    if (m) out.push(m);
  }
  return out;
}

/** The model an ARGS "model" value names, if it can be found on this machine. */
export function findModel(ref: string, baseDir: string, known: LocalModel[], cacheDir?: string): LocalModel | undefined {
  const norm = (r: string) => r.replace(/^\.\//, '').replace(/\/$/, '');
  const hit = known.find((m) => norm(m.ref) === norm(ref) || m.dir === path.resolve(baseDir, ref));
  if (hit) return hit;
  try {
    return modelAt(ref, resolveModelDir(ref, baseDir, cacheDir));
  } catch {
    return undefined;
  }
}

function recordText(record: unknown, format: FormatId | undefined): string {
  if (!format || typeof record !== 'object' || record === null) return JSON.stringify(record);
  const conv = toConversation(record, format);
  return conv ? conv.turns.map((t) => t.content).join('\n') : JSON.stringify(record);
}

/**
 * Format, record count and problems come from the linter; token lengths from a sample of up to
 * `sample` records, counted with the model's tokenizer when there is one.
 */
export function inspectDataset(file: string, ref: string, tokenizerDir?: string, sample = 2000): DatasetInfo {
  const lint = lintFile(file);
  let tok: ModelTokenizer | undefined;
  if (tokenizerDir) {
    try {
      tok = loadTokenizer(tokenizerDir);
    } catch {
      tok = undefined;
    }
  }
  const lengths: number[] = [];
  const text = fs.readFileSync(file, 'utf8');
  for (const line of text.split('\n')) {
    if (lengths.length >= sample) break;
    if (!line.trim()) continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    const fmt = typeof record === 'object' && record !== null ? detectRecordFormat(record as Record<string, unknown>) : undefined;
    const s = recordText(record, fmt);
    lengths.push(tok ? tok.encode(s).length + 8 : Math.ceil(s.length / 4) + 8);
  }
  lengths.sort((a, b) => a - b);
  const mean = lengths.length ? Math.round(lengths.reduce((a, b) => a + b, 0) / lengths.length) : 0;
  return {
    ref,
    file,
    format: lint.format,
    records: lint.records,
    errors: lint.problems.filter((p) => p.severity === 'error').length,
    warnings: lint.problems.filter((p) => p.severity === 'warning').length,
    tokens: {
      mean,
      p95: lengths.length ? lengths[Math.min(lengths.length - 1, Math.floor(lengths.length * 0.95))] : 0,
      max: lengths.length ? lengths[lengths.length - 1] : 0,
      sampled: lengths.length,
      counter: tok ? 'tokenizer' : 'characters / 4',
      histogram: lengthHistogram(lengths),
    },
  };
}

/** JSON lines files in the workspace that could be training data (shallow, skips output folders). */
export function listDatasets(workspaceDir: string): string[] {
  const out: string[] = [];
  walkWorkspace(workspaceDir, 2, ['node_modules', 'output', 'runs'], (dir, entries) => {
    for (const e of entries) if (e.isFile() && e.name.endsWith('.jsonl')) out.push(relativeRef(workspaceDir, path.join(dir, e.name)));
    return true;
  });
  return out.sort();
}
