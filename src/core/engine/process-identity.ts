// Which process a run's registry (run.json: pid, start token, host) names, and whether it is
// still the trainer that was started. A pid alone is not enough: after the trainer dies the
// system may give its number to any other process (of this user, even), and a run folder that
// came with a cloned repository may name any pid at all. A process counts as the run's trainer
// only when its pid, its start time and its command line (tuner-train with this run's plan) all
// agree with what was recorded when it was started, on this machine.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** The process's start time as the system tells it (opaque; compared for equality only). */
  start: string;
  /** os.hostname() where it runs: a workspace on a shared disk can be opened from two machines. */
  host: string;
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * The start time of `pid`: on Linux field 22 of /proc/<pid>/stat (clock ticks since boot) with
 * the boot id, elsewhere `ps -o lstart=`. Undefined when there is no such process (or the
 * system cannot tell, as on Windows, where the control pipe's answer decides).
 */
export function processStartToken(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === 'linux') {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) is in parentheses and may hold spaces: count after its end.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return `${bootId()}:${fields[19]}`; // field 22 overall
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'win32') return undefined;
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/** The command line of `pid` as its arguments, or undefined. */
export function processArguments(pid: number): string[] | undefined {
  if (process.platform === 'linux') {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'win32') return undefined;
  try {
    // Spaces inside arguments are ambiguous here; the caller looks for whole arguments as a substring check.
    return [execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000 }).trim()];
  } catch {
    return undefined;
  }
}

/** The identity of a process that was just started (and not yet reaped, so its pid is its own). */
export function identify(pid: number): ProcessIdentity | undefined {
  const start = processStartToken(pid);
  return start === undefined && process.platform !== 'win32' ? undefined : { pid, start: start ?? '', host: os.hostname() };
}

/** True when `id` still names the same living process on this machine (pid and start time agree): a window's extension host, say. */
export function isSameProcess(id: Partial<ProcessIdentity> | undefined): id is ProcessIdentity {
  if (!id || typeof id.pid !== 'number' || typeof id.start !== 'string' || id.host !== os.hostname()) return false;
  if (process.platform === 'win32') {
    try {
      process.kill(id.pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  const start = processStartToken(id.pid);
  return start !== undefined && start === id.start;
}

/**
 * True when `id` still names the same living process, and that process's command line holds
 * `planFile` (the trainer of this run, not whatever got its pid since).
 */
export function isSameTrainer(id: Partial<ProcessIdentity> | undefined, planFile: string): boolean {
  if (!isSameProcess(id)) return false;
  if (process.platform === 'win32') return true; // no command line to read: the control pipe's hello pid decides
  const args = processArguments(id.pid);
  if (!args) return false;
  return process.platform === 'linux' ? args.includes(planFile) : args.some((a) => a.includes(planFile));
}
