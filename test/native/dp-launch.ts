// Starts a data-parallel tuner-train the way a cluster does: `mpirun -n N tuner-train …` (Open
// MPI from Debian, ranks on loopback TCP), or N processes with torchrun's variables (RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT) for the TCP backend. Reads the one event stream rank 0
// writes, validated by the extension's own parser. Used by trainer-dp.test.ts and bench/dp-bench.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as readline from 'node:readline';

import { parseTrainerEvent, type TrainerEvent } from '../../src/core/engine/protocol';
import { findTrainerBinary } from '../../src/core/engine/trainer-client';
import { ensureDebianPackages } from '../ensure-debian-packages';

export const OPEN_MPI_PACKAGES = ['openmpi-bin', 'libopenmpi-dev'] as const;

/** Installs Open MPI when root, else fails with the exact apt-get command (test/ensure-debian-packages.sh). */
export function ensureOpenMpi(): void {
  ensureDebianPackages(OPEN_MPI_PACKAGES);
}

export interface RanksExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: TrainerEvent[];
  /** mpirun's and every rank's stderr (rank 0's log, the others' errors, the launcher's notices). */
  stderr: string;
}

export interface LaunchOptions {
  ranks: number;
  planPath: string;
  resumeDir?: string;
  backend?: 'mpi' | 'tcp';
  /** Open MPI's byte transfer layer between ranks: loopback TCP (default) or shared memory. */
  btl?: 'tcp' | 'vader';
}

/** The mpirun command line for N ranks on this machine (root needs --allow-run-as-root). */
export function mpirunArgs(ranks: number, btl: 'tcp' | 'vader' = 'tcp'): string[] {
  const args = ['-n', String(ranks), '--oversubscribe', '--bind-to', 'none', '--mca', 'btl', `self,${btl}`];
  if (btl === 'tcp') args.push('--mca', 'btl_tcp_if_include', 'lo');
  if (process.getuid?.() === 0) args.push('--allow-run-as-root');
  return args;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export class RanksRun {
  readonly events: TrainerEvent[] = [];
  readonly exited: Promise<RanksExit>;
  private readonly children: ChildProcess[];
  private readonly listeners: ((e: TrainerEvent) => void)[] = [];
  private stderr = '';

  private constructor(children: ChildProcess[]) {
    this.children = children;
    const root = children[0];
    for (const c of children) {
      c.stderr?.setEncoding('utf8');
      c.stderr?.on('data', (t: string) => (this.stderr = (this.stderr + t).slice(-64 * 1024)));
    }
    const lines = readline.createInterface({ input: root.stdout!, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (line.trim() === '') return;
      const e = parseTrainerEvent(line);
      this.events.push(e);
      for (const l of this.listeners) l(e);
    });
    const closed = new Promise<void>((r) => lines.once('close', r));
    const ends = children.map((c) => new Promise<[number | null, NodeJS.Signals | null]>((r) => c.once('exit', (code, sig) => r([code, sig]))));
    this.exited = Promise.all([Promise.all(ends), closed]).then(([all]) => ({
      code: all[0][0],
      signal: all[0][1],
      events: this.events,
      stderr: this.stderr,
    }));
  }

  static async start(o: LaunchOptions): Promise<RanksRun> {
    const binary = findTrainerBinary(process.env);
    const trainerArgs = ['--plan', o.planPath, ...(o.resumeDir ? ['--resume', o.resumeDir] : [])];
    if ((o.backend ?? 'mpi') === 'mpi') {
      const child = spawn('mpirun', [...mpirunArgs(o.ranks, o.btl), binary, ...trainerArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
      return new RanksRun([child]);
    }
    const port = await freePort();
    const children = [];
    for (let r = 0; r < o.ranks; r++) {
      const env = { ...process.env, RANK: String(r), LOCAL_RANK: String(r), WORLD_SIZE: String(o.ranks), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) };
      children.push(spawn(binary, trainerArgs, { env, stdio: ['pipe', 'pipe', 'pipe'] }));
    }
    return new RanksRun(children);
  }

  /** The first event (seen or future) that satisfies pred; rejects when the run ends first. */
  waitFor(pred: (e: TrainerEvent) => boolean): Promise<TrainerEvent> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.listeners.push((e) => pred(e) && resolve(e));
      void this.exited.then((x) => reject(new Error(`the ranks ended (code ${x.code}) before the awaited event:\n${x.stderr.slice(-4000)}`)));
    });
  }

  /** Sends a command line to rank 0 (mpirun forwards its stdin to rank 0). */
  send(line: string): void {
    this.children[0].stdin?.write(line);
  }

  /** The process id of rank `rank`: under mpirun, the child of mpirun whose OMPI_COMM_WORLD_RANK it is. */
  rankPid(rank: number): number {
    if (this.children.length > 1) return this.children[rank].pid!;
    const launcher = this.children[0].pid!;
    for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid !== launcher) continue;
        const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
        if (env.includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(p);
      } catch {
        // a process that ended while we looked
      }
    }
    throw new Error(`no rank ${rank} among the children of mpirun (pid ${launcher})`);
  }
}

/** Runs N ranks to the end. */
export async function runRanks(o: LaunchOptions): Promise<RanksExit> {
  return (await RanksRun.start(o)).exited;
}
