// Lints dataset documents and publishes the problems as diagnostics: on open, as the user types
// (debounced) and on save. Files above `tuner.lint.workerThresholdBytes`, and files with a line
// longer than LONG_LINE_CHARS, are linted in a worker thread (dist/lint-worker.js) with progress
// in the status bar, so the extension host never blocks; a newer run of the same document
// cancels the older one. A clean file on disk is linted from its bytes, which is the only way to
// see a byte order mark or invalid UTF-8 (the editor decodes both away); those findings stay
// until the file is next read from disk.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { modelNameFor } from '../core/args/find-args';
import { lintBytes, lintText, type LintResult } from '../core/dataset/lint';
import { hasLongLine, lintInWorker } from '../core/dataset/lint-client';
import type { Problem, Range } from '../core/dataset/problem';
import { ruleById } from '../core/dataset/rules';
import { Config } from './config';
import { isDatasetDocument } from './jsonl-documents';
import { log, reportError } from './output';
import { toDiagnostic } from './problem-mapping';

export type LintTrigger = 'open' | 'change' | 'save' | 'settings' | 'command';

export interface LintReport {
  uri: vscode.Uri;
  /** Document version the problems belong to. */
  version: number;
  result: LintResult;
  engine: 'inline' | 'worker';
  source: 'bytes' | 'text';
  durationMs: number;
  /** The format forced by `tuner.dataset.format`, if any. */
  forcedFormat?: string;
}

/**
 * Problems only a byte-level read can find; kept while the user edits the decoded text. Invalid
 * UTF-8 is not among them: the text shows it as U+FFFD, which the text lint reports where it is now.
 */
const BYTE_LEVEL_CODES = new Set([ruleById('bom').code]);

/**
 * The linter reads a BOM as a column of line 0; VS Code's document does not contain it (the
 * editor keeps it as the file's encoding). Shift line 0 back into document columns, and drop
 * the BOM problem's text edit, which would delete the record's first character here: the code
 * action for it changes the file's encoding instead.
 */
function withoutBom(result: LintResult): LintResult {
  const bomCode = ruleById('bom').code;
  if (!result.problems.some((p) => p.code === bomCode)) return result;
  const shift = (r: Range): Range => ({
    line: r.line,
    col: r.line === 0 ? Math.max(0, r.col - 1) : r.col,
    endLine: r.endLine,
    endCol: r.endLine === 0 ? Math.max(0, r.endCol - 1) : r.endCol,
  });
  const problems = result.problems.map((p): Problem => p.code === bomCode
    ? { ...p, range: { line: 0, col: 0, endLine: 0, endCol: 0 }, fixes: undefined }
    : { ...p, range: shift(p.range), fixes: p.fixes?.map((f) => ({ ...f, edits: f.edits.map((e) => ({ ...e, range: shift(e.range) })) })) });
  return { ...result, problems };
}

