// The editor's side of runs: finds the ARGS.json to run, prepares with a progress notification,
// starts or resumes the trainer through the core RunManager, writes the trainer's log to the
// output channel and turns a failed run into a notification. Status bar, tree, dashboard and
// debugger all listen to this one object.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { RunManager } from '../core/run/run-manager';
import type { RunSession, RunSessionOptions } from '../core/run/run-session';
import { RunStore, RunStoreError } from '../core/run/run-store';
import { ArgsError } from '../core/run/resolve';
import { log } from './output';
import { requireTrust, withOutsideConfirmation } from './workspace-guard';

export type LaunchOptions = Pick<RunSessionOptions, 'mode' | 'breakpoints' | 'stopOnEntry'>;

export class RunController implements vscode.Disposable {
  /** `prepareWorker`: the bundled dist/prepare-worker.js that prepares each new run's data. */
  constructor(private readonly prepareWorker: string) {}

  private managerFor = new Map<string, RunManager>();
  private readonly changed = new vscode.EventEmitter<RunSession | undefined>();
  private readonly started = new vscode.EventEmitter<RunSession>();
  /** Why the last start of an ARGS.json was refused, at the line of the field, until it starts. */
  private readonly startProblems = vscode.languages.createDiagnosticCollection('tuner-run');
  /** Fires on every event of a live run (and when runs start or end): views refresh from it. */
  readonly onDidChange = this.changed.event;
  readonly onDidStart = this.started.event;

