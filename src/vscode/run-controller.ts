// The editor's side of runs: finds the ARGS.json to run, prepares with a progress notification,
// starts or resumes the trainer through the core RunManager, writes the trainer's log to the
// output channel and turns a failed run into a notification. Status bar, tree, dashboard and
// debugger all listen to this one object.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { lintInWorker } from '../core/dataset/lint-client';
import type { PrepareReport } from '../core/dataset/prepare';
import { isInside, realPathOf } from '../core/dataset/prepare-paths';
import { describeHealth } from '../core/engine/trainer-health';
import { RunManager } from '../core/run/run-manager';
import { describePreparation, summarizeLint, type LintSummary } from '../core/run/start-report';
import type { RunSession, RunSessionOptions } from '../core/run/run-session';
import { RunStore, RunStoreError } from '../core/run/run-store';
import { ArgsError, readArgsFile } from '../core/run/resolve';
import { Config } from './config';
import { log } from './output';
import { reattachRuns, releaseRuns } from './run-reattach';
import { requireTrust, withOutsideConfirmation } from './workspace-guard';

export type LaunchOptions = Pick<RunSessionOptions, 'mode' | 'breakpoints' | 'stopOnEntry'>;

/** The user chose not to train (lint errors in the data): not a failure, nothing to report. */
export class StartDeclinedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartDeclinedError';
  }
}

/** What Start told the user about the data of its last start (for the log and the tests). */
export interface DataCheck {
  argsFile: string;
  lint?: LintSummary;
  /** The question asked (lint errors), and the answer: an action, or undefined when dismissed. */
  asked?: { message: string; answer?: string };
  /** The preparation report, once prepared. */
  preparation?: string;
}

export class RunController implements vscode.Disposable {
  /** `prepareWorker`, `lintWorker`: the bundled dist/prepare-worker.js and dist/lint-worker.js. */
  constructor(private readonly prepareWorker: string, private readonly lintWorker: string) {}

  /** What the last start said about its data. */
  lastDataCheck: DataCheck | undefined;

  private managerFor = new Map<string, RunManager>();
  private readonly changed = new vscode.EventEmitter<RunSession | undefined>();
  private readonly started = new vscode.EventEmitter<RunSession>();
  /** Why the last start of an ARGS.json was refused, at the line of the field, until it starts. */
  private readonly startProblems = vscode.languages.createDiagnosticCollection('tuner-run');
  /** Fires on every event of a live run (and when runs start or end): views refresh from it. */
  readonly onDidChange = this.changed.event;
  readonly onDidStart = this.started.event;
  /** The last "run finished" notification (for the tests: what the user was offered). */
  lastFinished: { runId: string; message: string; actions: string[] } | undefined;
  private context = '';
  /** Runs whose silent trainer has been logged (once per silence). */
  private readonly toldSilent = new Set<string>();
  private readonly contextSub = this.changed.event(() => this.updateContext());

  /**
   * Context keys for the commands' `when` clauses: tuner.runLive (a trainer runs or is paused),
   * tuner.runRunning, tuner.runPaused (of the current run). Set only when they change: events
   * arrive up to thousands a second.
   */
  private updateContext(): void {
    let live = false, running = false, paused = false;
    for (const m of this.managerFor.values()) {
      const cur = m.current();
      if (!cur) continue;
      live = true;
      running ||= cur.snapshot.status === 'running' || cur.snapshot.status === 'starting';
      paused ||= cur.snapshot.status === 'paused';
    }
    const key = `${live}${running}${paused}`;
    if (key === this.context) return;
    this.context = key;
    void vscode.commands.executeCommand('setContext', 'tuner.runLive', live);
    void vscode.commands.executeCommand('setContext', 'tuner.runRunning', running);
    void vscode.commands.executeCommand('setContext', 'tuner.runPaused', paused);
  }

