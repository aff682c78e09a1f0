// The messages src/core composes (lint diagnostics, ARGS.json checks, planner text, run errors)
// are @vscode/l10n's l10n.t calls, since src/core cannot reach vscode.l10n. The extension hands
// this module VS Code's bundle for the display language at activation; worker threads and child
// processes have their own copy of @vscode/l10n, so the bundle travels to them (workerData for a
// thread, a file named in the environment for a process) and each sets it before composing text.
// No bundle (English, or a language the extension has no translation for) means the English text.
import * as fs from 'node:fs';
import * as l10n from '@vscode/l10n';

/** Message → translation, as in l10n/bundle.l10n.<locale>.json. */
export type L10nBundle = Record<string, string | { message: string; comment: string[] }>;

/** The environment variable naming the bundle file for a child process. */
export const L10N_BUNDLE_ENV = 'TUNER_L10N_BUNDLE';

let current: { contents?: L10nBundle; file?: string } = {};

/** Every l10n.t of this thread translates with `contents` (undefined: English). */
export function useL10nBundle(contents: L10nBundle | undefined, file?: string): void {
  current = { contents, file };
  l10n.config({ contents: contents ?? {} });
}

/** The bundle this thread uses, for a worker thread's workerData. */
export function l10nBundle(): L10nBundle | undefined {
  return current.contents;
}

/** The environment entry that gives a child process the same bundle (none for English). */
export function l10nEnv(): Record<string, string> {
  return current.file ? { [L10N_BUNDLE_ENV]: current.file } : {};
}

/** In a child process: use the bundle the parent named, if any; a bundle that cannot be read leaves English. */
export function useL10nBundleFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  const file = env[L10N_BUNDLE_ENV];
  if (!file) return;
  try {
    useL10nBundle(JSON.parse(fs.readFileSync(file, 'utf8')) as L10nBundle, file);
  } catch {
    // the parent's own messages are translated; this process's stay English rather than fail
  }
}