export class JsonlLinter implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('tuner');
  private readonly reports = new Map<string, LintReport>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly running = new Map<string, AbortController>();
  private readonly failedOnce = new Set<string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Fires when a document's report or busy state changes. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly workerPath: string) {}

  report(uri: vscode.Uri): LintReport | undefined {
    return this.reports.get(uri.toString());
  }

  isLinting(uri: vscode.Uri): boolean {
    return this.running.has(uri.toString());
  }

  /** Lints after the debounce delay; each new call restarts the delay. */
  schedule(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    const { debounceMs } = Config.lint(doc.uri);
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      void this.lint(doc, 'change');
    }, debounceMs));
  }

  /** Lints now, cancelling any run still going for the document. Never throws. */
  async lint(doc: vscode.TextDocument, trigger: LintTrigger): Promise<LintReport | undefined> {
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.running.get(key)?.abort();
    const abort = new AbortController();
    this.running.set(key, abort);
    this.changed.fire(doc.uri);
    try {
      const report = await this.run(doc, trigger, abort.signal);
      if (abort.signal.aborted || doc.isClosed) return undefined;
      this.publish(doc, report);
      this.failedOnce.delete(key);
      return report;
    } catch (err) {
      if (abort.signal.aborted) return undefined;
      // Linting runs on every keystroke: tell the user once per file, log every time.
      if (this.failedOnce.has(key)) log.error(`linting ${doc.uri.fsPath} failed`, err);
      else reportError(`linting ${path.basename(doc.uri.fsPath)}`, err);
      this.failedOnce.add(key);
      return undefined;
    } finally {
      if (this.running.get(key) === abort) {
        this.running.delete(key);
        this.changed.fire(doc.uri);
      }
    }
  }

  forget(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.running.get(key)?.abort();
    this.running.delete(key);
    this.reports.delete(key);
    this.collection.delete(uri);
    this.changed.fire(uri);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const a of this.running.values()) a.abort();
    this.collection.dispose();
    this.changed.dispose();
  }

  private async run(doc: vscode.TextDocument, trigger: LintTrigger, signal: AbortSignal): Promise<LintReport> {
    const base = Config.lint(doc.uri);
    // ARGS.json's model_name replaces an identity placeholder such as [MODEL NAME] when the data
    // is prepared: the linter then offers it as the quick fix instead of warning.
    const modelName = doc.uri.scheme === 'file' ? modelNameFor(doc.uri.fsPath, vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath) : undefined;
    const settings = modelName ? { ...base, options: { ...base.options, modelName } } : base;
    const started = performance.now();
    const version = doc.version;
    // A file deleted or unreadable since it was opened is linted from the editor's text.
    const diskSize = doc.uri.scheme === 'file' && !doc.isDirty && trigger !== 'change'
      ? await vscode.workspace.fs.stat(doc.uri).then((st) => st.size, () => undefined)
      : undefined;
    const fromDisk = diskSize !== undefined;
    const size = diskSize ?? doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
    // Small files are linted here unless a line is long (hasLongLine): then the worker takes it
    // too, so no single record can hold the extension host's thread.
    let content: Uint8Array | string | undefined;
    let useWorker = size > settings.workerThresholdBytes;
    if (!useWorker) {
      content = fromDisk ? await vscode.workspace.fs.readFile(doc.uri) : doc.getText();
      useWorker = hasLongLine(content);
    }
    let result: LintResult;
    if (useWorker) {
      const name = path.basename(doc.uri.fsPath);
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Tuner: linting {0}', name) },
        (progress) => lintInWorker(
          this.workerPath,
          fromDisk ? { filePath: doc.uri.fsPath } : { text: doc.getText() },
          settings.options,
          (done: number) => progress.report({ message: `${Math.round(done * 100)}%` }),
          signal,
        ),
      );
    } else {
      result = typeof content === 'string' ? lintText(content, settings.options) : lintBytes(content!, settings.options);
    }
    if (fromDisk) result = withoutBom(result);
    if (!fromDisk) result = this.keepByteLevelProblems(doc.uri, result);
    const durationMs = performance.now() - started;
    log.info(`linted ${doc.uri.fsPath} (${trigger}, ${useWorker ? 'worker' : 'inline'}, ${fromDisk ? 'bytes' : 'text'}): ${result.records} records, ${result.problems.length} problems, ${durationMs.toFixed(0)} ms`);
    const forced = settings.options.format && settings.options.format !== 'auto' ? settings.options.format : undefined;
    return { uri: doc.uri, version, result, engine: useWorker ? 'worker' : 'inline', source: fromDisk ? 'bytes' : 'text', durationMs, forcedFormat: forced };
  }

  private keepByteLevelProblems(uri: vscode.Uri, result: LintResult): LintResult {
    const previous = this.report(uri);
    const kept = previous?.result.problems.filter((p) => BYTE_LEVEL_CODES.has(p.code)) ?? [];
    return kept.length ? { ...result, problems: [...kept, ...result.problems.filter((p) => !BYTE_LEVEL_CODES.has(p.code))] } : result;
  }

  private publish(doc: vscode.TextDocument, report: LintReport): void {
    this.reports.set(doc.uri.toString(), report);
    this.collection.set(doc.uri, report.result.problems.map((p) => toDiagnostic(p, this.extensionUri)));
    this.changed.fire(doc.uri);
  }
}

export function registerJsonlDiagnostics(ctx: vscode.ExtensionContext): JsonlLinter {
  const linter = new JsonlLinter(ctx.extensionUri, path.join(ctx.extensionPath, 'dist', 'lint-worker.js'));
  const lintIfDataset = (doc: vscode.TextDocument, trigger: LintTrigger) => {
    if (isDatasetDocument(doc)) void linter.lint(doc, trigger);
  };
  ctx.subscriptions.push(
    linter,
    vscode.workspace.onDidOpenTextDocument((doc) => lintIfDataset(doc, 'open')),
    vscode.workspace.onDidSaveTextDocument((doc) => lintIfDataset(doc, 'save')),
    vscode.workspace.onDidCloseTextDocument((doc) => linter.forget(doc.uri)),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0 && isDatasetDocument(e.document)) linter.schedule(e.document);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!Config.affectsLint(e)) return;
      for (const doc of vscode.workspace.textDocuments) {
        if (isDatasetDocument(doc)) void linter.lint(doc, 'settings');
        else if (linter.report(doc.uri)) linter.forget(doc.uri);
      }
    }),
  );
  for (const doc of vscode.workspace.textDocuments) lintIfDataset(doc, 'open');
  return linter;
}
