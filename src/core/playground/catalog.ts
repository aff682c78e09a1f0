// What the playground can load, newest first within each group: every run's final adapter (or
// model) and checkpoints with their step and losses, the merged folders Tuner wrote, the model
// folders of the workspace and the Hugging Face cache (as the planner finds them), and folders
// the user picked. Each entry knows its model folder and adapter; one that cannot load (its base
// model is gone, a file is missing) carries the problem instead of failing later in the worker.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { RunPlan } from '../engine/plan';
import type { TrainerEvent } from '../engine/protocol';
import { listCachedModels } from '../model/discover';
import { parameterCount, readModelSpec } from '../model/spec';
import { listLocalModels } from '../planner/context';
import { RUNS_DIR, RunStore, type RunRecord } from '../run/run-store';
import { formatLoss } from './format';
import * as l10n from '@vscode/l10n';

export type CatalogKind = 'model' | 'adapter' | 'checkpoint' | 'merged';

export interface CatalogProblem {
  message: string;
  hint: string;
}

export interface CatalogEntry {
  /** Stable key: the page names entries by it, never by path. */
  id: string;
  kind: CatalogKind;
  label: string;
  /** One line: step, losses, size. */
  description: string;
  group: string;
  modelDir: string;
  adapterDir?: string;
  runId?: string;
  step?: number;
  loss?: number;
  evalLoss?: number;
  /** Parameters of the model (base parameters for an adapter), when config.json reads. */
  params?: number;
  /** The catalog id of this entry's base model, when it is listed (base vs tuned). */
  baseId?: string;
  problem?: CatalogProblem;
}

export type ExportKind = 'gguf' | 'modelfile' | 'merged';

export interface ExportEntry {
  path: string;
  kind: ExportKind;
  runId?: string;
  bytes: number;
  mtimeMs: number;
}

export interface Catalog {
  entries: CatalogEntry[];
  exports: ExportEntry[];
  /** Runs or folders that could not be read, for the log. */
  problems: string[];
}

/** Where Tuner writes merges and exports: under the run they come from, else the workspace's exports/. */
export const EXPORTS_DIR = 'exports';

