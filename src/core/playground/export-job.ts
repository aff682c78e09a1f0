// Merge and export from the playground: runs tuner-export through the engine's export client,
// one job per request, and reports its stages, elapsed time and result. Every output
// goes into the workspace (under the run it comes from, else the workspace's exports/), into a
// new name, so nothing existing is ever overwritten; a cancelled or failed job removes what it
// had begun to write.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ExportError, findNativeTool, ggufArgs, mergeArgs, runExportTool, type GgufType as ToolGgufType } from '../engine/export-client';
import type { ExportJobStatus } from '../../../webview/protocol';
import { EXPORTS_DIR, type CatalogEntry } from './catalog';
import * as l10n from '@vscode/l10n';

export type ExportKind = 'merge' | 'gguf' | 'ollama';
/** The GGUF types the playground offers (f32 files are for checks, not for users). */
export type GgufType = Exclude<ToolGgufType, 'f32'>;

export { ExportError, findNativeTool };

export interface ExportStep {
  /** Shown while it runs, e.g. "merging the adapter into the base". */
  stage: string;
  args: string[];
}

export interface ExportPlan {
  kind: ExportKind;
  source: string;
  /** The file or folder the job creates (absolute, inside the workspace). */
  out: string;
  steps: ExportStep[];
  /** For Ollama: the folder holding the GGUF and the Modelfile, the GGUF's name in it, the model name for `ollama create`, and the folder whose chat template the Modelfile translates. */
  ollama?: { dir: string; gguf: string; name: string; modelDir: string };
}

function sourceLabel(e: CatalogEntry): string {
  return e.runId ? `run ${e.runId} · ${e.label}` : e.label;
}

/** A short name for what is exported: final, step-40, or the model folder's name. */
function exportName(e: CatalogEntry): string {
  if (e.runId && e.adapterDir) return e.kind === 'checkpoint' && e.step !== undefined ? `step-${e.step}` : 'final';
  const base = path.basename(e.adapterDir ?? e.modelDir).replace(/[^\w.-]+/g, '-');
  return base || 'model';
}

/** `want`, or want-2, want-3, … : the first name not taken. */
export function freshPath(want: string): string {
  if (!fs.existsSync(want)) return want;
  const ext = path.extname(want);
  const stem = ext === '.gguf' ? want.slice(0, -ext.length) : want;
  for (let i = 2; ; i++) {
    const p = `${stem}-${i}${ext === '.gguf' ? ext : ''}`;
    if (!fs.existsSync(p)) return p;
  }
}