  /** A completed run says where its result is and offers the next steps. */
  private announceEnd(m: RunManager, session: RunSession): void {
    const s = session.snapshot;
    if (s.status !== 'done') return;
    const id = session.record.id;
    const meta = session.record.meta;
    const published = m.publishedOutput(id);
    const folder = published?.dir ?? (s.output ? path.join(session.record.dir, path.basename(s.output)) : session.record.dir);
    const what = [meta.model && path.basename(meta.model), meta.method].filter(Boolean).join(' · ');
    const run = what ? `${id} (${what})` : id;
    const finished = s.loss !== undefined ? vscode.l10n.t('Tuner: run {0} finished at step {1}, final loss {2}.', run, s.step, s.loss.toFixed(3)) : vscode.l10n.t('Tuner: run {0} finished at step {1}.', run, s.step);
    const where = path.basename(folder) === 'model' ? vscode.l10n.t('The model is in {0}.', vscode.workspace.asRelativePath(folder)) : vscode.l10n.t('The adapter is in {0}.', vscode.workspace.asRelativePath(folder));
    const message = [finished, where, published?.problem].filter(Boolean).join(' ');
    const actions = [vscode.l10n.t('Open Folder'), vscode.l10n.t('Open Dashboard'), vscode.l10n.t('Try in Playground')];
    this.lastFinished = { runId: id, message, actions };
    log.info(message);
    void vscode.window.showInformationMessage(message, ...actions).then((choice) => {
      if (choice === vscode.l10n.t('Open Folder')) void vscode.commands.executeCommand('tuner.openRunFolder', id);
      if (choice === vscode.l10n.t('Open Dashboard')) void vscode.commands.executeCommand('tuner.openDashboard', id);
      if (choice === vscode.l10n.t('Try in Playground')) void vscode.commands.executeCommand('tuner.tryInPlayground', id);
    }, () => undefined);
  }

  /** The run store of the first workspace folder (runs/ under it). */
  manager(): RunManager {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder || folder.uri.scheme !== 'file') throw new Error(vscode.l10n.t('open a folder first: runs are kept in its runs/ folder'));
    let m = this.managerFor.get(folder.uri.fsPath);
    if (!m) {
      const made = new RunManager(RunStore.forWorkspace(folder.uri.fsPath), this.prepareWorker);
      m = made;
      m.onDidStart((s) => this.attach(s));
      m.onDidEnd((s) => {
        this.changed.fire(s);
        this.announceEnd(made, s);
      });
      this.managerFor.set(folder.uri.fsPath, m);
      reattachRuns(m);
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
    if (found.length === 0) throw new Error(vscode.l10n.t('no ARGS.json in this workspace: create one (ask @tuner in chat, or start from the ARGS.json snippet)'));
    if (found.length === 1) return found[0].fsPath;
    const pick = await vscode.window.showQuickPick(
      found.map((u) => ({ label: vscode.workspace.asRelativePath(u), uri: u })),
      { placeHolder: vscode.l10n.t('Which ARGS.json to fine-tune with?') },
    );
    return pick?.uri.fsPath;
  }

  /**
   * Prepares the data in a worker (progress notification, cancellable) and starts the trainer.
   * Asks for workspace trust first, and for each ARGS.json path that leads outside the workspace.
   */
  async start(argsFile: string, opts: LaunchOptions, data: { trainAnyway?: boolean } = {}): Promise<RunSession> {
    await requireTrust('Fine-tuning');
    this.lastDataCheck = { argsFile };
    const check = this.lastDataCheck;
    return withOutsideConfirmation(async (allowed) => {
      await this.checkData(argsFile, check, data.trainAnyway === true, allowed);
      return this.prepareAndStart(argsFile, opts, allowed);
    });
  }

