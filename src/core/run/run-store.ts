// The run store: every run keeps a folder under the workspace, runs/<id>/, holding
//   run.json      what was run (ARGS file, when, trainer pid while alive)
//   plan.json     the resolved plan tuner-train read
//   events.jsonl  every trainer event, appended as it arrives (one line each)
//   trainer.log   the trainer's stderr
//   data/         the prepared shards;  checkpoints/, adapter/ or model/: the trainer's output
// Appending each event as it arrives is what makes a killed trainer or a closed editor lose
// nothing but the steps since the last checkpoint: the file is the run's memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunPlan } from '../engine/plan';
import { parseTrainerEvent, type TrainerEvent } from '../engine/protocol';
import { RunStateTracker, isLive, type RunSnapshot } from './run-state';

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
}

export interface RunSummary {
  meta: RunMeta;
  dir: string;
  snapshot: RunSnapshot;
}

export class RunStoreError extends Error {}

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
      throw new RunStoreError(`${file}:${i + 1}: ${(e as Error).message}. Remove or repair that line to open the run.`);
    }
  }
  return events;
}

function isProcessAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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
    let meta: RunMeta;
    try {
      meta = JSON.parse(fs.readFileSync(file, 'utf8')) as RunMeta;
    } catch (e) {
      throw new RunStoreError(`${file}: cannot read the run (${(e as Error).message}); the folder is not a Tuner run or was damaged.`);
    }
    if (meta.version !== RUN_META_VERSION || typeof meta.id !== 'string' || typeof meta.argsFile !== 'string') {
      throw new RunStoreError(`${file}: not a version ${RUN_META_VERSION} run record (fields version, id, argsFile).`);
    }
    return new RunRecord(dir, meta);
  }

  plan(): RunPlan {
    return JSON.parse(fs.readFileSync(this.planFile, 'utf8')) as RunPlan;
  }

  writePlan(plan: RunPlan): void {
    fs.writeFileSync(this.planFile, JSON.stringify(plan, null, 2) + '\n');
  }

  writeMeta(): void {
    const file = path.join(this.dir, 'run.json');
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(this.meta, null, 2) + '\n');
    fs.renameSync(`${file}.tmp`, file);
  }

  setPid(pid: number | undefined): void {
    this.meta = { ...this.meta, pid };
    this.writeMeta();
  }

  /** Appends one event as one line; synchronous so the order on disk is the order of arrival. */
  appendEvent(e: TrainerEvent): void {
    fs.appendFileSync(this.eventsFile, JSON.stringify(e) + '\n');
  }

  appendLog(text: string): void {
    fs.appendFileSync(this.logFile, text);
  }

  events(): TrainerEvent[] {
    if (!fs.existsSync(this.eventsFile)) return [];
    return parseEventLog(fs.readFileSync(this.eventsFile, 'utf8'), this.eventsFile);
  }

  /**
   * The run's state from disk. A run whose events end while live but whose trainer is gone was
   * interrupted (kill -9, editor closed): it can be resumed from its last checkpoint.
   */
  snapshot(events = this.events()): RunSnapshot {
    const s = new RunStateTracker().applyAll(events);
    if (isLive(s.status) && !isProcessAlive(this.meta.pid)) s.status = events.length === 0 ? 'failed' : 'interrupted';
    return s;
  }

  /** The newest checkpoint folder that still exists, from the events (the trainer writes them atomically). */
  lastCheckpoint(events = this.events()): { step: number; path: string } | undefined {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e.type !== 'checkpoint' && e.type !== 'done') continue;
      const p = e.type === 'checkpoint' ? e.path : e.outputs.checkpoint;
      if (p && fs.existsSync(p)) return { step: e.step, path: p };
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
    const id = newRunId(now, (candidate) => fs.existsSync(path.join(this.root, candidate)));
    const dir = path.join(this.root, id);
    fs.mkdirSync(dir);
    const run = new RunRecord(dir, { version: RUN_META_VERSION, id, argsFile: path.resolve(argsFile), created: now.toISOString() });
    run.writeMeta();
    return run;
  }

  open(id: string): RunRecord {
    return RunRecord.open(path.join(this.root, id));
  }

  /** Every readable run, newest first; unreadable folders are reported in `problems`, not thrown. */
  list(): { runs: RunSummary[]; problems: string[] } {
    const runs: RunSummary[] = [];
    const problems: string[] = [];
    if (!fs.existsSync(this.root)) return { runs, problems };
    for (const name of fs.readdirSync(this.root).sort().reverse()) {
      const dir = path.join(this.root, name);
      if (!fs.existsSync(path.join(dir, 'run.json'))) continue;
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
