// The run store: every run keeps a folder under the workspace, runs/<id>/, holding
//   run.json      what was run (ARGS file, when) and the registry of its trainer while alive
//                 (pid, process start time, host: see engine/process-identity.ts)
//   plan.json     the resolved plan tuner-train read
//   events.jsonl  every trainer event, appended as it arrives (one line each)
//   trainer.log   the trainer's stderr
//   control.sock  the live trainer's control channel (engine/control-channel.ts)
//   data/         the prepared shards;  checkpoints/, adapter/ or model/: the trainer's output
// Appending each event as it arrives is what makes a killed trainer or a closed editor lose
// nothing but the steps since the last checkpoint: the file is the run's memory.
//
// A runs/ folder can come with a cloned repository, so nothing in it is trusted to name a place:
// a run id must look like one (newRunId's form) and name a real folder under runs/, a run folder
// and the files Tuner reads or appends to in it must not be symbolic links, and the paths a
// resumed trainer writes to are rebuilt from the run's own folder (ownPlan, ownCheckpoint), not
// taken from plan.json or events.jsonl.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic-file';
import type { RunPlan } from '../engine/plan';
import { isSameTrainer, type ProcessIdentity } from '../engine/process-identity';
import { parseTrainerEvent, type TrainerEvent } from '../engine/protocol';
import { RunStateTracker, isLive, type RunSnapshot } from './run-state';
import * as l10n from '@vscode/l10n';

export const RUNS_DIR = 'runs';
export const RUN_META_VERSION = 1;

export interface RunMeta {
  version: typeof RUN_META_VERSION;
  id: string;
  /** The ARGS.json the run was made from (absolute). */
  argsFile: string;
  /** ISO time the run was created. */
  created: string;
  /** Process id of the trainer while one is (or was last) running for this run. */
  pid?: number;
  /** That process's start time (process-identity.ts), so a pid given to another process since is not taken for the trainer. */
  pidStart?: string;
  /** The machine it runs on. */
  host?: string;
  /** Set when a window let the live trainer go on without it; the next window reports how the run went meanwhile. */
  detachedAt?: string;
  /**
   * The window (its extension host process) that follows the live trainer. Cleared when a window
   * sees the run end or lets it go (detachedAt); still set with that process gone means the window
   * crashed (killed without deactivating), and the next window reports the run as it would a
   * detached one.
   */
  window?: ProcessIdentity;
  /** ARGS.json's model and method, for the runs view (absent in runs made before they were kept). */
  model?: string;
  method?: string;
  /** Why the run ended before its trainer started (preparation failed: model not found, bad data). */
  failure?: { message: string; hint?: string };
}

export interface RunSummary {
  meta: RunMeta;
  dir: string;
  snapshot: RunSnapshot;
}

export class RunStoreError extends Error {}

/** The ids newRunId makes: yyyymmdd-hhmmss, with -N when runs start in the same second. */
export const RUN_ID_PATTERN = /^\d{8}-\d{6}(?:-\d{1,6})?$/;

export function isRunId(id: unknown): id is string {
  return typeof id === 'string' && RUN_ID_PATTERN.test(id);
}

/** Checkpoint folder names the trainer writes (checkpoints/step-NNNNNNNN). */
const CHECKPOINT_NAME = /^step-\d{8}$/;

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Refuses a symbolic link where the run folder should hold Tuner's own file or folder. */
function refuseLink(p: string): void {
  if (isLink(p)) throw new RunStoreError(l10n.t('{0} is a symbolic link: a run folder holds only what Tuner wrote there, so Tuner does not follow it. Remove the link (or the run folder).', p));
}

function readOwnFile(p: string): string {
  refuseLink(p);
  return fs.readFileSync(p, 'utf8');
}

/** A new run id: sortable by time, readable, unique within the folder. */
export function newRunId(now: Date, existing: (id: string) => boolean): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const base = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  if (!existing(base)) return base;
  for (let i = 2; ; i++) if (!existing(`${base}-${i}`)) return `${base}-${i}`;
}

