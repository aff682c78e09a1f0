// Commands of the @tuner planner, spread into the command table (commands.ts): the API key of an
// OpenAI-compatible endpoint is set and cleared only through these, into SecretStorage, bound to
// the endpoint configured in the user's settings when it is set.
import * as vscode from 'vscode';
import { Config } from './config';
import { PLAN_SCHEME, planFineTune, PlanExplanations, type PlanCommandArgs } from './plan-command';
import type { PlannerSecrets } from './secrets';

export interface PlannerServices {
  plannerSecrets: PlannerSecrets;
  ctx: vscode.ExtensionContext;
}

let explanations: PlanExplanations | undefined;
/** The read-only documents of plan explanations, registered on the first plan. */
function planExplanations(ctx: vscode.ExtensionContext): PlanExplanations {
  if (!explanations) {
    const e = new PlanExplanations();
    ctx.subscriptions.push(vscode.workspace.registerTextDocumentContentProvider(PLAN_SCHEME, e), { dispose: () => { if (explanations === e) explanations = undefined; } });
    explanations = e;
  }
  return explanations;
}

type Handler = (...args: unknown[]) => unknown;

/** The fields of a plan command argument that are what they should be; a link can pass anything. */
function planArgs(given: unknown): PlanCommandArgs {
  if (!given || typeof given !== 'object') return {};
  const g = given as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
  const method = g.method === 'auto' || g.method === 'lora' || g.method === 'full' ? g.method : undefined;
  return { goal: str(g.goal), model: str(g.model), data: str(g.data), method };
}

export const PLANNER_COMMANDS = {
  /** Arg (optional, for chat buttons, keybindings and tests): { goal, model, data, method }; what is missing is asked. */
  'tuner.planFineTune': (s: PlannerServices): Handler => (given) => planFineTune(planExplanations(s.ctx), planArgs(given)),
  /** Arg (optional, for tests and keybindings): the key itself; without it a masked input box asks. */
  'tuner.setPlannerApiKey': (s: PlannerServices): Handler => async (key) => {
    const endpoint = Config.planner().openAiBaseUrl;
    if (!endpoint) throw new Error(vscode.l10n.t('set tuner.planner.openai.baseUrl in your user settings first: the API key is kept for that endpoint only.'));
    if (typeof key === 'string') await s.plannerSecrets.setOpenAiKey(key, endpoint);
    else if (!(await s.plannerSecrets.promptForOpenAiKey(endpoint))) return false;
    void vscode.window.showInformationMessage(vscode.l10n.t('Tuner: the planner API key for {0} is stored in VS Code secret storage.', endpoint));
    return true;
  },
  'tuner.clearPlannerApiKey': (s: PlannerServices): Handler => async () => {
    await s.plannerSecrets.setOpenAiKey(undefined);
    void vscode.window.showInformationMessage(vscode.l10n.t('Tuner: the planner API key was removed.'));
    return true;
  },
} as const;
