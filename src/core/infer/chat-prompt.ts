// From a generate request's prompt to token ids, and the ids that end a generation. Chat
// prompts go through the same renderer data preparation uses (src/core/dataset/chat-template.ts),
// so a tuned model is prompted exactly as it was trained; raw text gets the BOS token when the
// tokenizer would add one, as Hugging Face's tokenizer(text) does.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ChatRenderer } from '../dataset/chat-template';
import { chooseTemplate, type TemplateSource } from '../dataset/prepare-setup';
import type { PromptSpec } from '../engine/infer-protocol';
import type { ModelSpec } from '../model/spec';
import type { ModelTokenizer } from '../model/tokenizer';
import { InferFailure } from './errors';

export interface BuiltPrompt {
  ids: number[];
  /** The rendered text (chat) or the text as given. */
  text: string;
  /** Ids that end this generation. */
  stopTokenIds: ReadonlySet<number>;
}

/**
 * Whether tokenizer(text) puts BOS first: tokenizer_config.json's add_bos_token when set, else
 * a TemplateProcessing post-processor in tokenizer.json that starts with it (Llama 3, Gemma).
 */
export function tokenizerAddsBos(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, bosToken: string | null): boolean {
  if (bosToken === null) return false;
  if (typeof tokenizerConfig.add_bos_token === 'boolean') return tokenizerConfig.add_bos_token;
  const first = (p: unknown): boolean => {
    if (!p || typeof p !== 'object') return false;
    const proc = p as { type?: unknown; single?: unknown; processors?: unknown };
    if (proc.type === 'Sequence' && Array.isArray(proc.processors)) return proc.processors.some(first);
    if (proc.type !== 'TemplateProcessing' || !Array.isArray(proc.single)) return false;
    const head = proc.single[0] as { SpecialToken?: { id?: unknown } } | undefined;
    return head?.SpecialToken?.id === bosToken;
  };
  return first(tokenizerJson.post_processor);
}

function readJsonIfPresent(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export class PromptBuilder {
  readonly renderer: ChatRenderer;
  /** Stop ids in chat mode: the text-mode ones plus the template's end-of-turn token. */
  readonly chatStopIds: ReadonlySet<number>;
  /** Stop ids for raw text: generation_config / config eos_token_id and the tokenizer's EOS. */
  readonly textStopIds: ReadonlySet<number>;

  constructor(
    readonly tokenizer: ModelTokenizer,
    spec: Pick<ModelSpec, 'eosTokenIds'>,
    template: string,
    readonly templateSource: TemplateSource,
    private readonly addBos: boolean,
  ) {
    this.renderer = new ChatRenderer(template, tokenizer);
    const text = new Set(spec.eosTokenIds);
    const eos = tokenizer.eosToken === null ? undefined : tokenizer.tokenToId(tokenizer.eosToken);
    if (eos !== undefined) text.add(eos);
    const chat = new Set(text);
    const turnEnd = this.renderer.turnEnd === null ? undefined : tokenizer.tokenToId(this.renderer.turnEnd);
    if (turnEnd !== undefined) chat.add(turnEnd);
    this.textStopIds = text;
    this.chatStopIds = chat;
  }

  /**
   * The builder for a model folder: its tokenizer, and the chat template chosen as data
   * preparation chooses it (`override`: inline Jinja, a .jinja file relative to the folder,
   * "default"; null for the model's own or Tuner's default).
   */
  static forModel(dir: string, tokenizer: ModelTokenizer, spec: Pick<ModelSpec, 'eosTokenIds'>, override: string | null | undefined): PromptBuilder {
    const { source, template } = chooseTemplate(override, tokenizer.chatTemplate, dir);
    const addBos = tokenizerAddsBos(readJsonIfPresent(path.join(dir, 'tokenizer.json')), readJsonIfPresent(path.join(dir, 'tokenizer_config.json')), tokenizer.bosToken);
    return new PromptBuilder(tokenizer, spec, template, source, addBos);
  }

  build(prompt: PromptSpec): BuiltPrompt {
    if (prompt.type === 'chat') {
      if (prompt.messages.length === 0) throw new InferFailure('bad_request', 'the chat prompt has no messages', 'Send at least one user message.');
      let text: string;
      try {
        text = this.renderer.renderPrompt({ turns: prompt.messages.map((m) => ({ role: m.role, content: m.content })) });
      } catch (e) {
        throw new InferFailure(
          'template_error',
          `the chat template refused this conversation: ${(e as Error).message}`,
          'Many templates need turns that alternate user / assistant after an optional system message; fix the conversation, or load the model with another chat_template (e.g. "default").',
        );
      }
      return { ids: this.tokenizer.encode(text), text, stopTokenIds: this.chatStopIds };
    }
    const bos = prompt.add_bos ?? this.addBos;
    const ids = this.tokenizer.encode(prompt.text);
    const bosId = this.tokenizer.bosToken === null ? undefined : this.tokenizer.tokenToId(this.tokenizer.bosToken);
    if (bos && bosId !== undefined && ids[0] !== bosId) ids.unshift(bosId);
    if (ids.length === 0) throw new InferFailure('bad_request', 'the prompt is empty (no text and no BOS token)', 'Send some text to continue.');
    return { ids, text: prompt.text, stopTokenIds: this.textStopIds };
  }
}