/** Parses events.jsonl text. A last line cut short by a kill is dropped; any other bad line is an error naming it. */
export function parseEventLog(text: string, file: string): TrainerEvent[] {
  const lines = text.split('\n');
  const events: TrainerEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    try {
      events.push(parseTrainerEvent(line));
    } catch (e) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
      if (isLast && !text.endsWith('\n')) break; // written partly when the process died
      throw new RunStoreError(l10n.t('{0}:{1}: {2}. Remove or repair that line to open the run.', file, i + 1, (e as Error).message));
    }
  }
  return events;
}


/** One run's folder. */
export class RunRecord {
  constructor(
    readonly dir: string,
    public meta: RunMeta,
  ) {}

  get id(): string {
    return this.meta.id;
  }
  get planFile(): string {
    return path.join(this.dir, 'plan.json');
  }
  get eventsFile(): string {
    return path.join(this.dir, 'events.jsonl');
  }
  get logFile(): string {
    return path.join(this.dir, 'trainer.log');
  }
  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  static open(dir: string): RunRecord {
    const file = path.join(dir, 'run.json');
    refuseLink(dir);
    let meta: RunMeta;
    try {
      meta = JSON.parse(readOwnFile(file)) as RunMeta;
    } catch (e) {
      if (e instanceof RunStoreError) throw e;
      throw new RunStoreError(l10n.t('{0}: cannot read the run ({1}); the folder is not a Tuner run or was damaged.', file, (e as Error).message));
    }
    if (meta === null || typeof meta !== 'object' || meta.version !== RUN_META_VERSION || typeof meta.id !== 'string' || typeof meta.argsFile !== 'string') {
      throw new RunStoreError(l10n.t('{0}: not a version {1} run record (fields version, id, argsFile).', file, RUN_META_VERSION));
    }
    // The id names the folder everywhere else (views, commands, the debugger): it must be this one's.
    if (meta.id !== path.basename(dir)) {
      throw new RunStoreError(l10n.t('{0}: "id" is {1} but the run\'s folder is {2}; set "id" to the folder\'s name.', file, String(JSON.stringify(meta.id)), path.basename(dir)));
    }
    return new RunRecord(dir, meta);
  }

  plan(): RunPlan {
    return JSON.parse(readOwnFile(this.planFile)) as RunPlan;
  }

  /**
   * The plan to resume this run with: plan.json's settings, with every path the trainer writes
   * to (output_dir) and the data it prepared into this folder rebuilt from the run's own folder.
   * Throws when the folder holds a symbolic link where Tuner's files belong.
   */
  ownPlan(): RunPlan {
    this.refuseLinks();
    let plan: RunPlan;
    try {
      plan = this.plan();
    } catch (e) {
      if (e instanceof RunStoreError) throw e;
      throw new RunStoreError(l10n.t('{0}: cannot read the plan ({1}); start the run again.', this.planFile, (e as Error).message));
    }
    if (plan === null || typeof plan !== 'object' || Array.isArray(plan)) throw new RunStoreError(l10n.t('{0}: not a run plan (a JSON object); start the run again.', this.planFile));
    const own: RunPlan = { ...plan, output_dir: this.dir };
    // Data prepared for this run lives in its data/ folder; a run started from another plan
    // (RunManager.startPlan) reads shards where that plan said, which the trainer only reads.
    const train = path.join(this.dataDir, 'train');
    if (fs.existsSync(train)) {
      own.data_dir = train;
      const evalDir = path.join(this.dataDir, 'eval');
      if (plan.eval_data_dir !== undefined) own.eval_data_dir = evalDir;
    }
    return own;
  }

  /**
   * The checkpoint folder `p` names, as a folder of this run: checkpoints/<its name>, which must
   * be a checkpoint's name (step-NNNNNNNN) and a real folder here. Undefined otherwise.
   */
  ownCheckpoint(p: string): string | undefined {
    const name = path.basename(p);
    if (!CHECKPOINT_NAME.test(name)) return undefined;
    const dir = path.join(this.dir, 'checkpoints', name);
    try {
      return fs.lstatSync(dir).isDirectory() ? dir : undefined;
    } catch {
      return undefined;
    }
  }

