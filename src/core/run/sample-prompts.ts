// ARGS.json's sample_prompts → the plan's `samples`: each prompt rendered as one user turn with
// the run's chat template (chosen exactly as data preparation chose it) and tokenized, plus the
// ids that end an answer. The trainer answers them greedily from its current weights every
// sample_interval steps (native/src/train/sampler.cpp), so they read like the answers the
// tuned model will give.
import * as path from 'node:path';

import type { ResolvedArgs } from '../args/fields';
import { chooseTemplate } from '../dataset/prepare-setup';
import type { EvalGeneratePlan, SamplesPlan } from '../engine/plan';
import { PromptBuilder } from '../infer/chat-prompt';
import { readModelSpec } from '../model/spec';
import { loadTokenizer } from '../model/tokenizer';

/**
 * The plan's eval_generate (greedy answers to eval records scored by ROUGE-L and BLEU-4), or
 * undefined when ARGS.json asks for none or there is no eval data; stop ids as the samples'.
 */
export function evalGeneratePlan(args: ResolvedArgs, argsFile: string, modelDir: string, hasEval: boolean, templateFile?: string): EvalGeneratePlan | undefined {
  if (!(args.eval_generate_every > 0) || !hasEval) return undefined;
  return { every: args.eval_generate_every, max_records: 8, max_new_tokens: 64, stop_ids: [...promptBuilder(args, argsFile, modelDir, templateFile).chatStopIds].sort((a, b) => a - b) };
}

function promptBuilder(args: ResolvedArgs, argsFile: string, modelDir: string, templateFile?: string): PromptBuilder {
  const tokenizer = loadTokenizer(modelDir);
  const { source, template } = chooseTemplate(args.chat_template, tokenizer.chatTemplate, path.dirname(argsFile), templateFile);
  return new PromptBuilder(tokenizer, readModelSpec(modelDir), template, source);
}

/** The plan's samples, or undefined when ARGS.json asks for none. `templateFile`: the confined .jinja path, if any. */
export function samplesPlan(args: ResolvedArgs, argsFile: string, modelDir: string, templateFile?: string): SamplesPlan | undefined {
  const prompts = args.sample_prompts;
  if (!(args.sample_interval > 0) || !prompts || prompts.length === 0) return undefined;
  const builder = promptBuilder(args, argsFile, modelDir, templateFile);
  return {
    interval: args.sample_interval,
    max_new_tokens: args.sample_max_new_tokens,
    prompts: prompts.map((content) => builder.build({ type: 'chat', messages: [{ role: 'user', content }] }).ids),
    stop_ids: [...builder.chatStopIds].sort((a, b) => a - b),
    texts: [...prompts],
  };
}
