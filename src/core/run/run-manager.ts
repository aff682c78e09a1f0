// The runs of one workspace: creates a run (folder, prepared data, plan), starts and resumes its
// trainer, knows which runs are live, and finds again the trainers that outlived an earlier
// window (reattach). The VS Code side (commands, status bar, tree, dashboard, debugger) listens
// to it and never spawns a trainer itself.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PrepareProgress } from '../dataset/prepare';
import { OutsideWorkspaceError } from '../dataset/prepare-paths';
import { DetachedTrainer } from '../engine/detached-trainer';
import type { RunPlan } from '../engine/plan';
import { heartbeatInterval } from '../engine/trainer-health';
import { identify, isSameProcess, type ProcessIdentity } from '../engine/process-identity';
import { RunSession, type RunSessionOptions } from './run-session';
import { isLive } from './run-state';
import { RunStore, RunStoreError, type RunRecord, type RunSummary } from './run-store';
import { outputTarget, publishOutput } from './publish-output';
import { ArgsError, prepareRun, readArgsFile, type PreparedRun } from './resolve';
import { isInside, realPathOf } from '../dataset/prepare-paths';
import * as l10n from '@vscode/l10n';

export interface StartOptions extends Omit<RunSessionOptions, 'resumeFrom'> {
  onStage?: (message: string) => void;
  onProgress?: (p: PrepareProgress) => void;
  /** Aborting stops the preparation; start() then rejects with an AbortError and leaves no run folder. */
  signal?: AbortSignal;
  /** Real paths outside the workspace the user confirmed ARGS.json may read (see OutsideWorkspaceError). */
  allowOutside?: readonly string[];
}

function realpathOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

export type ManagerListener = (session: RunSession) => void;

/** A run that ended while no window followed it: a window let it go (closed, reloaded), or the window died with it live. */
export interface UnwatchedEnd {
  run: RunSummary;
  how: 'detached' | 'window-died';
}

/** Where a completed run's result was copied (ARGS.json output_dir), or why it was not. */
export interface PublishedOutput {
  dir?: string;
  problem?: string;
}

export class RunManager {
  private readonly live = new Map<string, RunSession>();
  private readonly startListeners: ManagerListener[] = [];
  private readonly endListeners: ManagerListener[] = [];
  /** output_dir of each run launched here, checked when it was launched. */
  private readonly targets = new Map<string, string>();
  private readonly published = new Map<string, PublishedOutput>();
  /** This process, recorded in run.json (RunMeta.window) as the window that follows each live run. */
  private readonly self: ProcessIdentity | undefined;

  /** `prepareWorker`: the prepare-worker script, run in a worker thread for each new run. */
  /** `detached`: trainers outlive this process (the editor); the CLI keeps them in its own process group. */
  constructor(
    readonly store: RunStore,
    private readonly prepareWorker: string,
    private readonly detached = true,
  ) {
    // The CLI's trainers end with its process group: no other window reports them.
    this.self = detached ? identify(process.pid) : undefined;
  }

  /** Called for every session started (new runs and resumes). */
  onDidStart(l: ManagerListener): void {
    this.startListeners.push(l);
  }

  /** Called when a session's trainer has exited. */
  onDidEnd(l: ManagerListener): void {
    this.endListeners.push(l);
  }

  /** The workspace folder whose runs/ this manager keeps: ARGS.json's paths must stay in it. */
  get workspace(): string {
    return path.dirname(this.store.root);
  }

  /**
   * Creates runs/<id>/, prepares the data (in a worker thread) and starts the trainer. Rejects
   * with OutsideWorkspaceError when ARGS.json names a path outside the workspace that is not
   * in `opts.allowOutside`.
   */
  async start(argsFile: string, opts: StartOptions): Promise<{ session: RunSession; prepared: PreparedRun }> {
    const record = this.store.create(argsFile);
    try {
      const a = readArgsFile(argsFile);
      record.meta = { ...record.meta, model: a.model, method: a.method };
      record.writeMeta();
    } catch {
      // prepareRun reports the problem, at its line.
    }
    let prepared: PreparedRun;
    try {
      const confine = { workspace: this.workspace, allowed: opts.allowOutside };
      prepared = await prepareRun(argsFile, record.dir, { workerPath: this.prepareWorker, onStage: opts.onStage, onProgress: opts.onProgress, signal: opts.signal, confine });
    } catch (e) {
      // A cancelled start, or an ARGS.json refused before any data was read, trained nothing:
      // drop the folder this call just made, so the runs list holds only real runs (the
      // refusal is shown in the file).
      if ((e as Error).name === 'AbortError' || e instanceof ArgsError || e instanceof OutsideWorkspaceError) fs.rmSync(record.dir, { recursive: true, force: true });
      else {
        record.appendLog(l10n.t('preparation failed: {0}\n', (e as Error).message));
        record.setFailure(l10n.t('preparation failed: {0}', (e as Error).message));
      }
      throw e;
    }
    const target = outputTarget(argsFile, this.workspace, opts.allowOutside);
    if (target) this.targets.set(record.id, target);
    record.writePlan(prepared.plan);
    record.appendLog(l10n.t('prepared {0} training and {1} eval examples, {2} tokens; {3}\n', prepared.report.trainDocuments, prepared.report.evalDocuments, prepared.report.tokens, prepared.notes.join('; ')));
    return { session: this.launch(record, opts), prepared };
  }