  /** Refuses the run when a file or folder in it (or in its checkpoints/ and data/) is a symbolic link. */
  refuseLinks(): void {
    refuseLink(this.dir);
    for (const sub of ['', 'checkpoints', 'data']) {
      const dir = path.join(this.dir, sub);
      if (sub) refuseLink(dir);
      if (!fs.existsSync(dir)) continue;
      for (const name of fs.readdirSync(dir)) refuseLink(path.join(dir, name));
    }
  }

  /** Through writeFileAtomic: another window may write run.json at the same moment. */
  writePlan(plan: RunPlan): void {
    writeFileAtomic(this.planFile, JSON.stringify(plan, null, 2) + '\n');
  }

  writeMeta(): void {
    writeFileAtomic(path.join(this.dir, 'run.json'), JSON.stringify(this.meta, null, 2) + '\n');
  }

  /** Records the trainer's identity when it starts (undefined: it ended). */
  setTrainer(id: ProcessIdentity | undefined): void {
    this.updateMeta({ pid: id?.pid, pidStart: id?.start, host: id?.host });
  }

  /** The recorded trainer, when there is one (the fields are checked before use: run.json can come with a repository). */
  trainerIdentity(): ProcessIdentity | undefined {
    const { pid, pidStart, host } = this.meta;
    if (typeof pid !== 'number' || typeof pidStart !== 'string' || typeof host !== 'string') return undefined;
    return { pid, start: pidStart, host };
  }

  /** True while the trainer recorded in run.json is alive and still this run's (not a reused pid). */
  trainerAlive(): boolean {
    return isSameTrainer(this.trainerIdentity(), this.planFile);
  }

  /** A window lets the trainer go on without it (undefined: a window follows it again). */
  markDetached(when: Date | undefined): void {
    this.updateMeta(when ? { detachedAt: when.toISOString(), window: undefined } : { detachedAt: undefined });
  }

  /** A window saw the run end, or reported its end: no mark is left for a later window. */
  clearWatch(): void {
    this.updateMeta({ detachedAt: undefined, window: undefined });
  }

  /** The window that follows the live trainer now (undefined: none does; see RunMeta.window). */
  setWindow(id: ProcessIdentity | undefined): void {
    this.updateMeta({ window: id });
  }

  /**
   * Changes some fields of run.json as it is on disk now: another window may have written it
   * since this record was opened, and its fields are kept.
   */
  private updateMeta(patch: Partial<RunMeta>): void {
    let current = this.meta;
    try {
      current = RunRecord.open(this.dir).meta;
    } catch {
      // unreadable now: this record's copy is the best there is
    }
    this.meta = { ...current, ...patch };
    this.writeMeta();
  }

  /** Appends one event as one line; synchronous so the order on disk is the order of arrival. */
  appendEvent(e: TrainerEvent): void {
    fs.appendFileSync(this.eventsFile, JSON.stringify(e) + '\n');
  }

  appendLog(text: string): void {
    fs.appendFileSync(this.logFile, text);
  }

  /**
   * The complete lines of events.jsonl read at once (within its first `limit` bytes), and the
   * byte offset after the last of them: a reader that continues from `offset` sees every later
   * event exactly once.
   */
  eventsAndOffset(limit = Infinity): { events: TrainerEvent[]; offset: number } {
    if (!fs.existsSync(this.eventsFile) && !isLink(this.eventsFile)) return { events: [], offset: 0 };
    refuseLink(this.eventsFile);
    let bytes = fs.readFileSync(this.eventsFile);
    if (bytes.length > limit) bytes = bytes.subarray(0, limit);
    const offset = bytes.lastIndexOf(0x0a) + 1;
    return { events: parseEventLog(bytes.subarray(0, offset).toString('utf8'), this.eventsFile), offset };
  }

