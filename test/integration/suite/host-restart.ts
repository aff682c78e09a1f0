// Restarting the real extension host in the middle of the suite. A test cannot outlive its host,
// so it asks for the restart (requestRestart, with the state it hands over and the tests to run
// next); when mocha ends, index.ts keeps the request with this host's results in the workspace,
// restarts the host (workbench.action.restartExtensionHost: the host deactivates, as on a window
// reload, and a new one starts, runs this suite's entry again and reads the request), and the
// new host runs only the tests the request names and reports both hosts' results together.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export interface HostResults {
  passes: number;
  failures: number;
  /** Each failed test's full title and error: printed again at the end of the last host. */
  failed?: string[];
}

interface RestartFile {
  /** requested: by a test of this host; restarting: the host is being restarted; resumed: the new host runs `grep`. */
  phase: 'requested' | 'restarting' | 'resumed';
  grep: string;
  state: unknown;
  earlier: HostResults[];
  /** restart: stopped as on a reload (Tuner deactivates); crash: killed outright (no deactivation). */
  how?: 'restart' | 'crash';
}

function restartFile(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder && path.join(folder.uri.fsPath, '.tuner-host-restart.json');
}

function read(): RestartFile | undefined {
  const file = restartFile();
  try {
    return file ? (JSON.parse(fs.readFileSync(file, 'utf8')) as RestartFile) : undefined;
  } catch {
    return undefined;
  }
}

function write(r: RestartFile): void {
  fs.writeFileSync(restartFile()!, JSON.stringify(r, null, 2));
}

/** Asks for a restart of the extension host once this host's tests have ended; then the tests whose titles match `grep` run, with `state`. */
export function requestRestart(grep: string, state: unknown, how: 'restart' | 'crash' = 'restart'): void {
  const prior = read();
  write({ phase: 'requested', grep, state, how, earlier: prior?.phase === 'resumed' ? prior.earlier : [] });
}

/** The state handed over by the host before this one, when this host is a restarted one; else undefined. */
export function afterRestart<T>(): T | undefined {
  const r = read();
  return r?.phase === 'resumed' ? (r.state as T) : undefined;
}

/** index.ts, before mocha runs: the grep of a restarted host (its results so far), or undefined for a first host. */
export function resumeAfterRestart(): { grep: string; earlier: HostResults[] } | undefined {
  const r = read();
  if (r?.phase !== 'restarting') return undefined;
  write({ ...r, phase: 'resumed' });
  return { grep: r.grep, earlier: r.earlier };
}

/**
 * index.ts, after mocha ran: when a test asked for a restart, keeps `results` with the request and
 * restarts the host (true: this host's promise must never settle). Otherwise clears the file.
 */
export async function restartIfRequested(results: HostResults): Promise<boolean> {
  const r = read();
  if (r?.phase !== 'requested') {
    const file = restartFile();
    if (file) fs.rmSync(file, { force: true });
    return false;
  }
  write({ ...r, phase: 'restarting', earlier: [...r.earlier, results] });
  console.log(`host-restart: restarting the extension host; next: ${r.grep}`);
  if (r.how === 'crash') {
    // Killed as a crash kills it: no deactivate. The line above must reach run-host first.
    await new Promise((res) => setTimeout(res, 1500));
    process.kill(process.pid, 'SIGKILL');
  }
  await vscode.commands.executeCommand('workbench.action.restartExtensionHost');
  return true;
}
