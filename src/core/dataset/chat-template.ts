// Renders a conversation with the model's chat template and marks which characters the model
// is trained to produce. Assistant contents are wrapped in private-use sentinel characters before
// rendering, so wherever the template puts them (and whatever it adds around them) their span
// is found exactly in the output; the template's end-of-turn token right after an answer is
// trained too — that token is what teaches the tuned model to stop.
import type { Template } from '@huggingface/jinja';
import { jinja } from '../lazy/load';
import type { Conversation } from './formats';
import * as l10n from '@vscode/l10n';

/**
 * For base models without a template: the plain form of the classic LoRA tutorials,
 * "Human: … Assistant: …", each answer closed by the model's EOS token (docs/args.md).
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{{ bos_token if bos_token else '' }}" +
  "{% for m in messages %}" +
  "{% if m.role == 'system' %}{{ m.content + '\\n\\n' }}" +
  "{% elif m.role == 'user' %}{{ 'Human: ' + m.content + '\\n' }}" +
  "{% elif m.role == 'tool' %}{{ 'Tool: ' + m.content + '\\n' }}" +
  "{% else %}{{ 'Assistant: ' + m.content + eos_token + '\\n' }}{% endif %}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

const OPEN = '\uE000';
const CLOSE = '\uE001';

export interface Segment {
  text: string;
  /** The model is trained to predict these tokens. */
  trained: boolean;
}

export interface RenderedConversation {
  segments: Segment[];
  /** The template did not close an answer with a stop token, so the EOS token was appended. */
  eosAppended: boolean;
}

export interface TemplateTokens {
  bosToken: string | null;
  eosToken: string | null;
  /** Added/special token strings, longest first. */
  specialTokens: readonly string[];
}

export class TemplateError extends Error {}

export class ChatRenderer {
  private readonly template: Template;
  /** The token the template closes assistant turns with (e.g. <|eot_id|>), null if none. */
  readonly turnEnd: string | null;

  constructor(readonly source: string, private readonly tokens: TemplateTokens) {
    try {
      this.template = new (jinja().Template)(source);
    } catch (e) {
      throw new TemplateError(l10n.t('the chat template does not parse: {0}', (e as Error).message));
    }
    this.turnEnd = this.detectTurnEnd();
  }

  private renderRaw(messages: { role: string; content: string }[], addGenerationPrompt: boolean): string {
    return this.template.render({
      messages,
      bos_token: this.tokens.bosToken ?? '',
      eos_token: this.tokens.eosToken ?? '',
      add_generation_prompt: addGenerationPrompt,
    });
  }

  private stopTokenAt(text: string, at: number): string | null {
    let i = at;
    while (text[i] === ' ') i++; // Llama 2 style " </s>"
    for (const t of this.tokens.specialTokens) if (t && text.startsWith(t, i)) return text.slice(at, i) + t;
    return null;
  }

  private detectTurnEnd(): string | null {
    try {
      const out = this.renderRaw([{ role: 'user', content: 'x' }, { role: 'assistant', content: `${OPEN}y${CLOSE}` }], false);
      const at = out.indexOf(CLOSE);
      return at < 0 ? null : this.stopTokenAt(out, at + 1)?.trim() ?? null;
    } catch {
      return null;
    }
  }

  /** The prompt a user would send at inference: the conversation plus the generation prompt. */
  renderPrompt(conv: Conversation): string {
    return this.renderRaw(conv.turns.map((t) => ({ role: t.role, content: t.content })), true);
  }

