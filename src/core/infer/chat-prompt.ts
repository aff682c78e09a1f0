// From a generate request's prompt to token ids, and the ids that end a generation. Chat
// prompts go through the same renderer data preparation uses (src/core/dataset/chat-template.ts),
// so a tuned model is prompted exactly as it was trained; raw text gets the BOS token when the
// tokenizer would add one, as Hugging Face's tokenizer(text) does.
import { ChatRenderer } from '../dataset/chat-template';
import { chooseTemplate, type TemplateSource } from '../dataset/prepare-setup';
import type { PromptSpec } from '../engine/infer-protocol';
import type { ModelSpec } from '../model/spec';
import type { ModelTokenizer } from '../model/tokenizer';
import { InferFailure } from './errors';
import * as l10n from '@vscode/l10n';

export interface BuiltPrompt {
  ids: number[];
  /** The rendered text (chat) or the text as given. */
  text: string;
  /** Ids that end this generation. */
  stopTokenIds: ReadonlySet<number>;
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
    return new PromptBuilder(tokenizer, spec, template, source);
  }

  build(prompt: PromptSpec): BuiltPrompt {
    if (prompt.type === 'chat') {
      if (prompt.messages.length === 0) throw new InferFailure('bad_request', l10n.t('the chat prompt has no messages'), l10n.t('Send at least one user message.'));
      let text: string;
      try {
        text = this.renderer.renderPrompt({ turns: prompt.messages.map((m) => ({ role: m.role, content: m.content })) });
      } catch (e) {
        throw new InferFailure(
          'template_error',
          l10n.t('the chat template refused this conversation: {0}', (e as Error).message),
          l10n.t('Many templates need turns that alternate user / assistant after an optional system message; fix the conversation, or load the model with another chat_template (e.g. "default").'),
        );
      }
      return { ids: this.tokenizer.encode(text), text, stopTokenIds: this.chatStopIds };
    }
    const bos = prompt.add_bos ?? this.tokenizer.addsBos;
    const ids = this.tokenizer.encode(prompt.text);
    const bosId = this.tokenizer.bosToken === null ? undefined : this.tokenizer.tokenToId(this.tokenizer.bosToken);
    if (bos && bosId !== undefined && ids[0] !== bosId) ids.unshift(bosId);
    if (ids.length === 0) throw new InferFailure('bad_request', l10n.t('the prompt is empty (no text and no BOS token)'), l10n.t('Send some text to continue.'));
    return { ids, text: prompt.text, stopTokenIds: this.textStopIds };
  }
}