  /** The run store of the first workspace folder (runs/ under it). */
  manager(): RunManager {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder || folder.uri.scheme !== 'file') throw new Error('open a folder first: runs are kept in its runs/ folder');
    let m = this.managerFor.get(folder.uri.fsPath);
    if (!m) {
      m = new RunManager(RunStore.forWorkspace(folder.uri.fsPath), this.prepareWorker);
      m.onDidStart((s) => this.attach(s));
      m.onDidEnd((s) => this.changed.fire(s));
      this.managerFor.set(folder.uri.fsPath, m);
    }
    return m;
  }

  hasWorkspace(): boolean {
    return !!vscode.workspace.workspaceFolders?.some((f) => f.uri.scheme === 'file');
  }

  /** The ARGS.json to run: the argument, the active editor's, or the one (or a pick of several) in the workspace. */
  async pickArgsFile(arg?: unknown): Promise<string | undefined> {
    if (arg instanceof vscode.Uri) return arg.fsPath;
    if (typeof arg === 'string' && arg) return path.resolve(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', arg);
    const active = vscode.window.activeTextEditor?.document;
    if (active && path.basename(active.uri.fsPath) === 'ARGS.json') {
      if (active.isDirty) await active.save();
      return active.uri.fsPath;
    }
    const found = await vscode.workspace.findFiles('**/ARGS.json', '{**/node_modules/**,**/runs/**}', 50);
    if (found.length === 0) throw new Error('no ARGS.json in this workspace: create one (ask @tuner in chat, or start from the ARGS.json snippet)');
    if (found.length === 1) return found[0].fsPath;
    const pick = await vscode.window.showQuickPick(
      found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
      { placeHolder: 'Which ARGS.json to fine-tune with?' },
    );
    return pick?.uri.fsPath;
  }

  /**
   * Prepares the data in a worker (progress notification, cancellable) and starts the trainer.
   * Asks for workspace trust first, and for each ARGS.json path that leads outside the workspace.
   */
  async start(argsFile: string, opts: LaunchOptions): Promise<RunSession> {
    await requireTrust('Fine-tuning');
    return withOutsideConfirmation((allowed) => this.prepareAndStart(argsFile, opts, allowed));
  }

  private async prepareAndStart(argsFile: string, opts: LaunchOptions, allowOutside?: readonly string[]): Promise<RunSession> {
    const manager = this.manager();
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Tuner: preparing ${vscode.workspace.asRelativePath(argsFile)}`, cancellable: true },
      async (progress, token) => {
        const ac = new AbortController();
        const onCancel = token.onCancellationRequested(() => ac.abort());
        let last = 0;
        try {
          const { session, prepared } = await manager.start(argsFile, {
            ...opts,
            onStage: (message) => progress.report({ message }),
            onProgress: (p) => {
              const pct = Math.round(p.fraction * 100);
              if (pct > last) progress.report({ increment: pct - last, message: `${p.records} records, ${p.tokens} tokens` });
              last = pct;
            },
            signal: ac.signal,
            allowOutside,
          });
          log.info(`run ${session.record.id}: ${argsFile} -> ${session.record.dir} (${prepared.report.trainDocuments} train / ${prepared.report.evalDocuments} eval examples)`);
          this.startProblems.delete(vscode.Uri.file(argsFile));
          return session;
        } catch (e) {
          this.reportStartProblem(e);
          throw e;
        } finally {
          onCancel.dispose();
        }
      },
    );
  }

  /** A refused ARGS.json (a field the trainer cannot run, a validation error) also shows in the file. */
  private reportStartProblem(e: unknown): void {
    if (!(e instanceof ArgsError) || e.line === undefined) return;
    const line = new vscode.Range(e.line, 0, e.line, Number.MAX_SAFE_INTEGER);
    const diagnostic = new vscode.Diagnostic(line, `Fine-tune: Start refused this file: ${e.message}`, vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'tuner';
    this.startProblems.set(vscode.Uri.file(e.file), [diagnostic]);
  }

  async resume(runId: string, opts: LaunchOptions, checkpoint?: string): Promise<RunSession> {
    await requireTrust('Resuming a fine-tuning run');
    const session = this.manager().resume(runId, opts, checkpoint);
    log.info(`run ${runId}: resumed from ${session.options.resumeFrom}`);
    return session;
  }

  /** Starts a run from a plan.json (the debugger's "plan" launch setting), once the workspace is trusted. */
  async startPlan(planFile: string, opts: LaunchOptions): Promise<RunSession> {
    await requireTrust('Fine-tuning from a plan');
    return this.manager().startPlan(planFile, opts);
  }

  /** The live session a command without arguments applies to. */
  current(runId?: unknown): RunSession {
    const m = this.manager();
    const s = typeof runId === 'string' ? m.session(runId) : m.current();
    if (!s) throw new RunStoreError(typeof runId === 'string' ? `run ${runId} is not running` : 'no run is active: start one with "Fine-tune: Start"');
    return s;
  }

  private attach(session: RunSession): void {
    const id = session.record.id;
    session.listen({
      onEvent: () => this.changed.fire(session),
      onStderr: (text) => {
        for (const line of text.split('\n')) if (line.trim()) log.info(`[${id}] ${line}`);
      },
      onExit: (exit, s) => {
        this.changed.fire(session);
        if (s.status === 'failed' || s.status === 'interrupted') {
          // Notifications turn [text](target) into links; the message can quote paths from a
          // shipped plan.json, so that form is broken up.
          const msg = (s.error ? `${s.error.message}${s.error.hint ? ` — ${s.error.hint}` : ''}` : `tuner-train exited with code ${exit.code}`).replace(/\]\(/g, '] (');
          log.error(`run ${id} ${s.status}: ${msg}`);
          const actions = s.lastCheckpoint ? ['Resume', 'Show Log'] : ['Show Log'];
          void vscode.window.showErrorMessage(`Tuner: run ${id} ${s.status}: ${msg}`, ...actions).then((choice) => {
            if (choice === 'Show Log') log.show();
            if (choice === 'Resume') void vscode.commands.executeCommand('tuner.resumeFromCheckpoint', id);
          });
        } else {
          log.info(`run ${id} ${s.status} at step ${s.step}${s.output ? `: ${s.output}` : ''}`);
        }
      },
    });
    this.started.fire(session);
    this.changed.fire(session);
  }

  dispose(): void {
    // Closing the editor stops live trainers cleanly (SIGTERM checkpoints), so a reopened
    // workspace resumes from where it stopped.
    for (const m of this.managerFor.values()) void m.stopAll();
    this.changed.dispose();
    this.started.dispose();
    this.startProblems.dispose();
  }
}
