// ChatBackend over any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama,
// llama.cpp server, LM Studio), through the openai package. The API key is held only in memory
// for the client; error messages are scrubbed of it before they leave this module.
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { ChatBackend, ChatMessage, ChatReply } from './loop';
import type { ToolDef } from './tools';
import * as l10n from '@vscode/l10n';

/** The SDK, loaded when the first backend is made (not at activation: see openai-sdk.ts). */
function openAiSdk(): typeof OpenAI {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./openai-sdk') as typeof import('./openai-sdk')).OpenAI;
}

export interface OpenAiBackendOptions {
  baseURL: string;
  model: string;
  apiKey?: string;
  timeoutMs?: number;
}

function toOpenAi(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system': return { role: 'system', content: m.content };
    case 'user': return { role: 'user', content: m.content };
    case 'tool': return { role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' };
    case 'assistant':
      return m.toolCalls?.length
        ? { role: 'assistant', content: m.content || null, tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
        : { role: 'assistant', content: m.content };
  }
}

/** The URL as shown in chat and logs: user:password@ removed. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//');
  }
}

export class OpenAiBackend implements ChatBackend {
  readonly label: string;
  private readonly client: OpenAI;
  private readonly sdk = openAiSdk();
  private readonly secret?: string;

  constructor(private readonly o: OpenAiBackendOptions) {
    this.label = `${o.model} at ${withoutCredentials(o.baseURL)}`;
    this.secret = o.apiKey;
    // Local servers accept any key; the client insists on a non-empty one.
    this.client = new this.sdk({ baseURL: o.baseURL, apiKey: o.apiKey || 'no-key', timeout: o.timeoutMs ?? 60_000, maxRetries: 0 });
  }

  private scrub(text: string): string {
    return this.secret ? text.split(this.secret).join('[api key]') : text;
  }

  async complete(messages: ChatMessage[], tools: ToolDef[], signal: AbortSignal): Promise<ChatReply> {
    const toolDefs: ChatCompletionTool[] = tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
    let res;
    try {
      res = await this.client.chat.completions.create({ model: this.o.model, messages: messages.map(toOpenAi), tools: toolDefs, tool_choice: 'auto' }, { signal });
    } catch (e) {
      if (e instanceof this.sdk.APIConnectionTimeoutError) throw new Error(l10n.t('{0} timed out', this.label));
      const status = e instanceof this.sdk.APIError && e.status ? ` (HTTP ${e.status})` : '';
      throw new Error(this.scrub(`${this.label}${status}: ${(e as Error).message}`));
    }
    const choice = res.choices?.[0];
    if (!choice) throw new Error(l10n.t('{0} returned no choices', this.label));
    const msg = choice.message;
    const toolCalls = (msg.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments ?? '' }] : []));
    const refusal = msg.refusal ?? (choice.finish_reason === 'content_filter' ? l10n.t('the endpoint\'s content filter stopped the reply') : undefined);
    return { text: msg.content ?? '', toolCalls, refusal: refusal ?? undefined };
  }

  /**
   * The same request streamed (`stream: true`, server-sent events): text reaches `onText` as it
   * arrives; tool calls, sent in pieces by index, are joined and returned at the end. This is
   * what the chat view shows when the endpoint serves as a VS Code chat model.
   */
  async stream(messages: ChatMessage[], tools: ToolDef[], signal: AbortSignal, onText: (text: string) => void): Promise<ChatReply> {
    const toolDefs: ChatCompletionTool[] = tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
    let text = '';
    let refusal = '';
    const calls: { id: string; name: string; arguments: string }[] = [];
    try {
      const chunks = await this.client.chat.completions.create({ model: this.o.model, messages: messages.map(toOpenAi), stream: true, ...(toolDefs.length ? { tools: toolDefs, tool_choice: 'auto' as const } : {}) }, { signal });
      for await (const chunk of chunks) {
        const delta = chunk.choices?.[0]?.delta;
        if (!delta) continue;
        if (delta.content) {
          text += delta.content;
          onText(delta.content);
        }
        if (delta.refusal) refusal += delta.refusal;
        for (const c of delta.tool_calls ?? []) {
          const call = (calls[c.index] ??= { id: '', name: '', arguments: '' });
          if (c.id) call.id = c.id;
          if (c.function?.name) call.name += c.function.name;
          if (c.function?.arguments) call.arguments += c.function.arguments;
        }
      }
    } catch (e) {
      if (signal.aborted) return { text, toolCalls: [] };
      if (e instanceof this.sdk.APIConnectionTimeoutError) throw new Error(l10n.t('{0} timed out', this.label));
      const status = e instanceof this.sdk.APIError && e.status ? ` (HTTP ${e.status})` : '';
      throw new Error(this.scrub(`${this.label}${status}: ${(e as Error).message}`));
    }
    const toolCalls = calls.filter((c) => c && c.name).map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, arguments: c.arguments }));
    return { text, toolCalls, refusal: refusal || undefined };
  }
}
