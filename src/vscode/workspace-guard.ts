// What a workspace may make Tuner do without asking. In Restricted Mode (an untrusted
// workspace) Tuner lints, shows statistics and reads ARGS.json; preparing data, training,
// resuming, debugging and anything that writes files or starts the trainer is refused until the
// user trusts the folder (the dialog opens VS Code's trust editor). And in any workspace, ARGS.json paths that lead outside it are used
// only after the user confirms them (the core refuses them with OutsideWorkspaceError).
import * as vscode from 'vscode';
import { OutsideWorkspaceError } from '../core/dataset/prepare-paths';

export class UntrustedWorkspaceError extends Error {
  constructor(action: string) {
    super(vscode.l10n.t('{0} needs a trusted workspace: in Restricted Mode Tuner only lints datasets, shows statistics and reads ARGS.json. Trust this folder (Workspaces: Manage Workspace Trust) if you trust its authors.', action));
    this.name = 'UntrustedWorkspaceError';
  }
}

/**
 * True when the workspace is trusted. Otherwise says why trust is needed (a modal dialog) and
 * offers VS Code's trust editor; the action is then refused, and runs once the user has
 * trusted the folder and starts it again.
 */
export async function trustedOrAsk(action: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const manage = vscode.l10n.t('Manage Workspace Trust');
  const choice = await askModal(
    vscode.l10n.t('{0} needs a trusted workspace.', action),
    vscode.l10n.t("It runs Tuner's tools on this folder's files (tokenizer, chat templates, the trainer) and writes files. In Restricted Mode Tuner only lints datasets, shows statistics and reads ARGS.json. Trust this folder if you trust its authors, then start again."),
    manage,
  );
  if (choice === manage) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

/**
 * A modal warning with one action; undefined when the user closes it, or when VS Code cannot
 * show a dialog (it refuses to while extension tests run): a question not answered is a no.
 */
export async function askModal(message: string, detail: string, action: string): Promise<string | undefined> {
  try {
    return await vscode.window.showWarningMessage(message, { modal: true, detail }, action);
  } catch {
    return undefined;
  }
}

/** Throws UntrustedWorkspaceError unless the workspace is (or is now) trusted. */
export async function requireTrust(action: string): Promise<void> {
  if (!(await trustedOrAsk(action))) throw new UntrustedWorkspaceError(action);
}

/**
 * Runs `attempt` without any location outside the workspace; when the core refuses paths
 * outside it, asks the user (modal, each path listed) and runs it again with those allowed.
 * Declining rethrows the refusal, which says what to change.
 */
export async function withOutsideConfirmation<T>(attempt: (allowed?: readonly string[]) => Thenable<T>): Promise<T> {
  try {
    return await attempt();
  } catch (e) {
    if (!(e instanceof OutsideWorkspaceError)) throw e;
    const list = e.paths.map((p) => `• "${p.field}": ${p.given}${p.given !== p.path ? ` → ${p.path}` : ''}`).join('\n');
    const use = vscode.l10n.t('Use These Locations');
    const one = e.paths.length === 1;
    const choice = await askModal(
      one ? vscode.l10n.t('ARGS.json names a location outside the workspace.') : vscode.l10n.t('ARGS.json names locations outside the workspace.'),
      one
        ? vscode.l10n.t('{0}\n\nTuner reads data and templates, and writes prepared data, only inside {1} unless you allow more. Use it for this preparation?', list, e.workspace)
        : vscode.l10n.t('{0}\n\nTuner reads data and templates, and writes prepared data, only inside {1} unless you allow more. Use them for this preparation?', list, e.workspace),
      use,
    );
    if (choice !== use) throw e;
    return attempt(e.paths.map((p) => p.path));
  }
}
