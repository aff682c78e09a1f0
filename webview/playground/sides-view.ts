// The model bar: one card per side in use, each with the model picker (grouped: runs newest
// first with step and losses, merged folders, workspace and cache models), the quantization,
// what the loaded model costs (load time, resident memory, weights, KV cache) or why it did not
// load, and the buttons that act on that side's model (base vs tuned, copy as command, merge,
// export).
import { QUANT_CHOICES, type SideIndex } from '../../src/core/playground/conversation';
import { formatBytes, formatCount, formatMs } from '../../src/core/playground/format';
import type { ModelChoice, PlaygroundQuant, SideStatus } from '../protocol';
import { baseVsTuned, copyCommand, loadSide, unloadSide } from './actions';
import { button, el, setDisabled, tk, valueOf, type ValueElement } from './dom';
import { activeSides, model, rt, send, state, V } from './state';
import * as l10n from '@vscode/l10n';

const SIDE_NAMES = ['A', 'B'];

function modelPicker(side: SideIndex): HTMLElement {
  const pick = state.picks[side];
  const box = tk('vscode-dropdown', { id: `model-${side}`, className: 'model-picker', title: l10n.t('Model to load on this side') });
  box.append(tk('vscode-option', { value: '', textContent: rt.models.length ? l10n.t('Pick a model…') : l10n.t('No model found'), selected: pick.modelId === '' }));
  let group = '';
  for (const m of rt.models) {
    if (m.group !== group) {
      group = m.group;
      box.append(tk('vscode-option', { value: `group:${group}`, textContent: `── ${group} ──`, disabled: true, className: 'group-option' }));
    }
    const text = `${m.label}${m.description ? ` — ${m.description}` : ''}${m.problem ? '  ⚠' : ''}`;
    box.append(tk('vscode-option', { value: m.id, textContent: text, selected: m.id === pick.modelId, title: m.problem ? m.problem.message : m.path }));
  }
  box.addEventListener('change', () => {
    const id = valueOf(box);
    if (id === state.picks[side].modelId || id.startsWith('group:')) return;
    loadSide(side, id, state.picks[side].quant);
  });
  return box;
}

function quantPicker(side: SideIndex): HTMLElement {
  const pick = state.picks[side];
  const box = tk('vscode-dropdown', { id: `quant-${side}`, className: 'quant-picker', title: l10n.t('Weight format after loading') });
  for (const q of QUANT_CHOICES) box.append(tk('vscode-option', { value: q.id, textContent: q.label, selected: q.id === pick.quant, title: q.description }));
  box.addEventListener('change', () => {
    const q = valueOf(box) as PlaygroundQuant;
    if (q === state.picks[side].quant) return;
    loadSide(side, state.picks[side].modelId, q);
  });
  return box;
}

/** "loaded in 1.25 s · 245 MiB resident · weights 180 MiB · KV cache 32 MiB · context 4,096 tokens". */
/** [the fact's name, which tests and styles find it by; its label in the display language; its value] */
export function loadedFacts(s: SideStatus): [string, string, string][] {
  const l = s.loaded;
  if (!l) return [];
  return [
    ['load time', l10n.t('load time'), formatMs(l.loadMs)],
    ['resident memory', l10n.t('resident memory'), formatBytes(l.residentBytes)],
    ['weights', l10n.t('weights'), formatBytes(l.weightBytes)],
    ['KV cache', l10n.t('KV cache'), formatBytes(l.kvCacheBytes)],
    ['context', l10n.t('context'), l10n.t('{0} tokens', formatCount(l.contextLength))],
    ['format', l10n.t('format'), l.quant],
    ['kernel', l10n.t('kernel'), l.kernel],
  ];
}