  /**
   * Starts a run from an already resolved plan.json (a plan from another run or another
   * machine, or one edited by hand beyond what ARGS.json allows). Its data and model stay where
   * the plan says; the run's output goes to the new run folder.
   */
  startPlan(planFile: string, opts: Omit<RunSessionOptions, 'resumeFrom'>): RunSession {
    let plan: RunPlan;
    try {
      plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as RunPlan;
    } catch (e) {
      throw new RunStoreError(l10n.t('{0}: cannot read the plan ({1})', planFile, (e as Error).message));
    }
    const dir = path.dirname(path.resolve(planFile));
    const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(dir, p));
    const record = this.store.create(planFile);
    record.meta = { ...record.meta, model: path.basename(plan.model_dir ?? ''), method: plan.method };
    record.writeMeta();
    record.writePlan({ ...plan, model_dir: abs(plan.model_dir)!, data_dir: abs(plan.data_dir)!, eval_data_dir: abs(plan.eval_data_dir), output_dir: record.dir });
    return this.launch(record, opts);
  }

  /**
   * Continues a run from its newest checkpoint (or `checkpoint`, one of its own), appending to
   * the same events.jsonl. The run folder may have come with the workspace, so the plan is
   * rebuilt around the folder (RunRecord.ownPlan) before the trainer sees it.
   */
  resume(id: string, opts: Omit<RunSessionOptions, 'resumeFrom'>, checkpoint?: string): RunSession {
    if (this.live.has(id)) throw new RunStoreError(l10n.t('run {0} is still running; stop it before resuming it.', id));
    const record = this.store.open(id);
    const plan = record.ownPlan();
    let ckpt: string | undefined;
    if (checkpoint !== undefined) {
      ckpt = record.ownCheckpoint(checkpoint);
      if (!ckpt || realpathOr(checkpoint) !== realpathOr(ckpt)) {
        throw new RunStoreError(l10n.t('{0} is not a checkpoint of run {1}: resume from one of {2}/step-NNNNNNNN.', checkpoint, id, path.join(record.dir, 'checkpoints')));
      }
    } else {
      ckpt = record.lastCheckpoint()?.path;
    }
    if (!ckpt) {
      throw new RunStoreError(l10n.t('run {0} has no checkpoint to resume from ({1}/checkpoints is empty); start it again, with save_interval set to checkpoint regularly.', id, record.dir));
    }
    record.writePlan(plan);
    // The ARGS.json it was made from names output_dir; a run folder can come with a workspace, so
    // only an ARGS.json inside the workspace is read, and only a folder inside it is written.
    const argsFile = realPathOf(record.meta.argsFile);
    const target = isInside(realPathOf(this.workspace), argsFile) ? outputTarget(argsFile, this.workspace) : undefined;
    if (target) this.targets.set(id, target);
    return this.launch(record, { ...opts, resumeFrom: ckpt });
  }

  /** Where the completed run `id` was copied to (output_dir), or why not; undefined when not asked to. */
  publishedOutput(id: string): PublishedOutput | undefined {
    return this.published.get(id);
  }

  private publish(record: RunRecord, session: RunSession): void {
    const target = this.targets.get(record.id);
    const s = session.snapshot;
    if (!target || s.status !== 'done' || !s.output) return;
    const result = path.join(record.dir, path.basename(s.output));
    try {
      const { dir } = publishOutput(result, target, record.id);
      this.published.set(record.id, { dir });
      record.appendLog(l10n.t('result copied to {0} (output_dir)\n', dir));
    } catch (e) {
      this.published.set(record.id, { problem: (e as Error).message });
      record.appendLog(`${(e as Error).message}\n`);
    }
  }

  session(id: string): RunSession | undefined {
    return this.live.get(id);
  }

  /** The most recently started live session. */
  current(): RunSession | undefined {
    let last: RunSession | undefined;
    for (const s of this.live.values()) last = s;
    return last;
  }

  sessions(): RunSession[] {
    return [...this.live.values()];
  }

  /**
   * Stops every live trainer this window controls (stop = checkpoint and exit; SIGTERM, which
   * also checkpoints, when the channel is not connected): tuner.runs.stopWhenWindowCloses.
   */
  stopAll(): Promise<unknown> {
    const all = [...this.live.values()].filter((s) => s.role !== 'observer');
    // This window ends these runs on purpose, so the next window has nothing to report about
    // them (its mark would otherwise name a window that is gone: "closed unexpectedly"). Cleared
    // first, synchronously: a closing extension host may not live to see the trainers end.
    for (const s of all) {
      try {
        s.record.clearWatch();
      } catch {
        // the folder was removed meanwhile
      }
    }
    for (const s of all) {
      if (s.role === 'controller') s.stop();
      else s.kill('SIGTERM');
    }
    return Promise.all(all.map((s) => s.exited));
  }

  /**
   * Lets every live trainer train on without this window (the window closes or reloads); each
   * run is marked so that the next window reports how it went meanwhile.
   */
  async detachAll(now = new Date()): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    // Marked first, synchronously: a closing extension host may not run what follows an await.
    // (A window killed outright marks nothing: its RunMeta.window names a process that is gone.)
    for (const s of all) {
      try {
        s.record.markDetached(now);
      } catch {
        // the folder was removed meanwhile: nothing to report later
      }
    }
    await Promise.all(all.map((s) => s.detach()));
  }

  /**
   * Finds the runs of this workspace whose trainer is still running (started by a window that
   * has closed, or by another window) and follows each from its events.jsonl: the snapshot is
   * rebuilt from every event so far and new events arrive as they are written. Returns the
   * sessions it attached (listeners of onDidStart hear of each).
   */
  reattach(opts: Pick<RunSessionOptions, 'binary' | 'env'> = {}): RunSession[] {
    const attached: RunSession[] = [];
    for (const summary of this.store.list().runs) {
      if (this.live.has(summary.meta.id) || !isLive(summary.snapshot.status)) continue;
      let record: RunRecord;
      try {
        record = this.store.open(summary.meta.id);
      } catch {
        continue; // listed a moment ago; removed or damaged since
      }
      const identity = record.trainerIdentity();
      if (!identity) continue;
      let history, offset;
      try {
        ({ events: history, offset } = record.eventsAndOffset());
      } catch {
        continue; // a damaged events.jsonl: the runs view shows its problem
      }
      const trainer = DetachedTrainer.attach({ runDir: record.dir, planPath: record.planFile, eventsFile: record.eventsFile, logFile: record.logFile, identity, eventsOffset: offset, heartbeatMs: heartbeatInterval(history), history });
      if (!trainer) continue;
      attached.push(this.adopt(record, new RunSession(record, { mode: 'free', ...opts }, { trainer, history })));
    }
    return attached;
  }

  /**
   * The runs that ended while no window followed them and are not reported yet: a window let them
   * train on (detachedAt), or the window that followed them is gone without having let go (its
   * extension host was killed). Live runs are not among them (reattach follows those).
   */
  unwatchedEnds(): UnwatchedEnd[] {
    const ends: UnwatchedEnd[] = [];
    for (const run of this.store.list().runs) {
      if (isLive(run.snapshot.status) || this.live.has(run.meta.id)) continue;
      if (run.meta.detachedAt) ends.push({ run, how: 'detached' });
      else if (run.meta.window && run.meta.window.pid !== process.pid && !isSameProcess(run.meta.window)) ends.push({ run, how: 'window-died' });
    }
    return ends;
  }

  /** An unwatched end has been reported: its marks are cleared, so it is told once. */
  markReported(id: string): void {
    this.store.open(id).clearWatch();
  }

  private launch(record: RunRecord, opts: RunSessionOptions): RunSession {
    if (record.trainerAlive()) throw new RunStoreError(l10n.t('run {0} is still running (tuner-train pid {1}); stop it before starting it again.', record.id, String(record.meta.pid)));
    return this.adopt(record, new RunSession(record, { detached: this.detached, ...opts }));
  }

  private adopt(record: RunRecord, session: RunSession): RunSession {
    this.live.set(record.id, session);
    if (this.self) {
      try {
        record.setWindow(this.self);
      } catch {
        // the folder went away; the session ends on its own
      }
    }
    for (const l of this.startListeners) l(session);
    void session.exited.then(() => {
      if (this.live.get(record.id) === session) this.live.delete(record.id);
      // A window saw the end (and reports it as any run's): nothing is left to tell later.
      if (this.self) {
        try {
          record.clearWatch();
        } catch {
          // removed meanwhile
        }
      }
      this.publish(record, session);
      for (const l of this.endListeners) l(session);
    });
    return session;
  }
}
