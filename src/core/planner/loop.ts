// The tool-calling loop shared by every language-model path (VS Code's chat models and any
// OpenAI-compatible endpoint): send the conversation and tools, run the tool calls, send the
// results back, until the model proposes an ARGS.json that passes every check. Bad tool calls
// are answered with the error and retried a bounded number of times; timeouts, refusals and
// transport errors end the loop with a reason, and the caller falls back to the rule planner.
import type { CheckedPlan } from './check';
import { NUDGE_SET_ARGS } from './prompts/system';
import { runTool, type PlannerEnvironment, type ToolCall, type ToolDef } from './tools';
import * as l10n from '@vscode/l10n';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Assistant turns that called tools. */
  toolCalls?: ToolCall[];
  /** Tool results: the call they answer. */
  toolCallId?: string;
  toolName?: string;
}

export interface ChatReply {
  text: string;
  toolCalls: ToolCall[];
  /** The model declined (a refusal message, or a content filter). */
  refusal?: string;
}

/** One model endpoint. Implementations translate to their API; they do not decide anything. */
export interface ChatBackend {
  readonly label: string;
  complete(messages: ChatMessage[], tools: ToolDef[], signal: AbortSignal): Promise<ChatReply>;
}

export interface LoopOptions {
  /** Model round trips at most. */
  maxRounds?: number;
  /** Rejected tool calls (malformed, unknown, or a plan that fails its checks) tolerated. */
  maxInvalid?: number;
  /** Per-request time limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (e: LoopEvent) => void;
}

export type LoopEvent =
  | { type: 'request'; round: number }
  | { type: 'tool'; name: string; ok: boolean; detail: string };

export type LoopOutcome =
  | { kind: 'plan'; plan: CheckedPlan; text: string; rounds: number; rejected: number }
  /** The model asked something or answered without a plan. */
  | { kind: 'answer'; text: string; rounds: number }
  | { kind: 'failed'; reason: 'timeout' | 'refusal' | 'invalid-tool-calls' | 'rounds' | 'error' | 'cancelled'; message: string; rounds: number; lastPlan?: CheckedPlan };

export class BackendTimeoutError extends Error {}

async function withTimeout(backend: ChatBackend, messages: ChatMessage[], tools: ToolDef[], ms: number, outer?: AbortSignal): Promise<ChatReply> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  outer?.addEventListener('abort', onAbort);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new BackendTimeoutError(l10n.t('{0} did not answer within {1} s', backend.label, Math.round(ms / 1000))));
    }, ms);
  });
  try {
    return await Promise.race([backend.complete(messages, tools, ac.signal), timeout]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

export async function runPlannerLoop(backend: ChatBackend, messages: ChatMessage[], tools: ToolDef[], env: PlannerEnvironment, o: LoopOptions = {}): Promise<LoopOutcome> {
  const maxRounds = o.maxRounds ?? 10, maxInvalid = o.maxInvalid ?? 3, timeoutMs = o.timeoutMs ?? 60_000;
  const convo = [...messages];
  let rejected = 0, nudged = false;
  let accepted: CheckedPlan | undefined;
  let lastRejected: CheckedPlan | undefined;
  for (let round = 1; round <= maxRounds; round++) {
    if (o.signal?.aborted) return { kind: 'failed', reason: 'cancelled', message: 'cancelled', rounds: round - 1, lastPlan: accepted };
    o.onEvent?.({ type: 'request', round });
    let reply: ChatReply;
    try {
      reply = await withTimeout(backend, convo, tools, timeoutMs, o.signal);
    } catch (e) {
      if (o.signal?.aborted) return { kind: 'failed', reason: 'cancelled', message: 'cancelled', rounds: round };
      const timeout = e instanceof BackendTimeoutError || /timed? ?out/i.test((e as Error).message);
      return { kind: 'failed', reason: timeout ? 'timeout' : 'error', message: (e as Error).message, rounds: round, lastPlan: accepted };
    }
    if (reply.refusal) return { kind: 'failed', reason: 'refusal', message: `${backend.label} declined: ${reply.refusal}`, rounds: round, lastPlan: accepted };
    if (reply.toolCalls.length === 0) {
      if (accepted) return { kind: 'plan', plan: accepted, text: reply.text, rounds: round, rejected };
      // A question for the user is a valid end; a plan-less statement gets one nudge.
      if (/\?\s*$/.test(reply.text.trim()) || nudged) return { kind: 'answer', text: reply.text, rounds: round };
      nudged = true;
      convo.push({ role: 'assistant', content: reply.text }, { role: 'user', content: NUDGE_SET_ARGS });
      continue;
    }
    convo.push({ role: 'assistant', content: reply.text, toolCalls: reply.toolCalls });
    for (const call of reply.toolCalls) {
      const r = await runTool(call, env);
      o.onEvent?.({ type: 'tool', name: call.name, ok: r.ok, detail: r.content });
      convo.push({ role: 'tool', content: r.content, toolCallId: call.id, toolName: call.name });
      if (r.accepted) accepted = r.accepted;
      if (!r.ok) {
        rejected++;
        if (call.name === 'set_args') lastRejected = { ok: false, problems: [r.content] };
      }
    }
    if (rejected >= maxInvalid) {
      return { kind: 'failed', reason: 'invalid-tool-calls', message: l10n.t('{0} made {1} invalid tool calls{2}', backend.label, rejected, lastRejected ? ` (last: ${lastRejected.problems[0]})` : ''), rounds: round, lastPlan: accepted };
    }
  }
  if (accepted) return { kind: 'plan', plan: accepted, text: '', rounds: maxRounds, rejected };
  return { kind: 'failed', reason: 'rounds', message: l10n.t('{0} did not settle on a plan in {1} rounds', backend.label, maxRounds), rounds: maxRounds };
}
