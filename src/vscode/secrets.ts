// The API key of the OpenAI-compatible planner endpoint lives only in VS Code's SecretStorage
// (the OS keychain where there is one). It is set by a command, never read from settings, and
// never written to ARGS.json, README files or the log.
import * as vscode from 'vscode';

const OPENAI_KEY = 'tuner.planner.openai.apiKey';

export class PlannerSecrets {
  constructor(private readonly storage: vscode.SecretStorage) {}

  openAiKey(): Thenable<string | undefined> {
    return this.storage.get(OPENAI_KEY);
  }

  async setOpenAiKey(key: string | undefined): Promise<void> {
    if (key && key.trim()) await this.storage.store(OPENAI_KEY, key.trim());
    else await this.storage.delete(OPENAI_KEY);
  }

  /** Asks for the key (masked input); returns false when the user cancels. */
  async promptForOpenAiKey(): Promise<boolean> {
    const key = await vscode.window.showInputBox({
      title: 'API key for the OpenAI-compatible planner endpoint',
      prompt: 'Stored in VS Code secret storage only. Leave empty to remove the stored key.',
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) return false;
    await this.setOpenAiKey(key);
    return true;
  }
}
