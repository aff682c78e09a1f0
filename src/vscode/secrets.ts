// The API key of the OpenAI-compatible planner endpoint lives only in VS Code's SecretStorage
// (the OS keychain where there is one). It is set by a command, never read from settings, and
// never written to ARGS.json, README files or the log. It is stored with the endpoint it was
// entered for (core/planner/endpoint-key.ts), and goes to another endpoint only when the user
// says so in a modal dialog.
import * as vscode from 'vscode';
import { encodeStoredKey, keyDecision, normalizeEndpoint, parseStoredKey, type StoredKey } from '../core/planner/endpoint-key';
import { withoutCredentials } from '../core/planner/openai-backend';
import { askModal } from './workspace-guard';

const OPENAI_KEY = 'tuner.planner.openai.apiKey';

export class PlannerSecrets {
  constructor(private readonly storage: vscode.SecretStorage) {}

  async stored(): Promise<StoredKey | undefined> {
    return parseStoredKey(await this.storage.get(OPENAI_KEY));
  }

  /** Stores `key` for `endpoint` (the configured base URL), or removes the key when it is empty. */
  async setOpenAiKey(key: string | undefined, endpoint?: string): Promise<void> {
    if (key && key.trim()) {
      if (!endpoint) throw new Error(vscode.l10n.t('set tuner.planner.openai.baseUrl (in your user settings) first: the API key is kept for that endpoint only.'));
      await this.storage.store(OPENAI_KEY, encodeStoredKey({ key: key.trim(), endpoint: normalizeEndpoint(endpoint) }));
    } else {
      await this.storage.delete(OPENAI_KEY);
    }
  }

  /**
   * The key to send to `endpoint`: the stored key when it was entered for this endpoint; when
   * it was entered for another one, only if the user agrees now (the key is then kept for this
   * endpoint). Undefined: send no key.
   */
  async keyFor(endpoint: string): Promise<string | undefined> {
    const d = keyDecision(await this.stored(), endpoint);
    if (d.kind === 'none') return undefined;
    if (d.kind === 'send') return d.key;
    const send = vscode.l10n.t('Send the Key');
    const choice = await askModal(
      vscode.l10n.t('Send your planner API key to {0}?', withoutCredentials(d.endpoint)),
      vscode.l10n.t(
        'The key was entered for {0}, but tuner.planner.openai.baseUrl now names {1}. Send it only if you trust that server; otherwise @tuner plans there without a key. (Run "Tuner: Set API Key for the Planner Endpoint" to enter a key for it.)',
        d.boundTo ? withoutCredentials(d.boundTo) : vscode.l10n.t('an endpoint Tuner did not record'),
        withoutCredentials(d.endpoint),
      ),
      send,
    );
    if (choice !== send) return undefined;
    await this.storage.store(OPENAI_KEY, encodeStoredKey({ key: d.key, endpoint: d.endpoint }));
    return d.key;
  }

  /** Asks for the key (masked input) for `endpoint`; returns false when the user cancels. */
  async promptForOpenAiKey(endpoint: string): Promise<boolean> {
    const key = await vscode.window.showInputBox({
      title: vscode.l10n.t('API key for the planner endpoint {0}', withoutCredentials(endpoint)),
      prompt: vscode.l10n.t('Stored in VS Code secret storage, for this endpoint only. Leave empty to remove the stored key.'),
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return false;
    await this.setOpenAiKey(key, endpoint);
    return true;
  }
}
