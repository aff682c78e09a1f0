// What the page's controls do: load a model on a side, send a prompt (chat or completion) to
// the sides in use, stop, edit and resend a turn, copy the command line, export. Each action
// updates the state, tells the host, and asks for the affected views to be drawn again.
import { editTurn, promptFor, type SideIndex } from '../../src/core/playground/conversation';
import { samplingErrors } from '../../src/core/playground/sampling';
import type { PlaygroundPrompt, PlaygroundQuant } from '../protocol';
import { activeSides, rt, send, state, update, V } from './state';
import * as l10n from '@vscode/l10n';

/** Drawing hooks, set by main.ts (the views import the actions, not the other way round). */
export const draw = {
  all: () => undefined as void,
  sides: () => undefined as void,
  transcript: () => undefined as void,
  controls: () => undefined as void,
};

export function loadSide(side: SideIndex, modelId: string, quant: PlaygroundQuant, force = false): void {
  const picks = state.picks.map((p, i) => (i === side ? { modelId, quant } : p));
  update({ picks });
  if (!modelId) return;
  send({ v: V, type: 'load', side, modelId, quant, force });
}

export function unloadSide(side: SideIndex): void {
  const loaded = state.loaded.map((l, i) => (i === side ? null : l));
  update({ loaded });
  send({ v: V, type: 'unload', side });
}

export function setSideBySide(on: boolean): void {
  update({ sideBySide: on });
  draw.all();
}

/** Base on the left, tuned on the right: side by side with the adapter's base model. */
export function baseVsTuned(): void {
  const tuned = state.picks[0];
  const entry = rt.models.find((m) => m.id === tuned.modelId);
  if (!entry?.baseId) return;
  update({ sideBySide: true });
  loadSide(0, entry.baseId, tuned.quant);
  loadSide(1, tuned.modelId, tuned.quant);
  draw.all();
}

function readySides(): SideIndex[] {
  return activeSides().filter((s) => rt.sides[s].phase === 'ready');
}

/** Why sending is not possible now, or undefined. */
export function sendBlocker(): string | undefined {
  if (!rt.trusted) return l10n.t('Restricted Mode: trust the workspace to generate.');
  if (rt.gen) return l10n.t('Generating…');
  if (readySides().length === 0) return l10n.t('Load a model first.');
  const errors = Object.values(samplingErrors(state.sampling));
  if (errors.length > 0) return errors[0];
  return undefined;
}

function start(index: number, prompts: { side: SideIndex; prompt: PlaygroundPrompt }[], historyText: string): void {
  const genId = `g${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  rt.gen = { genId, index, sides: new Set(prompts.map((p) => p.side)), prefill: [null, null] };
  for (const p of prompts) rt.genErrors.delete(`${index}:${p.side}`);
  send({ v: V, type: 'generate', genId, requests: prompts, sampling: state.sampling, history: { mode: state.mode, text: historyText, system: state.mode === 'chat' && state.system ? state.system : undefined, at: Date.now() } });
  draw.transcript();
  draw.controls();
}

/** Sends the draft (chat) or the text (completion) to every ready side in use. */
export function sendPrompt(): void {
  if (sendBlocker()) return;
  const sides = readySides();
  if (state.mode === 'chat') {
    const user = state.draft;
    if (user.trim() === '') return;
    const exchanges = [...state.exchanges, { user, replies: [null, null] as (string | null)[], stats: [null, null] }];
    update({ exchanges, draft: '' });
    const box = document.getElementById('draft') as (HTMLElement & { value: string }) | null;
    if (box) box.value = '';
    const index = exchanges.length - 1;
    start(index, sides.map((side) => ({ side, prompt: promptFor('chat', state.system, exchanges, index, side, '') })), user);
  } else {
    if (state.text === '') return;
    const outputs = state.outputs.map((o, i) => (sides.includes(i as SideIndex) ? '' : o));
    update({ outputs, outputStats: [null, null] });
    start(-1, sides.map((side) => ({ side, prompt: { type: 'text', text: state.text } })), state.text);
  }
}

/** Replaces turn `index` with `text`, drops the turns after it and answers it again. */
export function resend(index: number, text: string): void {
  if (sendBlocker() || text.trim() === '') return;
  const exchanges = editTurn(state.exchanges, index, text).map((e) => ({ ...e, stats: [null, null] }));
  rt.editing = undefined;
  update({ exchanges });
  start(index, readySides().map((side) => ({ side, prompt: promptFor('chat', state.system, exchanges, index, side, '') })), text);
}

export function stop(): void {
  if (rt.gen) send({ v: V, type: 'stop', genId: rt.gen.genId });
}

export function clearConversation(): void {
  rt.genErrors.clear();
  rt.editing = undefined;
  update({ exchanges: [], outputs: ['', ''], outputStats: [null, null] });
  draw.transcript();
}

/** The prompt side `side` would get now: the draft after the conversation, else the last turn. */
export function currentPrompt(side: SideIndex): PlaygroundPrompt | undefined {
  if (state.mode === 'text') return state.text ? { type: 'text', text: state.text } : undefined;
  const ex = state.draft.trim() ? [...state.exchanges, { user: state.draft, replies: [null, null] }] : state.exchanges;
  if (ex.length === 0) return undefined;
  return promptFor('chat', state.system, ex, ex.length - 1, side, '');
}

export function copyCommand(side: SideIndex): void {
  const prompt = currentPrompt(side);
  if (!prompt) {
    rt.error = { message: l10n.t('Nothing to copy yet'), hint: l10n.t('Type a prompt first: the command line carries its token ids.') };
    draw.controls();
    return;
  }
  send({ v: V, type: 'copyCommand', side, prompt, sampling: state.sampling });
}
