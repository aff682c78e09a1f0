// The conversation (chat mode) or the completions (text mode), one column per side in use. A
// reply streams in token by token (appended in place, nothing redrawn); when both sides have
// answered, the words only one of them said are marked, so the difference tuning made is easy
// to see. Each reply ends with its numbers: time to first token, tokens/s, tokens, why it ended.
import type { SideIndex } from '../../src/core/playground/conversation';
import { formatCount, formatMs, formatRate } from '../../src/core/playground/format';
import { diffWords } from '../../src/core/playground/word-diff';
import type { GenerationStats } from '../protocol';
import { resend } from './actions';
import { button, el, tk, valueOf } from './dom';
import { activeSides, errorKey, model, rt, save, state } from './state';
import * as l10n from '@vscode/l10n';

const SIDE_NAMES = ['A', 'B'];
const REASONS: Record<GenerationStats['reason'], string> = { get eos() { return l10n.t('end of text'); }, get stop() { return l10n.t('stop string'); }, get length() { return l10n.t('max new tokens'); }, cancelled: 'stopped' };

export function statsText(s: GenerationStats): string {
  const parts = [
    l10n.t('first token {0}', formatMs(s.timeToFirstTokenMs)),
    formatRate(s.tokensPerS),
    `${formatCount(s.generatedTokens)} token${s.generatedTokens === 1 ? '' : 's'}`,
    `prompt ${formatCount(s.promptTokens)}${s.cachedTokens > 0 ? ` (${formatCount(s.cachedTokens)} cached)` : ''}`,
    `ended: ${REASONS[s.reason]}${s.reason === 'stop' && s.stop ? ` ${JSON.stringify(s.stop)}` : ''}${s.reason === 'cancelled' && s.cancelMs !== undefined ? l10n.t(' ({0} after Stop)', formatMs(s.cancelMs)) : ''}`,
  ];
  return parts.join(' · ');
}

function sideLabel(side: number): string {
  const m = model(state.picks[side]?.modelId);
  return `${SIDE_NAMES[side]}${m ? ` · ${m.label}` : ''}`;
}

/** The reply's text with the words the other side did not say marked. */
function replyBody(text: string, other: string | null | undefined, which: 'a' | 'b'): (Node | string)[] {
  if (other === null || other === undefined || !state.sideBySide) return [text];
  const d = diffWords(which === 'a' ? text : other, which === 'a' ? other : text)[which];
  return d.map((seg) => (seg.changed ? el('mark', { className: 'diff' }, seg.text) : seg.text));
}

function replyBox(index: number, side: number, text: string | null, other: string | null | undefined, stats: GenerationStats | null | undefined): HTMLElement {
  const streaming = rt.gen?.index === index && rt.gen.sides.has(side);
  const err = rt.genErrors.get(errorKey(index, side));
  const body = el('div', { className: `reply-text${streaming ? ' streaming' : ''}`, id: `reply-text-${index}-${side}` });
  if (text !== null) body.append(...(streaming ? [text] : replyBody(text, other, side === 0 ? 'a' : 'b')));
  const prefill = streaming ? rt.gen?.prefill[side] : null;
  return el(
    'div',
    { className: 'reply', dataset: { side: String(side) } },
    el('div', { className: 'who' }, sideLabel(side)),
    body,
    prefill ? el('div', { className: 'muted', id: `prefill-${index}-${side}` }, prefill) : undefined,
    err ? el('div', { className: 'error', id: `gen-error-${index}-${side}` }, err.message, el('div', { className: 'hint' }, err.hint)) : undefined,
    el('div', { className: 'stats', id: `stats-${index}-${side}` }, stats ? statsText(stats) : ''),
  );
}

