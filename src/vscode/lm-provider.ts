// Tuner's language model provider (vendor "tuner"), so @tuner is answered in a VS Code that has
// no chat model: the chat view refuses every request, a participant's included, until some
// model exists. It offers
//   - the OpenAI-compatible endpoint of tuner.planner.openai.* (a local Ollama, llama.cpp server
//     or vLLM works offline) as a chat model, streamed, with tool calls; or, with none set,
//   - while VS Code has no other chat model, "Tuner planner (rules)", which serves @tuner only:
//     @tuner plans with its built-in rules, any other request is told to ask @tuner or run
//     "Tuner: Plan a Fine-tune…". It leaves the model picker once another vendor offers a model.
// registerLanguageModelChatProvider is final API since VS Code 1.104; on an older VS Code the
// provider is not registered and @tuner needs a chat model as before.
import * as vscode from 'vscode';
import type { ChatMessage } from '../core/planner/loop';
import { OpenAiBackend, withoutCredentials } from '../core/planner/openai-backend';
import type { ToolDef } from '../core/planner/tools';
import { Config } from './config';
import { toolCallPart } from './lm-backend';
import { log } from './output';
import type { PlannerSecrets } from './secrets';

export const LM_VENDOR = 'tuner';
/** The id of the rules model: requests to it plan with the rules (chat-participant.ts). */
export const RULES_MODEL_ID = 'tuner-rules';

// The provider shapes of VS Code 1.104+ (the typings pinned by engines.vscode predate them).
interface ChatInformation {
  id: string;
  name: string;
  family: string;
  version: string;
  tooltip?: string;
  detail?: string;
  maxInputTokens: number;
  maxOutputTokens: number;
  isUserSelectable?: boolean;
  capabilities: { toolCalling?: boolean };
}
interface RequestMessage { role: vscode.LanguageModelChatMessageRole; content: readonly unknown[] }
interface ResponseOptions { tools?: readonly { name: string; description: string; inputSchema?: object }[] }
interface Provider {
  onDidChangeLanguageModelChatInformation?: vscode.Event<void>;
  provideLanguageModelChatInformation(options: { silent: boolean }, token: vscode.CancellationToken): Promise<ChatInformation[]>;
  provideLanguageModelChatResponse(model: ChatInformation, messages: readonly RequestMessage[], options: ResponseOptions, progress: vscode.Progress<unknown>, token: vscode.CancellationToken): Promise<void>;
  provideTokenCount(model: ChatInformation, text: string | RequestMessage, token: vscode.CancellationToken): Promise<number>;
}
type ProviderApi = { registerLanguageModelChatProvider?: (vendor: string, provider: Provider) => vscode.Disposable };

function textOf(parts: readonly unknown[]): string {
  return parts.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('');
}

/** VS Code's request messages as the planner's chat messages (tool calls and results kept). */
export function toChatMessages(messages: readonly RequestMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const results = m.content.filter((p): p is vscode.LanguageModelToolResultPart => p instanceof vscode.LanguageModelToolResultPart);
    for (const r of results) out.push({ role: 'tool', toolCallId: r.callId, content: textOf(r.content) });
    const text = textOf(m.content);
    if (m.role === vscode.LanguageModelChatMessageRole.Assistant) {
      const calls = m.content.filter((p): p is vscode.LanguageModelToolCallPart => p instanceof vscode.LanguageModelToolCallPart);
      out.push({ role: 'assistant', content: text, toolCalls: calls.length ? calls.map((c) => ({ id: c.callId, name: c.name, arguments: JSON.stringify(c.input ?? {}) })) : undefined });
    } else if (text || !results.length) {
      out.push({ role: m.role === vscode.LanguageModelChatMessageRole.User ? 'user' : 'system', content: text });
    }
  }
  return out;
}

// a function: read when the bundle is set, not when the module loads
const rulesReply = () => vscode.l10n.t('Tuner planner (rules) only plans fine-tuning runs: start your message with `@tuner` and describe the goal, or run **Tuner: Plan a Fine-tune…** from the Command Palette. To chat with a local model, set `tuner.planner.openai.baseUrl` and `tuner.planner.openai.model` to an OpenAI-compatible server (Ollama, llama.cpp, vLLM).');