function insideWorkspace(p: string, workspaceDir: string): boolean {
  const rel = path.relative(workspaceDir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** What to run for `kind` on `entry`, writing into `workspaceDir`. Throws ExportError on a request that cannot be met. */
export function planExport(entry: CatalogEntry, kind: ExportKind, ggufType: GgufType, workspaceDir: string | undefined): ExportPlan {
  if (!workspaceDir) throw new ExportError('no_workspace', l10n.t('no folder is open'), l10n.t('Exports are written into the workspace: open a folder first.'));
  if (entry.problem) throw new ExportError('bad_source', entry.problem.message, entry.problem.hint);
  // The merged folders of a run sit in its exports/ already.
  const runExports = entry.runId ? path.join(workspaceDir, 'runs', entry.runId, EXPORTS_DIR) : undefined;
  const dir = runExports ?? path.join(workspaceDir, EXPORTS_DIR);
  const name = exportName(entry);
  let plan: ExportPlan;
  if (kind === 'merge') {
    if (!entry.adapterDir) throw new ExportError('not_an_adapter', l10n.t('{0} is a whole model, not an adapter: there is nothing to merge', entry.label), l10n.t('Pick a run\'s adapter or checkpoint to merge, or export this model as GGUF.'));
    const out = freshPath(path.join(dir, `merged-${name}`));
    plan = { kind, source: sourceLabel(entry), out, steps: [{ stage: l10n.t('merging the adapter into the base model'), args: mergeArgs(entry.modelDir, entry.adapterDir, out) }] };
  } else if (kind === 'gguf') {
    const out = freshPath(path.join(dir, `${name}-${ggufType}.gguf`));
    plan = { kind, source: sourceLabel(entry), out, steps: [{ stage: l10n.t('{0}writing GGUF {1}', entry.adapterDir ? l10n.t('merging and ') : '', ggufType), args: ggufArgs(entry.modelDir, out, ggufType, { adapter: entry.adapterDir }) }] };
  } else {
    const out = freshPath(path.join(dir, `ollama-${name}-${ggufType}`));
    const gguf = `model-${ggufType}.gguf`;
    const ollamaName = `tuner-${(entry.runId ? `${entry.runId}-${name}` : name).toLowerCase().replace(/[^a-z0-9._-]+/g, '-')}`;
    plan = {
      kind,
      source: sourceLabel(entry),
      out,
      steps: [{ stage: l10n.t('{0}writing GGUF {1} for Ollama', entry.adapterDir ? l10n.t('merging and ') : '', ggufType), args: ggufArgs(entry.modelDir, path.join(out, gguf), ggufType, { adapter: entry.adapterDir }) }],
      ollama: { dir: out, gguf, name: ollamaName, modelDir: entry.modelDir },
    };
  }
  if (!insideWorkspace(plan.out, workspaceDir)) throw new ExportError('outside_workspace', l10n.t('{0} is outside the workspace {1}', plan.out, workspaceDir), l10n.t('Exports are written into the workspace only.'));
  return plan;
}

export interface ExportResult {
  out: string;
  bytes: number;
  seconds: number;
  warnings: string[];
  /** The Ollama model name `ollama create` would use. */
  ollamaName?: string;
}

export interface ExportJobOptions {
  binary: string;
  id: string;
  plan: ExportPlan;
  workspaceDir: string;
  onStatus(status: ExportJobStatus): void;
  /** Writes the Modelfile of an Ollama export (src/core/export/modelfile.ts): returns its path. */
  writeModelfile?(plan: ExportPlan): string;
  env?: NodeJS.ProcessEnv;
}

interface ToolOutput {
  bytes?: number;
  warnings?: string[];
}

/** One running export. `result` settles when it ends; cancel() stops it and removes its output. */
export class ExportJob {
  readonly result: Promise<ExportResult>;
  private readonly abort = new AbortController();
  private status: ExportJobStatus;

  readonly plan: ExportPlan;

  constructor(private readonly o: ExportJobOptions) {
    this.plan = o.plan;
    this.status = { id: o.id, kind: o.plan.kind, source: o.plan.source, phase: 'running', message: 'starting' };
    this.result = this.run();
    this.result.catch(() => undefined); // reported through onStatus
  }

  private relative(p: string): string {
    return path.relative(this.o.workspaceDir, p).split(path.sep).join('/');
  }

  private report(s: Partial<ExportJobStatus>): void {
    this.status = { ...this.status, ...s };
    this.o.onStatus(this.status);
  }

  cancel(): void {
    if (this.status.phase !== 'running') return;
    this.abort.abort();
  }

  private async run(): Promise<ExportResult> {
    const started = Date.now();
    const { plan } = this.o;
    let warnings: string[] = [];
    let bytes = 0;
    try {
      if (plan.ollama) fs.mkdirSync(plan.ollama.dir, { recursive: true });
      else fs.mkdirSync(path.dirname(plan.out), { recursive: true });
      for (const step of plan.steps) {
        const out = await this.runStep(step, started);
        warnings = warnings.concat(out.warnings ?? []);
        bytes += out.bytes ?? 0;
      }
      if (plan.ollama) {
        if (!this.o.writeModelfile) throw new ExportError('no_modelfile', l10n.t('this build cannot write an Ollama Modelfile'), l10n.t('Export as GGUF and write the Modelfile by hand (FROM ./model.gguf).'));
        this.report({ message: l10n.t('writing the Modelfile') });
        this.o.writeModelfile(plan);
      }
      const seconds = (Date.now() - started) / 1000;
      this.report({ phase: 'done', message: l10n.t('done in {0} s', seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)), out: this.relative(plan.out), hint: warnings.join(' ') || undefined });
      return { out: plan.out, bytes, seconds, warnings, ollamaName: plan.ollama?.name };
    } catch (e) {
      fs.rmSync(plan.out, { recursive: true, force: true });
      if (this.abort.signal.aborted) {
        this.report({ phase: 'cancelled', message: l10n.t('cancelled; the partial output was removed') });
      } else {
        const err = e instanceof ExportError ? e : new ExportError('export_failed', (e as Error).message, l10n.t('See the Tuner log (Tuner: Show Log).'));
        this.report({ phase: 'failed', message: err.message, hint: err.hint });
      }
      throw e;
    }
  }

  private async runStep(step: ExportStep, started: number): Promise<ToolOutput> {
    const tick = () => this.report({ message: `${step.stage}… ${Math.round((Date.now() - started) / 1000)} s` });
    tick();
    const timer = setInterval(tick, 1000);
    try {
      return (await runExportTool(this.o.binary, step.args, { env: this.o.env, signal: this.abort.signal })) as ToolOutput;
    } finally {
      clearInterval(timer);
    }
  }
}