  /**
   * Lints the data file of ARGS.json (in the lint worker) and, when it has errors, asks before
   * training: records with errors are left out. Throws StartDeclinedError when the user does
   * not choose "Train Anyway". An ARGS.json that does not read is left to preparation to report.
   */
  private async checkData(argsFile: string, check: DataCheck, trainAnyway: boolean, allowed: readonly string[] = []): Promise<void> {
    let dataFile: string;
    try {
      dataFile = path.resolve(path.dirname(argsFile), readArgsFile(argsFile).data);
    } catch {
      return;
    }
    // A data file outside the workspace is read only once the user allowed it (preparation asks).
    const real = realPathOf(dataFile);
    if (!isInside(realPathOf(this.manager().workspace), real) && !allowed.map(realPathOf).includes(real)) return;
    let summary: LintSummary;
    try {
      summary = summarizeLint(await lintInWorker(this.lintWorker, { filePath: dataFile }, Config.lint(vscode.Uri.file(dataFile)).options));
    } catch (e) {
      log.warn(`could not lint ${dataFile} before the start: ${(e as Error).message}`);
      return;
    }
    check.lint = summary;
    const rel = vscode.workspace.asRelativePath(dataFile);
    log.info(`Start: ${rel}: ${summary.text}`);
    if (summary.errors === 0 || trainAnyway) return;
    const train = vscode.l10n.t('Train Anyway');
    const problems = vscode.l10n.t('Open Problems');
    const message =
      summary.errors === 1
        ? vscode.l10n.t('{0} has 1 lint error: records with errors are left out of training.', rel)
        : vscode.l10n.t('{0} has {1} lint errors: records with errors are left out of training.', rel, summary.errors);
    let answer: string | undefined;
    try {
      answer = await vscode.window.showWarningMessage(message, { modal: true, detail: summary.text }, train, problems);
    } catch {
      answer = undefined; // no dialog can be shown (extension tests): not answered is a no
    }
    check.asked = { message: `${message} ${summary.text}`, answer };
    if (answer === problems) {
      await vscode.window.showTextDocument(vscode.Uri.file(dataFile));
      await vscode.commands.executeCommand('workbench.actions.view.problems');
    }
    if (answer !== train) throw new StartDeclinedError(vscode.l10n.t('not started: {0}', message));
  }