  render(conv: Conversation, trainOnAll: boolean): RenderedConversation {
    const eos = this.tokens.eosToken ?? '';
    if (conv.pretraining) {
      const text = conv.turns.map((t) => t.content).join('\n');
      const segments: Segment[] = [];
      if (this.tokens.bosToken) segments.push({ text: this.tokens.bosToken, trained: false });
      segments.push({ text: text + eos, trained: true });
      return { segments, eosAppended: false };
    }
    for (const t of conv.turns) {
      if (t.content.includes(OPEN) || t.content.includes(CLOSE)) throw new TemplateError(l10n.t('the text contains the private-use characters U+E000/U+E001, which Tuner reserves for marking answers; remove them'));
    }
    const messages = conv.turns.map((t) => ({ role: t.role, content: t.role === 'assistant' ? OPEN + t.content + CLOSE : t.content }));
    let out: string;
    try {
      out = this.renderRaw(messages, false);
    } catch (e) {
      throw new TemplateError(l10n.t('the chat template refused this conversation: {0}', (e as Error).message));
    }
    const segments: Segment[] = [];
    let eosAppended = false;
    let pos = 0;
    const push = (text: string, trained: boolean) => {
      if (text === '') return;
      const last = segments[segments.length - 1];
      if (last && last.trained === trained) last.text += text;
      else segments.push({ text, trained });
    };
    for (;;) {
      const open = out.indexOf(OPEN, pos);
      if (open < 0) break;
      const close = out.indexOf(CLOSE, open + 1);
      if (close < 0 || out.lastIndexOf(OPEN, close) !== open) throw new TemplateError(l10n.t('the chat template rewrote an answer (its start and end could not be found), so the trained tokens are unknown; set "chat_template" in ARGS.json'));
      push(out.slice(pos, open), trainOnAll);
      push(out.slice(open + 1, close), true);
      pos = close + 1;
      const stop = this.stopTokenAt(out, pos);
      if (stop !== null) {
        push(stop, true);
        pos += stop.length;
      } else if (eos) {
        push(eos, true);
        eosAppended = true;
      }
    }
    const rest = out.slice(pos);
    if (rest.includes(CLOSE)) throw new TemplateError(l10n.t('the chat template rewrote an answer, so the trained tokens are unknown; set "chat_template" in ARGS.json'));
    push(rest, trainOnAll);
    moveSpacesIntoAnswers(segments);
    return { segments, eosAppended };
  }
}

/**
 * "Assistant: Hello" is tokenized by byte-level BPE as "Assistant", ":", " Hello": the space
 * belongs to the answer's first token. Moving a prompt's trailing spaces into the answer keeps
 * segment-wise tokenization equal to whole-text tokenization.
 */
function moveSpacesIntoAnswers(segments: Segment[]): void {
  for (let i = 0; i + 1 < segments.length; i++) {
    const a = segments[i], b = segments[i + 1];
    if (a.trained || !b.trained) continue;
    // Counted from the end, not with / +$/, which retries at every space of a long run in the
    // middle of the text (quadratic in a record's length).
    let at = a.text.length;
    while (at > 0 && a.text.charCodeAt(at - 1) === 32) at--;
    if (at === a.text.length || at === 0) continue;
    b.text = a.text.slice(at) + b.text;
    a.text = a.text.slice(0, at);
  }
}

/**
 * The EOS check: when the template closes answers with a token that is not one the model stops
 * at, a model tuned on it never stops. Returns the problem as a sentence, or undefined if fine.
 */
export function checkTemplateEos(turnEnd: string | null, modelStopTokens: readonly string[], eosToken: string | null): string | undefined {
  if (turnEnd === null) {
    return eosToken
      ? undefined
      : l10n.t('the chat template does not close answers with a stop token and the tokenizer defines no eos_token, so the tuned model will not learn to stop: set "chat_template" in ARGS.json or add eos_token to tokenizer_config.json');
  }
  if (modelStopTokens.includes(turnEnd)) return undefined;
  return l10n.t('the chat template ends each answer with {0}, but the model stops at {1}: the tuned model will not stop after an answer. Add the id of {2} to "eos_token_id" in the model\'s generation_config.json, or set "chat_template" in ARGS.json to a template ending answers with {3}', turnEnd, modelStopTokens.join(' or ') || l10n.t('(no EOS token)'), turnEnd, eosToken ?? l10n.t('the EOS token'));
}