export interface CatalogOptions {
  workspaceDir?: string;
  /** Hugging Face hub cache (default: HF_HUB_CACHE / HF_HOME / ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Model folders the user picked by hand. */
  extraModelDirs?: readonly string[];
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function has(dir: string, file: string): boolean {
  return fs.existsSync(path.join(dir, file));
}

function paramsOf(dir: string): number | undefined {
  try {
    return parameterCount(readModelSpec(dir));
  } catch {
    return undefined;
  }
}

function formatParams(n: number | undefined): string {
  if (n === undefined) return '';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B params`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M params`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k params`;
  return `${n} params`;
}

/** Why a model folder cannot load, checked as the worker would (config.json, weights, tokenizer). */
export function modelFolderProblem(dir: string): CatalogProblem | undefined {
  if (!isDir(dir)) return { message: l10n.t('{0} does not exist any more', dir), hint: l10n.t('It was moved or deleted: refresh the list, or pick another model.') };
  if (!has(dir, 'config.json')) return { message: l10n.t('{0} has no config.json', dir), hint: l10n.t('Pick a Hugging Face model folder (config.json, *.safetensors, tokenizer.json).') };
  if (!has(dir, 'model.safetensors') && !has(dir, 'model.safetensors.index.json')) {
    return { message: l10n.t('{0} has no model.safetensors (or model.safetensors.index.json)', dir), hint: l10n.t('Tuner loads safetensors weights; convert a PyTorch .bin checkpoint with transformers\' save_pretrained(safe_serialization=True).') };
  }
  if (!has(dir, 'tokenizer.json')) {
    return { message: l10n.t('{0} has no tokenizer.json', dir), hint: l10n.t('Copy tokenizer.json and tokenizer_config.json from the model these weights come from.') };
  }
  return undefined;
}

/** Why an adapter on `baseDir` cannot load, or undefined. */
export function adapterProblem(adapterDir: string, baseDir: string): CatalogProblem | undefined {
  if (!isDir(adapterDir)) return { message: l10n.t('{0} does not exist any more (deleted checkpoint?)', adapterDir), hint: l10n.t('Refresh the list and pick another checkpoint.') };
  if (!has(adapterDir, 'adapter_config.json') || !has(adapterDir, 'adapter_model.safetensors')) {
    return { message: l10n.t('{0} is not a complete PEFT adapter (adapter_config.json + adapter_model.safetensors)', adapterDir), hint: l10n.t('The checkpoint was damaged; pick another one.') };
  }
  if (!isDir(baseDir)) {
    return { message: l10n.t('the base model of this adapter, {0}, is missing', baseDir), hint: l10n.t('Put the base model folder back where the run found it (see the run\'s plan.json "model_dir"), or pick a merged model.') };
  }
  const base = modelFolderProblem(baseDir);
  return base && { message: l10n.t('base model: {0}', base.message), hint: base.hint };
}

interface RunFacts {
  lossAt: Map<number, number>;
  evals: { step: number; loss: number }[];
}

function runFacts(events: TrainerEvent[]): RunFacts {
  const lossAt = new Map<number, number>();
  const evals: { step: number; loss: number }[] = [];
  for (const e of events) {
    if (e.type === 'step') lossAt.set(e.step, e.loss);
    else if (e.type === 'eval') evals.push({ step: e.step, loss: e.loss });
  }
  return { lossAt, evals };
}

/** The eval loss a checkpoint at `step` was measured with: the last eval at or before it. */
function evalLossAt(facts: RunFacts, step: number): number | undefined {
  let best: { step: number; loss: number } | undefined;
  for (const e of facts.evals) if (e.step <= step && (!best || e.step >= best.step)) best = e;
  return best?.loss;
}

function describe(step: number | undefined, loss: number | undefined, evalLoss: number | undefined): string {
  const parts: string[] = [];
  if (step !== undefined) parts.push(`step ${step}`);
  if (loss !== undefined) parts.push(`loss ${formatLoss(loss)}`);
  if (evalLoss !== undefined) parts.push(l10n.t('eval loss {0}', formatLoss(evalLoss)));
  return parts.join(' · ');
}

const STEP_DIR = /^step-(\d{8})$/;

function runEntries(rec: RunRecord, out: CatalogEntry[], exportsOut: ExportEntry[]): void {
  const plan: RunPlan = rec.plan();
  const baseDir = path.resolve(rec.dir, plan.model_dir);
  const events = rec.events();
  const facts = runFacts(events);
  const group = l10n.t('Run {0}', rec.id);
  const params = paramsOf(baseDir);
  const lora = plan.method === 'lora' || plan.method === 'qlora';
  const add = (label: string, dir: string, step: number | undefined, kind: CatalogKind) => {
    const loss = step !== undefined ? facts.lossAt.get(step) : undefined;
    const evalLoss = step !== undefined ? evalLossAt(facts, step) : undefined;
    const entry: CatalogEntry = {
      id: `${lora ? 'adapter' : 'model'}:${dir}`,
      kind,
      label,
      description: describe(step, loss, evalLoss),
      group,
      modelDir: lora ? baseDir : dir,
      adapterDir: lora ? dir : undefined,
      runId: rec.id,
      step,
      loss,
      evalLoss,
      params,
      problem: lora ? adapterProblem(dir, baseDir) : modelFolderProblem(dir),
    };
    out.push(entry);
  };
  const done = [...events].reverse().find((e) => e.type === 'done');
  const final = path.join(rec.dir, lora ? 'adapter' : 'model');
  if (isDir(final)) add(lora ? l10n.t('final adapter') : l10n.t('final model'), final, done?.step, 'adapter');
  const ckDir = path.join(rec.dir, 'checkpoints');
  const steps = isDir(ckDir)
    ? fs.readdirSync(ckDir).flatMap((n) => {
        const m = STEP_DIR.exec(n);
        return m ? [{ name: n, step: Number(m[1]) }] : [];
      })
    : [];
  steps.sort((a, b) => b.step - a.step);
  for (const s of steps) add(l10n.t('checkpoint step {0}', s.step), path.join(ckDir, s.name), s.step, 'checkpoint');
  listExports(path.join(rec.dir, EXPORTS_DIR), rec.id, out, exportsOut, group);
}

/** Merged folders (loadable) and GGUF / Modelfile exports under an exports/ folder. */
function listExports(dir: string, runId: string | undefined, out: CatalogEntry[], exportsOut: ExportEntry[], group: string): void {
  if (!isDir(dir)) return;
  const found: { name: string; full: string; mtimeMs: number }[] = [];
  for (const name of fs.readdirSync(dir)) {
    const full = path.join(dir, name);
    try {
      found.push({ name, full, mtimeMs: fs.statSync(full).mtimeMs });
    } catch {
      // removed while listing
    }
  }
  found.sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const f of found) {
    if (isDir(f.full)) {
      if (has(f.full, 'config.json')) {
        out.push({ id: `model:${f.full}`, kind: 'merged', label: `merged: ${f.name}`, description: formatParams(paramsOf(f.full)), group, modelDir: f.full, runId, params: paramsOf(f.full), problem: modelFolderProblem(f.full) });
        exportsOut.push({ path: f.full, kind: 'merged', runId, bytes: folderBytes(f.full), mtimeMs: f.mtimeMs });
      } else {
        // An Ollama export: the GGUF and its Modelfile in one folder.
        for (const inner of fs.readdirSync(f.full)) addFileExport(path.join(f.full, inner), runId, exportsOut);
      }
    } else {
      addFileExport(f.full, runId, exportsOut);
    }
  }
}

function addFileExport(file: string, runId: string | undefined, exportsOut: ExportEntry[]): void {
  const kind: ExportKind | undefined = file.endsWith('.gguf') ? 'gguf' : path.basename(file) === 'Modelfile' ? 'modelfile' : undefined;
  if (!kind) return;
  try {
    const st = fs.statSync(file);
    exportsOut.push({ path: file, kind, runId, bytes: st.size, mtimeMs: st.mtimeMs });
  } catch {
    // removed while listing
  }
}

function folderBytes(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) {
    try {
      n += fs.statSync(path.join(dir, f)).size;
    } catch {
      // removed while listing
    }
  }
  return n;
}

/** One run's adapters, checkpoints, merged folders and exports (for the runs view), newest first. */
export function runCatalog(rec: RunRecord): { entries: CatalogEntry[]; exports: ExportEntry[] } {
  const entries: CatalogEntry[] = [];
  const exported: ExportEntry[] = [];
  runEntries(rec, entries, exported);
  return { entries, exports: exported };
}

/** Everything the playground offers, built fresh (the disk is the truth: runs come and go). */
export function buildCatalog(o: CatalogOptions): Catalog {
  const entries: CatalogEntry[] = [];
  // Not `exports`: compiled to CommonJS, that name would hide the module's own exports.
  const exported: ExportEntry[] = [];
  const problems: string[] = [];
  if (o.workspaceDir) {
    const store = RunStore.forWorkspace(o.workspaceDir);
    const listed = store.list();
    problems.push(...listed.problems);
    for (const r of listed.runs) {
      try {
        runEntries(store.open(r.meta.id), entries, exported);
      } catch (e) {
        problems.push(`run ${r.meta.id}: ${(e as Error).message}`);
      }
    }
    listExports(path.join(o.workspaceDir, EXPORTS_DIR), undefined, entries, exported, l10n.t('Merged and exported'));
  }
  const runsRoot = o.workspaceDir ? path.join(o.workspaceDir, RUNS_DIR) + path.sep : undefined;
  const seen = new Set(entries.map((e) => e.id));
  const addModel = (dir: string, label: string, group: string, params?: number) => {
    const id = `model:${dir}`;
    if (seen.has(id)) return;
    seen.add(id);
    entries.push({ id, kind: 'model', label, description: formatParams(params), group, modelDir: dir, params, problem: modelFolderProblem(dir) });
  };
  for (const d of o.extraModelDirs ?? []) addModel(path.resolve(d), path.basename(d), l10n.t('Picked folders'), paramsOf(d));
  const local = o.workspaceDir
    ? listLocalModels(o.workspaceDir, o.cacheDir)
    : listCachedModels(o.cacheDir).map((c) => ({ ref: c.id, dir: c.dir, params: paramsOf(c.dir) }));
  for (const m of local) {
    if (runsRoot && m.dir.startsWith(runsRoot)) continue; // listed with its run
    if (o.workspaceDir && m.dir.startsWith(path.join(o.workspaceDir, EXPORTS_DIR) + path.sep)) continue;
    addModel(m.dir, m.ref.startsWith('./') ? m.ref.slice(2) : m.ref, m.ref.startsWith('./') ? l10n.t('Workspace models') : l10n.t('Hugging Face cache'), m.params);
  }
  // A run's base model is offered even when it lives outside the workspace and the cache.
  for (const e of [...entries]) if (e.adapterDir && isDir(e.modelDir)) addModel(e.modelDir, path.basename(e.modelDir), l10n.t('Base models of runs'), e.params);
  // Adapters name their base: base vs tuned side by side starts from it.
  const byDir = new Map(entries.filter((e) => !e.adapterDir).map((e) => [e.modelDir, e.id]));
  for (const e of entries) if (e.adapterDir) e.baseId = byDir.get(e.modelDir);
  return { entries, exports: exported, problems };
}