export function registerLanguageModelProvider(ctx: vscode.ExtensionContext, secrets: PlannerSecrets): boolean {
  const api = vscode.lm as unknown as ProviderApi;
  if (typeof api.registerLanguageModelChatProvider !== 'function') return false;
  const changed = new vscode.EventEmitter<void>();
  // Whether another vendor offers a chat model, looked up outside the provider's own callback
  // (selectChatModels asks every provider, this one included).
  let othersExist = false;
  const lookAtOthers = async () => {
    try {
      const now = (await vscode.lm.selectChatModels()).some((m) => m.vendor !== LM_VENDOR);
      if (now !== othersExist) {
        othersExist = now;
        changed.fire();
      }
    } catch (e) {
      log.warn(`listing chat models failed: ${(e as Error).message}`);
    }
  };
  const provider: Provider = {
    onDidChangeLanguageModelChatInformation: changed.event,
    async provideLanguageModelChatInformation() {
      const c = Config.planner();
      if (c.openAiBaseUrl && c.openAiModel) {
        return [{
          id: c.openAiModel,
          name: c.openAiModel,
          family: 'openai-compatible',
          version: '1',
          detail: withoutCredentials(c.openAiBaseUrl),
          tooltip: vscode.l10n.t('{0} at {1} (tuner.planner.openai.*)', c.openAiModel, withoutCredentials(c.openAiBaseUrl)),
          maxInputTokens: 32_768,
          maxOutputTokens: 4_096,
          isUserSelectable: true,
          capabilities: { toolCalling: true },
        }];
      }
      if (othersExist) return [];
      return [{
        id: RULES_MODEL_ID,
        name: vscode.l10n.t('Tuner planner (rules)'),
        family: 'tuner-rules',
        version: '1',
        detail: vscode.l10n.t('offline, @tuner only'),
        tooltip: vscode.l10n.t('Plans fine-tuning runs with Tuner\'s built-in rules, offline. Serves @tuner only.'),
        maxInputTokens: 1_000_000,
        maxOutputTokens: 4_096,
        isUserSelectable: true,
        // The chat view's default (Agent) mode offers only models that can call tools; this one
        // never does, but without the flag the chat would have no model to send @tuner requests with.
        capabilities: { toolCalling: true },
      }];
    },
    async provideLanguageModelChatResponse(model, messages, options, progress, token) {
      if (model.id === RULES_MODEL_ID) {
        progress.report(new vscode.LanguageModelTextPart(rulesReply()));
        return;
      }
      const c = Config.planner();
      if (!c.openAiBaseUrl || model.id !== c.openAiModel) throw new Error(vscode.l10n.t('the model {0} is no longer configured in tuner.planner.openai.model', model.id));
      const backend = new OpenAiBackend({ baseURL: c.openAiBaseUrl, model: c.openAiModel, apiKey: await secrets.keyFor(c.openAiBaseUrl), timeoutMs: c.timeoutMs });
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      try {
        const tools: ToolDef[] = (options.tools ?? []).map((t) => ({ name: t.name, description: t.description, inputSchema: (t.inputSchema ?? { type: 'object', properties: {} }) as ToolDef['inputSchema'] }));
        const reply = await backend.stream(toChatMessages(messages), tools, ac.signal, (text) => progress.report(new vscode.LanguageModelTextPart(text)));
        for (const call of reply.toolCalls) progress.report(toolCallPart(call));
        if (reply.refusal && !reply.text) progress.report(new vscode.LanguageModelTextPart(reply.refusal));
      } finally {
        sub.dispose();
      }
    },
    async provideTokenCount(_model, text) {
      // A rough count (about four characters a token) is all VS Code needs for its budget.
      const s = typeof text === 'string' ? text : textOf(text.content);
      return Math.ceil(s.length / 4);
    },
  };
  ctx.subscriptions.push(
    changed,
    api.registerLanguageModelChatProvider(LM_VENDOR, provider),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tuner.planner.openai')) changed.fire();
    }),
    vscode.lm.onDidChangeChatModels(() => void lookAtOthers()),
  );
  void lookAtOthers();
  log.info('language model provider "tuner" registered (the planner endpoint, or the rules for @tuner)');
  return true;
}