  events(): TrainerEvent[] {
    if (!fs.existsSync(this.eventsFile) && !isLink(this.eventsFile)) return [];
    return parseEventLog(readOwnFile(this.eventsFile), this.eventsFile);
  }

  /**
   * The run's state from disk. A run whose events end while live but whose trainer is gone was
   * interrupted (kill -9, editor closed): it can be resumed from its last checkpoint.
   */
  snapshot(events = this.events()): RunSnapshot {
    const s = new RunStateTracker().applyAll(events);
    if (isLive(s.status) && !this.trainerAlive()) s.status = events.length === 0 ? 'failed' : 'interrupted';
    if (events.length === 0 && s.status === 'failed' && typeof this.meta.failure?.message === 'string') {
      s.error = { version: 1, type: 'error', code: 'preparation_failed', message: this.meta.failure.message, hint: typeof this.meta.failure.hint === 'string' ? this.meta.failure.hint : '' };
    }
    return s;
  }

  /** Keeps why the run ended before training, for the runs view and the dashboard. */
  setFailure(message: string, hint?: string): void {
    this.meta = { ...this.meta, failure: { message, hint } };
    this.writeMeta();
  }

  /**
   * The newest checkpoint folder that still exists, from the events (the trainer writes them
   * atomically), as a folder of this run (ownCheckpoint): an event naming a folder elsewhere
   * counts by its name only.
   */
  lastCheckpoint(events = this.events()): { step: number; path: string } | undefined {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e.type !== 'checkpoint' && e.type !== 'done') continue;
      const p = e.type === 'checkpoint' ? e.path : e.outputs.checkpoint;
      const own = p ? this.ownCheckpoint(p) : undefined;
      if (own) return { step: e.step, path: own };
    }
    return undefined;
  }
}

/** All runs of one workspace folder. */
export class RunStore {
  constructor(readonly root: string) {}

  static forWorkspace(folder: string): RunStore {
    return new RunStore(path.join(folder, RUNS_DIR));
  }

  create(argsFile: string, now = new Date()): RunRecord {
    fs.mkdirSync(this.root, { recursive: true });
    refuseLink(this.root);
    const id = newRunId(now, (candidate) => fs.existsSync(path.join(this.root, candidate)));
    const dir = path.join(this.root, id);
    fs.mkdirSync(dir);
    const run = new RunRecord(dir, { version: RUN_META_VERSION, id, argsFile: path.resolve(argsFile), created: now.toISOString() });
    run.writeMeta();
    return run;
  }

  /** The run `id`: only an id of newRunId's form, naming a real folder right under runs/. */
  open(id: string): RunRecord {
    if (!isRunId(id)) throw new RunStoreError(l10n.t('{0} is not a run id (a run id looks like 20260101-120000 and names a folder under {1}).', JSON.stringify(String(id)).slice(0, 80), this.root));
    refuseLink(this.root);
    return RunRecord.open(path.join(this.root, id));
  }

  /** Every readable run, newest first; unreadable folders are reported in `problems`, not thrown. */
  list(): { runs: RunSummary[]; problems: string[] } {
    const runs: RunSummary[] = [];
    const problems: string[] = [];
    if (!fs.existsSync(this.root)) return { runs, problems };
    if (isLink(this.root)) return { runs, problems: [l10n.t('{0} is a symbolic link: runs are kept in a real folder, so Tuner lists none from it.', this.root)] };
    for (const name of fs.readdirSync(this.root).sort().reverse()) {
      const dir = path.join(this.root, name);
      if (!fs.existsSync(path.join(dir, 'run.json'))) continue;
      if (!isRunId(name)) {
        problems.push(l10n.t('{0}: "{1}" is not a run id (runs are named like 20260101-120000); it is not listed.', dir, String(name)));
        continue;
      }
      try {
        const rec = RunRecord.open(dir);
        runs.push({ meta: rec.meta, dir, snapshot: rec.snapshot() });
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    return { runs, problems };
  }
}
