// The "Tuner" output channel and the guard every entry point from VS Code goes through: an
// exception in a command or event handler becomes a logged error and a message to the user,
// never an unhandled rejection in the extension host.
import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function registerOutput(ctx: vscode.ExtensionContext): vscode.LogOutputChannel {
  // One channel for the extension's life, however often activate() runs (the tests run it again).
  channel ??= vscode.window.createOutputChannel('Tuner', { log: true });
  ctx.subscriptions.push(channel);
  return channel;
}

export const log = {
  info(message: string): void { channel?.info(message); },
  warn(message: string): void { channel?.warn(message); },
  error(message: string, err?: unknown): void {
    channel?.error(err === undefined ? message : `${message}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  },
  show(): void { channel?.show(true); },
};

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reports a failure of `what` to the user (with a way to the log) and to the output channel. */
/** The last error messages shown (for the integration tests: what the user read). */
export const shownErrors: string[] = [];

export function reportError(what: string, err: unknown): void {
  log.error(`${what} failed`, err);
  shownErrors.push(vscode.l10n.t('Tuner: {0} failed: {1}', what, errorMessage(err)));
  if (shownErrors.length > 20) shownErrors.shift();
  void vscode.window.showErrorMessage(vscode.l10n.t('Tuner: {0} failed: {1}', what, errorMessage(err)), vscode.l10n.t('Show Log')).then(
    (choice) => { if (choice) log.show(); },
    () => undefined,
  );
}

/** Wraps a handler so that a throw or rejection is reported instead of escaping. */
export function guard<A extends unknown[], R>(what: string, fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R | undefined> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      reportError(what, err);
      return undefined;
    }
  };
}
