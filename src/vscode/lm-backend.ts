// ChatBackend over a VS Code chat model (the one the user picked in the chat view, request.model):
// maps the planner's messages and tools onto the Language Model API and the streamed reply back.
// The API has no system role, so the system prompt goes first as a user message.
import * as vscode from 'vscode';
import type { ChatBackend, ChatMessage, ChatReply } from '../core/planner/loop';
import type { ToolDef } from '../core/planner/tools';

/** A tool call with JSON-text arguments as VS Code's part (an object input; unparsable text kept, not dropped). */
export function toolCallPart(c: { id: string; name: string; arguments: string }): vscode.LanguageModelToolCallPart {
  let input: object;
  try {
    const v = JSON.parse(c.arguments || '{}');
    input = typeof v === 'object' && v !== null ? v : { value: v };
  } catch {
    input = { unparsable_arguments: c.arguments };
  }
  return new vscode.LanguageModelToolCallPart(c.id, c.name, input);
}

function toLm(messages: ChatMessage[]): vscode.LanguageModelChatMessage[] {
  const out: vscode.LanguageModelChatMessage[] = [];
  for (const m of messages) {
    switch (m.role) {
      case 'system':
      case 'user':
        out.push(vscode.LanguageModelChatMessage.User(m.content));
        break;
      case 'assistant': {
        const parts: (vscode.LanguageModelTextPart | vscode.LanguageModelToolCallPart)[] = [];
        if (m.content) parts.push(new vscode.LanguageModelTextPart(m.content));
        for (const c of m.toolCalls ?? []) parts.push(toolCallPart(c));
        out.push(vscode.LanguageModelChatMessage.Assistant(parts.length ? parts : ''));
        break;
      }
      case 'tool':
        out.push(vscode.LanguageModelChatMessage.User([new vscode.LanguageModelToolResultPart(m.toolCallId ?? '', [new vscode.LanguageModelTextPart(m.content)])]));
        break;
    }
  }
  return out;
}

export class LanguageModelBackend implements ChatBackend {
  readonly label: string;

  constructor(private readonly model: vscode.LanguageModelChat) {
    this.label = `${model.name} (${model.vendor})`;
  }

  async complete(messages: ChatMessage[], tools: ToolDef[], signal: AbortSignal): Promise<ChatReply> {
    const cts = new vscode.CancellationTokenSource();
    const onAbort = () => cts.cancel();
    signal.addEventListener('abort', onAbort);
    try {
      const response = await this.model.sendRequest(toLm(messages), {
        justification: vscode.l10n.t('Tuner plans a fine-tuning run with the model you chose.'),
        tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema })),
      }, cts.token);
      let text = '';
      const toolCalls: ChatReply['toolCalls'] = [];
      for await (const part of response.stream) {
        if (signal.aborted) break;
        if (part instanceof vscode.LanguageModelTextPart) text += part.value;
        else if (part instanceof vscode.LanguageModelToolCallPart) toolCalls.push({ id: part.callId, name: part.name, arguments: JSON.stringify(part.input ?? {}) });
      }
      return { text, toolCalls };
    } catch (e) {
      if (e instanceof vscode.LanguageModelError && /blocked|refus|filter/i.test(`${e.code} ${e.message}`)) return { text: '', toolCalls: [], refusal: e.message };
      throw e;
    } finally {
      signal.removeEventListener('abort', onAbort);
      cts.dispose();
    }
  }
}