function statusView(side: SideIndex, s: SideStatus, m: ModelChoice | undefined): HTMLElement {
  const box = el('div', { className: `side-status phase-${s.phase}`, id: `status-${side}` });
  if (s.memoryWarning) {
    box.append(
      el('div', { className: 'warning', id: `memory-warning-${side}` }, s.memoryWarning),
      button(`load-anyway-${side}`, l10n.t('Load Anyway'), () => loadSide(side, state.picks[side].modelId, state.picks[side].quant, true), true),
    );
    return box;
  }
  switch (s.phase) {
    case 'empty':
      box.append(el('span', { className: 'muted' }, state.picks[side].modelId ? l10n.t('Not loaded.') : l10n.t('Pick a model: its inference process starts when you do.')));
      break;
    case 'loading':
      box.append(tk('vscode-progress-ring', { className: 'ring' }), el('span', {}, l10n.t('Loading {0} ({1})…', m?.label ?? l10n.t('the model'), s.quant ?? 'f32')));
      break;
    case 'ready':
      box.append(...loadedFacts(s).map(([id, k, v]) => el('span', { className: 'fact' }, el('span', { className: 'key' }, k), ' ', el('span', { className: 'value', dataset: { fact: id } }, v))));
      break;
    case 'error':
      box.append(el('div', { className: 'error', id: `side-error-${side}` }, s.error?.message ?? 'failed'), el('div', { className: 'hint' }, s.error?.hint ?? ''));
      break;
  }
  return box;
}

function sideCard(side: SideIndex): HTMLElement {
  const s = rt.sides[side];
  const pick = state.picks[side];
  const m = model(pick.modelId);
  const busy = !!rt.gen;
  const card = el('section', { className: 'side', id: `side-${side}` });
  const unload = button(`unload-${side}`, l10n.t('Unload'), () => unloadSide(side), true, l10n.t('Stop this side\'s inference process'));
  setDisabled(unload, s.phase === 'empty' || busy);
  card.append(
    ...[el('div', { className: 'side-head' }, el('span', { className: 'side-name' }, SIDE_NAMES[side]), modelPicker(side), quantPicker(side), unload),
    m ? el('div', { className: 'model-desc', title: m.path }, [m.group, m.description].filter(Boolean).join(' · ')) : el('div', { className: 'model-desc' }),
    m?.problem && s.phase !== 'error' ? el('div', { className: 'warning' }, `${m.problem.message} — ${m.problem.hint}`) : undefined,
    statusView(side, s, m)].filter((x): x is HTMLDivElement | HTMLElement => x !== undefined),
  );
  const actions = el('div', { className: 'side-actions' });
  if (side === 0 && m?.baseId && m.baseId !== pick.modelId) actions.append(button('base-vs-tuned', l10n.t('Base vs Tuned'), baseVsTuned, true, l10n.t('Base model on A, this one on B, same prompt and seed')));
  const ready = s.phase === 'ready';
  const copy = button(`copy-command-${side}`, l10n.t('Copy as Command'), () => copyCommand(side as SideIndex), true, l10n.t('The tuner-generate command line for this prompt'));
  setDisabled(copy, !ready);
  const ggufType = tk('vscode-dropdown', { id: `gguf-type-${side}`, className: 'gguf-type', title: l10n.t('GGUF weight type') });
  for (const t of ['f16', 'q8_0', 'q4_0']) ggufType.append(tk('vscode-option', { value: t, textContent: t, selected: t === 'q4_0' }));
  const exportOf = (kind: 'merge' | 'gguf' | 'ollama') => () => send({ v: V, type: 'export', side, kind, ggufType: (valueOf(ggufType) || 'q4_0') as 'f16' | 'q8_0' | 'q4_0' });
  const merge = button(`merge-${side}`, l10n.t('Merge'), exportOf('merge'), true, l10n.t('Merge the adapter into its base: a Hugging Face folder under the run'));
  const gguf = button(`gguf-${side}`, l10n.t('Export GGUF'), exportOf('gguf'), true, l10n.t('One GGUF file for llama.cpp, under the run (or exports/)'));
  const ollama = button(`ollama-${side}`, l10n.t('Export for Ollama'), exportOf('ollama'), true, l10n.t('GGUF + Modelfile in one folder'));
  const picked = !!m && rt.trusted;
  setDisabled(merge, !picked || !m?.adapter);
  setDisabled(gguf, !picked);
  setDisabled(ollama, !picked);
  actions.append(copy, el('span', { className: 'sep' }), merge, ggufType, gguf, ollama);
  card.append(actions);
  return card;
}

export function renderSides(): void {
  const box = document.getElementById('sides');
  if (!box) return;
  const sides = activeSides();
  box.className = `sides cols-${sides.length}`;
  box.replaceChildren(...sides.map(sideCard));
  // The toolkit's dropdown misreads `selected` when disabled options (the group headers) come
  // first: its value is set once it is in the document.
  for (const s of sides) {
    const picker = document.getElementById(`model-${s}`) as ValueElement | null;
    if (picker && model(state.picks[s].modelId)) picker.value = state.picks[s].modelId;
  }
}