function userTurn(index: number, text: string): HTMLElement {
  if (rt.editing?.index === index) {
    const area = tk('vscode-text-area', { id: `edit-${index}`, className: 'edit-area', rows: 3, resize: 'vertical' });
    (area as HTMLElement & { value: string }).value = rt.editing.text;
    area.addEventListener('input', () => rt.editing && (rt.editing.text = valueOf(area)));
    return el(
      'div',
      { className: 'user-turn editing' },
      el('div', { className: 'who' }, l10n.t('You (editing)')),
      area,
      el('div', { className: 'row' }, button(`resend-${index}`, l10n.t('Resend'), () => resend(index, valueOf(area))), button(`cancel-edit-${index}`, l10n.t('Cancel'), () => {
        rt.editing = undefined;
        renderTranscript();
      }, true)),
    );
  }
  const edit = button(`edit-${index}`, l10n.t('Edit'), () => {
    rt.editing = { index, text };
    renderTranscript();
  }, true, l10n.t('Edit this turn and send it again (the turns after it are dropped)'));
  if (rt.gen) edit.setAttribute('disabled', '');
  return el('div', { className: 'user-turn' }, el('div', { className: 'who' }, l10n.t('You')), el('div', { className: 'user-text' }, text), edit);
}

function chatView(): HTMLElement[] {
  const sides = activeSides();
  const system = tk('vscode-text-area', { id: 'system', className: 'system', rows: 2, resize: 'vertical', placeholder: l10n.t('System prompt (optional): how the assistant should behave') });
  (system as HTMLElement & { value: string }).value = state.system;
  system.addEventListener('input', () => {
    state.system = valueOf(system);
    save();
  });
  const out: HTMLElement[] = [el('div', { className: 'system-box' }, el('label', { className: 'label' }, l10n.t('System')), system)];
  if (state.exchanges.length === 0) {
    out.push(el('div', { className: 'placeholder', id: 'chat-empty' }, l10n.t('Type a message below and press Send (Ctrl+Enter). With side by side on, both models answer the same prompt with the same seed.')));
  }
  state.exchanges.forEach((ex, i) => {
    out.push(
      el(
        'div',
        { className: 'exchange', dataset: { index: String(i) } },
        userTurn(i, ex.user),
        el('div', { className: `replies cols-${sides.length}` }, ...sides.map((s) => replyBox(i, s, ex.replies[s] ?? null, sides.length > 1 ? ex.replies[1 - s] : undefined, ex.stats?.[s]))),
      ),
    );
  });
  return out;
}

function textView(): HTMLElement[] {
  const sides = activeSides();
  const text = tk('vscode-text-area', { id: 'text', className: 'text-prompt', rows: 6, resize: 'vertical', placeholder: l10n.t('Text for the model to continue (raw completion: no chat template)') });
  (text as HTMLElement & { value: string }).value = state.text;
  text.addEventListener('input', () => {
    state.text = valueOf(text);
    save();
  });
  const cols = el(
    'div',
    { className: `replies cols-${sides.length}` },
    ...sides.map((s) => {
      const box = replyBox(-1, s, state.outputs[s] ?? '', sides.length > 1 ? state.outputs[1 - s] : undefined, state.outputStats?.[s]);
      const body = box.querySelector('.reply-text');
      body?.prepend(el('span', { className: 'prompt-echo' }, state.text.length > 400 ? `…${state.text.slice(-400)}` : state.text));
      return box;
    }),
  );
  return [el('div', { className: 'system-box' }, el('label', { className: 'label' }, l10n.t('Prompt')), text), cols];
}

export function renderTranscript(): void {
  const box = document.getElementById('transcript');
  if (!box) return;
  box.replaceChildren(...(state.mode === 'chat' ? chatView() : textView()));
}

/** Appends streamed text to a reply without redrawing anything else. */
export function appendToken(index: number, side: SideIndex, text: string): void {
  const body = document.getElementById(`reply-text-${index}-${side}`);
  if (body && text) body.append(text);
  document.getElementById(`prefill-${index}-${side}`)?.remove();
}

export function showPrefill(index: number, side: SideIndex, text: string): void {
  const id = `prefill-${index}-${side}`;
  const existing = document.getElementById(id);
  if (existing) existing.textContent = text;
  else document.getElementById(`reply-text-${index}-${side}`)?.after(el('div', { className: 'muted', id }, text));
}
