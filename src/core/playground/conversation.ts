// The playground's conversation: user turns shared by both sides (base and tuned get the same
// prompt), one reply per side. A side's chat prompt is the system message, then every earlier
// exchange with that side's own reply, then the new user turn, so each model continues its own
// conversation. Editing a turn drops what came after it, as a chat UI's "edit and resend" does.
import type { QuantName } from '../engine/infer-addon';
import * as l10n from '@vscode/l10n';

export type PlaygroundMode = 'chat' | 'text';
/** The roles the playground writes (a subset of the worker's ChatMessage roles). */
export interface TurnMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}
/** A worker PromptSpec as the playground builds it. */
export type TurnPrompt = { type: 'chat'; messages: TurnMessage[] } | { type: 'text'; text: string };
export type SideIndex = 0 | 1;

export interface Exchange {
  user: string;
  /** The reply of each side; null while none was generated (or the side was off). */
  replies: (string | null)[];
}

/** Quantizations offered when loading, in the picker's order, with what each means. */
export const QUANT_CHOICES: readonly { id: QuantName; label: string; description: string }[] = [
  { id: 'f32', get label() { return l10n.t('none (f32)'); }, get description() { return l10n.t('weights as stored, widened to 32-bit floats: the reference'); } },
  { id: 'f16', label: 'f16', get description() { return l10n.t('16-bit floats: half the memory, practically the same output'); } },
  { id: 'bf16', label: 'bf16', get description() { return l10n.t('bfloat16, as most models are published: half the memory; the products run in bf16 (twice as fast on CPUs with AVX512_BF16)'); } },
  { id: 'q8_0', label: 'q8_0', get description() { return l10n.t('8-bit blocks of 32 (llama.cpp\'s Q8_0): a quarter of f32'); } },
  { id: 'int8', label: 'int8', get description() { return l10n.t('8-bit per output channel'); } },
  { id: 'q4_0', label: 'int4 (q4_0)', get description() { return l10n.t('4-bit blocks of 32 (llama.cpp\'s Q4_0): an eighth of f32, some quality lost'); } },
  { id: 'nf4', label: 'nf4', get description() { return l10n.t('4-bit normal float with double quantization (QLoRA\'s format)'); } },
];

export function isQuantName(q: unknown): q is QuantName {
  return QUANT_CHOICES.some((c) => c.id === q);
}

/** The messages side `side` is prompted with to answer exchange `index` (0-based). */
export function chatMessages(system: string, exchanges: readonly Exchange[], index: number, side: SideIndex): TurnMessage[] {
  const out: TurnMessage[] = [];
  if (system.trim() !== '') out.push({ role: 'system', content: system });
  for (let i = 0; i < index; i++) {
    out.push({ role: 'user', content: exchanges[i].user });
    const reply = exchanges[i].replies[side];
    // A turn this side never answered (it was off, or stopped at once) still needs a reply
    // slot: most templates insist that user and assistant alternate.
    out.push({ role: 'assistant', content: reply ?? '' });
  }
  out.push({ role: 'user', content: exchanges[index].user });
  return out;
}

/** The prompt of one side for exchange `index` in chat mode, or for the raw text. */
export function promptFor(mode: PlaygroundMode, system: string, exchanges: readonly Exchange[], index: number, side: SideIndex, text: string): TurnPrompt {
  return mode === 'chat' ? { type: 'chat', messages: chatMessages(system, exchanges, index, side) } : { type: 'text', text };
}

/** Exchanges after editing turn `index` to `user`: later turns are dropped, its replies cleared. */
export function editTurn(exchanges: readonly Exchange[], index: number, user: string): Exchange[] {
  return [...exchanges.slice(0, index), { user, replies: [null, null] }];
}
