// What training sees for one JSONL line: the rendered prompt, its tokens and which of them are
// trained on — the editor shows this on hover, so template and mask mistakes are visible before
// a run, not after.
import type { ChatRenderer } from './chat-template';
import { recordToConversation, type ConversationOptions } from './conversation';
import type { FormatId } from './formats';
import { tokenizeSegments } from './tokenize';
import * as l10n from '@vscode/l10n';

export interface PreviewToken {
  id: number;
  /** The token's text (decoded on its own). */
  text: string;
  trained: boolean;
}

export type RecordPreview =
  | {
      ok: true;
      format: FormatId;
      /** Rendered text in pieces, each trained or not. */
      segments: { text: string; trained: boolean }[];
      tokens: PreviewToken[];
      trainedTokens: number;
      /** Tokens past max_length, cut (or the record dropped) in preparation. */
      overLength: number;
      eosAppended: boolean;
    }
  | { ok: false; reason: string };

export interface PreviewOptions extends ConversationOptions {
  trainOnAll: boolean;
  maxLength: number;
}

export function previewRecord(line: string, opts: PreviewOptions, renderer: ChatRenderer, tokenizer: { encode(t: string): number[]; decode(ids: readonly number[]): string }): RecordPreview {
  const rec = recordToConversation(line, opts);
  if (!rec.ok) return { ok: false, reason: l10n.t('This record {0}.', rec.reason) };
  try {
    const rendered = renderer.render(rec.conversation, opts.trainOnAll);
    const ex = tokenizeSegments(rendered.segments, tokenizer);
    const tokens = ex.ids.map((id, i) => ({ id, text: tokenizer.decode([id]), trained: ex.mask[i] === 1 }));
    return {
      ok: true,
      format: rec.format,
      segments: rendered.segments,
      tokens,
      trainedTokens: tokens.filter((t) => t.trained).length,
      overLength: Math.max(0, tokens.length - opts.maxLength),
      eosAppended: rendered.eosAppended,
    };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
