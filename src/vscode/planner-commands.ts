// Commands of the @tuner planner, spread into the command table (commands.ts): the API key of an
// OpenAI-compatible endpoint is set and cleared only through these, into SecretStorage, bound to
// the endpoint configured in the user's settings when it is set.
import * as vscode from 'vscode';
import { Config } from './config';
import type { PlannerSecrets } from './secrets';

export interface PlannerServices {
  plannerSecrets: PlannerSecrets;
}

type Handler = (...args: unknown[]) => unknown;

export const PLANNER_COMMANDS = {
  /** Arg (optional, for tests and keybindings): the key itself; without it a masked input box asks. */
  'tuner.setPlannerApiKey': (s: PlannerServices): Handler => async (key) => {
    const endpoint = Config.planner().openAiBaseUrl;
    if (!endpoint) throw new Error('set tuner.planner.openai.baseUrl in your user settings first: the API key is kept for that endpoint only.');
    if (typeof key === 'string') await s.plannerSecrets.setOpenAiKey(key, endpoint);
    else if (!(await s.plannerSecrets.promptForOpenAiKey(endpoint))) return false;
    void vscode.window.showInformationMessage(`Tuner: the planner API key for ${endpoint} is stored in VS Code secret storage.`);
    return true;
  },
  'tuner.clearPlannerApiKey': (s: PlannerServices): Handler => async () => {
    await s.plannerSecrets.setOpenAiKey(undefined);
    void vscode.window.showInformationMessage('Tuner: the planner API key was removed.');
    return true;
  },
} as const;
