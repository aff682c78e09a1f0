// The answers of one model to a list of questions, through the inference worker (the same
// process the playground uses): load once, then one greedy chat generation per question, so a
// before / after comparison differs only by the weights.
import type { InferenceClient } from '../engine/infer-client';
import type { QuantName } from '../engine/infer-addon';
import type { LoadedEvent } from '../engine/infer-protocol';

export interface ModelAnswer {
  prompt: string;
  answer: string;
  /** Why generation ended: eos (the model stopped), length (max_new_tokens), stop, cancelled. */
  reason: string;
  tokens: number;
  tokensPerS: number | null;
}

export interface AnswerOptions {
  model: string;
  /** Weight format the linears run in (quantized at load). */
  quant: QuantName;
  prompts: readonly string[];
  maxNewTokens: number;
  contextLength?: number;
  threads?: number;
  onAnswer?: (a: ModelAnswer) => void;
}

export interface ModelAnswers {
  loaded: LoadedEvent;
  answers: ModelAnswer[];
}

export async function answerPrompts(client: InferenceClient, opts: AnswerOptions): Promise<ModelAnswers> {
  const loaded = await client.load({ model: opts.model, quant: opts.quant, context_length: opts.contextLength ?? 256, threads: opts.threads ?? 0 });
  const answers: ModelAnswer[] = [];
  for (const prompt of opts.prompts) {
    const gen = client.generate({ prompt: { type: 'chat', messages: [{ role: 'user', content: prompt }] }, max_new_tokens: opts.maxNewTokens });
    const done = await gen.done;
    const a: ModelAnswer = { prompt, answer: done.text.trim(), reason: done.reason, tokens: done.timings.generated_tokens, tokensPerS: done.timings.tokens_per_s };
    answers.push(a);
    opts.onAnswer?.(a);
  }
  await client.unload();
  return { loaded, answers };
}
