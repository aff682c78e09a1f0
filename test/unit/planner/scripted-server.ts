// An OpenAI-compatible chat-completions server on 127.0.0.1 that answers from a script: each
// request takes the next step, which sees the request body and returns a reply (or stalls, or
// fails). The planner talks to it through the real openai client over HTTP. A request with
// "stream": true gets the reply as server-sent events (chat.completion.chunk, text in pieces,
// tool calls split by index, then [DONE]) as Ollama, llama.cpp and vLLM send it.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ToolCallSpec { name: string; arguments: string; id?: string }
export type Step =
  | { toolCalls: ToolCallSpec[]; text?: string }
  | { text: string }
  | { refusal: string }
  | { status: number; body: unknown | ((req: RecordedRequest) => unknown) }
  | { stallMs: number };

export interface RecordedRequest {
  body: { model: string; stream?: boolean; messages: { role: string; content: string | null; tool_call_id?: string; tool_calls?: unknown[] }[]; tools?: { type: string; function: { name: string; parameters: Record<string, unknown> } }[] };
  authorization?: string;
  path: string;
}

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));
  private steps: Step[] = [];

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  script(steps: Step[]): void {
    this.steps = [...steps];
    this.requests.length = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const rec: RecordedRequest = { body: JSON.parse(data || '{}'), authorization: req.headers.authorization, path: req.url ?? '' };
      this.requests.push(rec);
      const step = this.steps.shift();
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!step) return send(500, { error: { message: 'script exhausted' } });
      if ('stallMs' in step) {
        const t = setTimeout(() => send(200, completion({ text: 'too late' }, rec)), step.stallMs);
        res.on('close', () => clearTimeout(t));
        return;
      }
      if ('status' in step) return send(step.status, typeof step.body === 'function' ? (step.body as (r: RecordedRequest) => unknown)(rec) : step.body);
      if (rec.body.stream) return streamCompletion(res, step, rec);
      send(200, completion(step, rec));
    });
  }
}

let callSeq = 0;
function completion(step: Exclude<Step, { status: number } | { stallMs: number }>, rec: RecordedRequest): unknown {
  const message: Record<string, unknown> = { role: 'assistant', content: null, refusal: null };
  let finish = 'stop';
  if ('refusal' in step) message.refusal = step.refusal;
  else {
    if ('text' in step && step.text !== undefined) message.content = step.text;
    if ('toolCalls' in step) {
      message.tool_calls = step.toolCalls.map((c) => ({ id: c.id ?? `call_${++callSeq}`, type: 'function', function: { name: c.name, arguments: c.arguments } }));
      finish = 'tool_calls';
    }
  }
  return { id: `chatcmpl-${callSeq}`, object: 'chat.completion', created: 0, model: rec.body.model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
}

/** The reply as chat.completion.chunk events: text in pieces of a few characters, each tool call in two pieces. */
function streamCompletion(res: http.ServerResponse, step: Exclude<Step, { status: number } | { stallMs: number }>, rec: RecordedRequest): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const id = `chatcmpl-${++callSeq}`;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: rec.body.model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`);
  chunk({ role: 'assistant', content: '' });
  let finish = 'stop';
  if ('refusal' in step) chunk({ refusal: step.refusal });
  if ('text' in step && step.text) for (let i = 0; i < step.text.length; i += 7) chunk({ content: step.text.slice(i, i + 7) });
  if ('toolCalls' in step) {
    step.toolCalls.forEach((c, index) => {
      const half = Math.floor(c.arguments.length / 2);
      chunk({ tool_calls: [{ index, id: c.id ?? `call_${++callSeq}`, type: 'function', function: { name: c.name, arguments: c.arguments.slice(0, half) } }] });
      chunk({ tool_calls: [{ index, function: { arguments: c.arguments.slice(half) } }] });
    });
    finish = 'tool_calls';
  }
  chunk({}, finish);
  res.end('data: [DONE]\n\n');
}