  private async prepareAndStart(argsFile: string, opts: LaunchOptions, allowOutside?: readonly string[]): Promise<RunSession> {
    const manager = this.manager();
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Tuner: preparing {0}', vscode.workspace.asRelativePath(argsFile)), cancellable: true },
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
              if (pct > last) progress.report({ increment: pct - last, message: vscode.l10n.t('{0} records, {1} tokens', p.records, p.tokens) });
              last = pct;
            },
            signal: ac.signal,
            allowOutside,
          });
          log.info(`run ${session.record.id}: ${argsFile} -> ${session.record.dir} (${prepared.report.trainDocuments} train / ${prepared.report.evalDocuments} eval examples)`);
          this.showPreparation(session, prepared.report, prepared.plan.seq_len);
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

  /** The preparation report as a notification: what trains, and each record dropped or cut, by line. */
  private showPreparation(session: RunSession, report: PrepareReport, maxLength: number): void {
    const text = describePreparation(report, maxLength);
    if (this.lastDataCheck) this.lastDataCheck.preparation = text;
    const lint = this.lastDataCheck?.lint;
    log.info(`run ${session.record.id}: ${text}`);
    const message = [vscode.l10n.t('Tuner: run {0} started.', session.record.id), text, lint && (lint.errors || lint.warnings) ? vscode.l10n.t('Lint: {0}.', lint.text) : ''].filter(Boolean).join(' ');
    const show = report.dropped.length || report.truncated.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(message, vscode.l10n.t('Show Log')).then((c) => { if (c) log.show(); }, () => undefined);
  }

  /** A refused ARGS.json (a field the trainer cannot run, a validation error) also shows in the file. */
  private reportStartProblem(e: unknown): void {
    if (!(e instanceof ArgsError) || e.line === undefined) return;
    const line = new vscode.Range(e.line, 0, e.line, Number.MAX_SAFE_INTEGER);
    const diagnostic = new vscode.Diagnostic(line, vscode.l10n.t('Fine-tune: Start refused this file: {0}', e.message), vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'tuner';
    this.startProblems.set(vscode.Uri.file(e.file), [diagnostic]);
  }

  async resume(runId: string, opts: LaunchOptions, checkpoint?: string): Promise<RunSession> {
    await requireTrust(vscode.l10n.t('Resuming a fine-tuning run'));
    const session = this.manager().resume(runId, opts, checkpoint);
    log.info(`run ${runId}: resumed from ${session.options.resumeFrom}`);
    return session;
  }

  /** Starts a run from a plan.json (the debugger's "plan" launch setting), once the workspace is trusted. */
  async startPlan(planFile: string, opts: LaunchOptions): Promise<RunSession> {
    await requireTrust(vscode.l10n.t('Fine-tuning from a plan'));
    return this.manager().startPlan(planFile, opts);
  }

  /** Follows again the live trainers of the workspace this window does not follow yet (started by a closed or another window, or by the CLI). */
  reattach(): void {
    reattachRuns(this.manager());
  }

  /** The live session a command without arguments applies to. */
  current(runId?: unknown): RunSession {
    const m = this.manager();
    const s = typeof runId === 'string' ? m.session(runId) : m.current();
    if (!s) throw new RunStoreError(typeof runId === 'string' ? vscode.l10n.t('run {0} is not running', runId) : vscode.l10n.t('no run is active: start one with "Fine-tune: Start"'));
    return s;
  }

  private attach(session: RunSession): void {
    const id = session.record.id;
    session.listen({
      onEvent: () => this.changed.fire(session),
      onStderr: (text) => {
        for (const line of text.split('\n')) if (line.trim()) log.info(`[${id}] ${line}`);
      },
      onHealth: (health) => {
        this.changed.fire(session);
        if (health.state === 'unresponsive' && !this.toldSilent.has(id)) {
          this.toldSilent.add(id);
          log.warn(`run ${id}: tuner-train (pid ${session.pid}) is ${describeHealth(health)}; it may be stopped or hung`);
        } else if (health.state === 'alive' && this.toldSilent.delete(id)) {
          log.info(`run ${id}: tuner-train answers again`);
        }
      },
      onRole: (role, refused) => {
        this.changed.fire(session);
        if (refused) void vscode.window.showWarningMessage(vscode.l10n.t('Tuner: run {0}: {1}', id, refused));
        else if (role === 'observer') log.info(`run ${id}: another window controls it; this one shows it read-only`);
        else if (session.attached) log.info(`run ${id}: this window controls it now`);
      },
      onExit: (exit, s) => {
        this.changed.fire(session);
        if (s.status === 'failed' || s.status === 'interrupted') {
          // Notifications turn [text](target) into links; the message can quote paths from a
          // shipped plan.json, so that form is broken up.
          const msg = (s.error ? `${s.error.message}${s.error.hint ? ` — ${s.error.hint}` : ''}` : vscode.l10n.t('tuner-train exited with code {0}', String(exit.code))).replace(/\]\(/g, '] (');
          log.error(`run ${id} ${s.status}: ${msg}`);
          const actions = s.lastCheckpoint ? [vscode.l10n.t('Resume'), vscode.l10n.t('Show Log')] : [vscode.l10n.t('Show Log')];
          void vscode.window.showErrorMessage(vscode.l10n.t('Tuner: run {0} {1}: {2}', id, s.status, msg), ...actions).then((choice) => {
            if (choice === vscode.l10n.t('Show Log')) log.show();
            if (choice === vscode.l10n.t('Resume')) void vscode.commands.executeCommand('tuner.resumeFromCheckpoint', id);
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
    // Closing the window leaves live trainers training (the next window reattaches), or stops
    // them with a checkpoint when the user chose so.
    const stop = Config.stopWhenWindowCloses();
    for (const m of this.managerFor.values()) void releaseRuns(m, stop);
    this.changed.dispose();
    this.started.dispose();
    this.startProblems.dispose();
    this.contextSub.dispose();
  }
}
