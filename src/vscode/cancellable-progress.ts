// A long job under a cancellable progress notification, as Prepare, Clean and Import Dataset run
// theirs: Cancel aborts the job's signal, the bar advances by the job's fraction done, and a job
// that ends by its abort (an AbortError) resolves to undefined so the caller says what was kept.
import * as vscode from 'vscode';

/** What a job reports: its fraction done (0-1) with a line, or a line alone. */
export interface JobProgress {
  (fraction: number, message: string): void;
  (message: string): void;
}

export function withCancellableProgress<T>(title: string, job: (signal: AbortSignal, report: JobProgress) => Promise<T>): Thenable<T | undefined> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const ac = new AbortController();
    token.onCancellationRequested(() => ac.abort());
    let shown = 0;
    const report = ((a: number | string, b?: string) => {
      if (typeof a === 'string') return progress.report({ message: a });
      const pct = Math.floor(a * 100);
      progress.report({ increment: pct - shown, message: b });
      shown = pct;
    }) as JobProgress;
    try {
      return await job(ac.signal, report);
    } catch (e) {
      if ((e as Error).name === 'AbortError') return undefined;
      throw e;
    }
  });
}
