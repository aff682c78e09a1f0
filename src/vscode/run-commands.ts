// Handlers of the fine-tuning commands (their ids are in command-ids.ts, their table entries in
// commands.ts). Every handler takes optional arguments so keybindings, menus and tests can
// name the ARGS.json or run they act on.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isRunId, RunStoreError } from '../core/run/run-store';
import type { RunSession } from '../core/run/run-session';
import { StartDeclinedError, type RunController } from './run-controller';
import { DashboardPanel } from './dashboard-panel';
import type { RunTreeItem, RunTreeProvider } from './run-tree';

export interface RunServices {
  runs: RunController;
  runTree: RunTreeProvider;
  ctx: vscode.ExtensionContext;
}

type Handler = (...args: unknown[]) => unknown;

/**
 * A run id from a command argument: a string, or a tree item. Arguments come from keybindings,
 * links and other extensions too, so a string that is not a run id is refused here.
 */
function runIdOf(arg: unknown): string | undefined {
  const id = typeof arg === 'string' ? arg : arg && typeof arg === 'object' && 'run' in arg ? (arg as RunTreeItem).run.meta.id : undefined;
  if (id !== undefined && !isRunId(id)) throw new RunStoreError(vscode.l10n.t('{0} is not a run id (a run id looks like 20260101-120000).', String(JSON.stringify(id).slice(0, 80))));
  return id;
}

async function pickRun(s: RunServices, placeHolder: string, filter: (status: string, resumable: boolean) => boolean): Promise<string | undefined> {
  const runs = s.runTree.list().filter((r) => filter(r.snapshot.status, !!r.snapshot.lastCheckpoint));
  if (runs.length === 0) throw new Error(vscode.l10n.t('no run to choose from'));
  const pick = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.meta.id, description: `${r.snapshot.status} · step ${r.snapshot.step}/${r.snapshot.maxSteps}`, detail: vscode.workspace.asRelativePath(r.meta.argsFile) })),
    { placeHolder },
  );
  return pick?.label;
}

/**
 * The live run a Pause/Resume/Save/Stop applies to. With none there is nothing to do: that is
 * said in the status bar, not as an error (the commands are offered only while a run is live,
 * but a keybinding can still call them).
 */
function liveRun(s: RunServices, arg: unknown, what: string): RunSession | undefined {
  const id = runIdOf(arg);
  const m = s.runs.manager();
  const session = id !== undefined ? m.session(id) : m.current();
  if (!session) vscode.window.setStatusBarMessage(vscode.l10n.t('Tuner: nothing to {0}: {1}.', what, id !== undefined ? vscode.l10n.t('run {0} is not running', id) : vscode.l10n.t('no fine-tune run is running')), 5000);
  return session;
}

export const RUN_COMMANDS = {
  /**
   * Args: an ARGS.json URI or path; optionally { trainAnyway: true } to train on data with lint
   * errors without asking. Returns the new run's id, undefined when not started.
   */
  'tuner.startRun': (s: RunServices) => async (arg: unknown, options: unknown) => {
    const argsFile = await s.runs.pickArgsFile(arg);
    if (!argsFile) return undefined;
    const trainAnyway = !!options && typeof options === 'object' && (options as { trainAnyway?: unknown }).trainAnyway === true;
    let session: RunSession;
    try {
      session = await s.runs.start(argsFile, { mode: 'free' }, { trainAnyway });
    } catch (e) {
      if (e instanceof StartDeclinedError) return undefined;
      throw e;
    }
    DashboardPanel.show(s.ctx, s.runs, session.record.id);
    return session.record.id;
  },
  'tuner.pauseRun': (s: RunServices) => (arg: unknown) => liveRun(s, arg, vscode.l10n.t('pause'))?.pause(),
  'tuner.continueRun': (s: RunServices) => (arg: unknown) => liveRun(s, arg, vscode.l10n.t('resume'))?.resume(),
  'tuner.saveCheckpoint': (s: RunServices) => (arg: unknown) => liveRun(s, arg, vscode.l10n.t('save'))?.save(),
  /** Stop = checkpoint and exit. Resolves when the trainer has ended. */
  'tuner.stopRun': (s: RunServices) => async (arg: unknown) => {
    const session = liveRun(s, arg, vscode.l10n.t('stop'));
    if (!session) return undefined;
    session.stop();
    await session.exited;
    return session.snapshot.status;
  },
  /**
   * Takes control of a live run this window shows read-only (another window controls it, or did
   * before it closed or hung): the trainer moves control here and tells the other window. Args: a
   * run id or tree item. Returns true once asked, false when there is no such live run.
   */
  'tuner.takeControl': (s: RunServices) => (arg: unknown) => {
    const session = liveRun(s, arg, vscode.l10n.t('take control of'));
    if (!session) return false;
    if (!session.takeControl()) throw new Error(vscode.l10n.t('run {0}: not connected to its trainer yet; try again in a moment', session.record.id));
    return true;
  },
  'tuner.openDashboard': (s: RunServices) => async (arg: unknown) => {
    const id = runIdOf(arg) ?? s.runs.manager().current()?.record.id ?? (await pickRun(s, vscode.l10n.t('Open the dashboard of which run?'), () => true));
    if (!id) return undefined;
    DashboardPanel.show(s.ctx, s.runs, id);
    return id;
  },
  /** Args: a run id (or tree item) and optionally a checkpoint folder. Returns the run id. */
  'tuner.resumeFromCheckpoint': (s: RunServices) => async (arg: unknown, checkpoint: unknown) => {
    const id = runIdOf(arg) ?? (await pickRun(s, vscode.l10n.t('Resume which run from its last checkpoint?'), (st, resumable) => resumable && st !== 'done' && st !== 'running' && st !== 'paused'));
    if (!id) return undefined;
    const session = await s.runs.resume(id, { mode: 'free' }, typeof checkpoint === 'string' ? checkpoint : undefined);
    DashboardPanel.show(s.ctx, s.runs, id);
    return session.record.id;
  },
  /** Args: a run id or tree item. Shows the run's result (output_dir's copy, else the run's own) in the Explorer. */
  'tuner.openRunFolder': (s: RunServices) => async (arg: unknown) => {
    const id = runIdOf(arg) ?? (await pickRun(s, vscode.l10n.t('Open the output folder of which run?'), () => true));
    if (!id) return undefined;
    const m = s.runs.manager();
    const rec = m.store.open(id);
    const output = rec.snapshot().output;
    const own = output ? path.join(rec.dir, path.basename(output)) : rec.dir;
    const folder = m.publishedOutput(id)?.dir ?? (fs.existsSync(own) ? own : rec.dir);
    await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(folder));
    return folder;
  },
  /** Also picks up live runs that another (or a closed) window started. */
  'tuner.refreshRuns': (s: RunServices) => () => {
    if (s.runs.hasWorkspace()) s.runs.reattach();
    s.runTree.refresh();
  },
} satisfies Record<string, (s: RunServices) => Handler>;

export type RunCommandId = keyof typeof RUN_COMMANDS;
