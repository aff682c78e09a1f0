// The playground page (runs inside the webview): talk to one model, or to two side by side with
// the same prompt and seed (base vs tuned, two checkpoints), in chat mode with the model's chat
// template or as raw completion. The host runs one inference process per side; this page keeps
// the conversation, streams replies token by token and shows what each model costs.
import '../l10n';
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeProgressRing,
  vsCodeTextArea,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import type { SideIndex } from '../../src/core/playground/conversation';
import { parsePlaygroundHostMessage, type HostToPlayground } from '../protocol';
import { clearConversation, draw, loadSide, sendBlocker, sendPrompt, setSideBySide, stop } from './actions';
import { button, el, setDisabled, tk, valueOf } from './dom';
import { renderExports } from './exports-view';
import { renderSettings } from './settings-view';
import { renderSides } from './sides-view';
import { appendToken, renderTranscript, showPrefill } from './transcript-view';
import { errorKey, rt, save, send, state, update, V } from './state';
import './playground.css';
import * as l10n from '@vscode/l10n';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeTextArea(), vsCodeTextField());

function modeSwitch(): HTMLElement {
  const box = el('div', { className: 'mode-switch', id: 'mode' });
  for (const [mode, label] of [['chat', l10n.t('Chat')], ['text', l10n.t('Completion')]] as const) {
    const b = button(`mode-${mode}`, label, () => {
      if (state.mode === mode) return;
      rt.editing = undefined;
      update({ mode });
      renderAll();
    }, state.mode !== mode, mode === 'chat' ? l10n.t('Chat with the model\'s chat template') : l10n.t('Raw completion: the text as is, no template'));
    box.append(b);
  }
  return box;
}

function topBar(): HTMLElement {
  const sbs = tk('vscode-checkbox', { id: 'side-by-side', checked: state.sideBySide }, l10n.t('Side by side'));
  sbs.addEventListener('change', () => {
    const on = (sbs as HTMLElement & { checked: boolean }).checked;
    if (on !== state.sideBySide) setSideBySide(on);
  });
  const settings = button('toggle-settings', state.showSettings ? l10n.t('Hide Settings') : l10n.t('Settings'), () => {
    update({ showSettings: !state.showSettings });
    renderAll();
  }, true);
  return el(
    'header',
    { className: 'topbar' },
    el('h1', {}, l10n.t('Playground')),
    modeSwitch(),
    sbs,
    el('span', { className: 'spacer' }),
    button('refresh', l10n.t('Refresh'), () => send({ v: V, type: 'refresh' }), true, l10n.t('List models, checkpoints and exports again')),
    button('pick-folder', l10n.t('Choose Model Folder…'), () => send({ v: V, type: 'pickFolder' }), true, l10n.t('Load a Hugging Face model folder from anywhere on this machine')),
    settings,
  );
}

function banner(): HTMLElement | undefined {
  if (!rt.trusted) {
    return el(
      'div',
      { className: 'banner warning', id: 'untrusted' },
      el('strong', {}, l10n.t('Restricted Mode. ')),
      l10n.t('The playground runs Tuner\'s native engine on model files from this workspace, so it needs a trusted workspace. '),
      button('manage-trust', l10n.t('Manage Workspace Trust'), () => send({ v: V, type: 'manageTrust' })),
    );
  }
  if (rt.error) {
    const e = rt.error;
    return el('div', { className: 'banner error', id: 'panel-error' }, e.message, e.hint ? el('div', { className: 'hint' }, e.hint) : undefined, button('dismiss-error', l10n.t('Dismiss'), () => {
      rt.error = undefined;
      renderAll();
    }, true));
  }
  return undefined;
}

function emptyState(): HTMLElement {
  return el(
    'section',
    { className: 'empty-state', id: 'empty-state' },
    el('h2', {}, l10n.t('No model to try yet')),
    el('p', {}, l10n.t('Tuner looks for Hugging Face model folders (config.json, *.safetensors and tokenizer.json) in this workspace and in the Hugging Face cache (~/.cache/huggingface/hub), and lists the adapters and checkpoints of your runs under runs/.')),
    rt.workspace ? undefined : el('p', {}, l10n.t('No folder is open: open one to see your runs and to export into it.')),
    el('p', {}, l10n.t('Download a model once (for example huggingface-cli download Qwen/Qwen2.5-0.5B-Instruct), train a run with "Fine-tune: Start", or choose a model folder.')),
    el('div', { className: 'row' }, button('empty-pick-folder', l10n.t('Choose Model Folder…'), () => send({ v: V, type: 'pickFolder' })), button('empty-refresh', l10n.t('Refresh'), () => send({ v: V, type: 'refresh' }), true)),
  );
}

function historyPicker(): HTMLElement {
  const box = tk('vscode-dropdown', { id: 'history', title: l10n.t('Prompts sent in this workspace, newest first') });
  box.append(tk('vscode-option', { value: '', textContent: rt.history.length ? l10n.t('History ({0})', rt.history.length) : l10n.t('History (empty)'), selected: true }));
  rt.history.forEach((h, i) => {
    const one = h.text.replace(/\s+/g, ' ');
    box.append(tk('vscode-option', { value: String(i), textContent: `${h.mode === 'chat' ? 'chat' : 'text'}: ${one.length > 70 ? `${one.slice(0, 70)}…` : one}`, title: h.text }));
  });
  box.addEventListener('change', () => {
    const h = rt.history[Number(valueOf(box))];
    if (!valueOf(box) || !h) return;
    if (h.mode === 'chat') update({ mode: 'chat', draft: h.text, system: h.system ?? state.system });
    else update({ mode: 'text', text: h.text });
    renderAll();
  });
  return box;
}

function composer(): HTMLElement {
  const box = el('footer', { className: 'composer', id: 'composer' });
  const sendLabel = state.mode === 'chat' ? l10n.t('Send') : l10n.t('Generate');
  const go = button('send', sendLabel, sendPrompt, false, 'Ctrl+Enter');
  const halt = button('stop', l10n.t('Stop'), stop, true, l10n.t('Stop within one token'));
  const clear = button('clear', l10n.t('Clear'), clearConversation, true, l10n.t('Start a new conversation'));
  if (state.mode === 'chat') {
    const draft = tk('vscode-text-area', { id: 'draft', className: 'draft', rows: 3, resize: 'vertical', placeholder: l10n.t('Message (Ctrl+Enter to send)') });
    (draft as HTMLElement & { value: string }).value = state.draft;
    draft.addEventListener('input', () => {
      state.draft = valueOf(draft);
      save();
    });
    draft.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter' && ((e as KeyboardEvent).ctrlKey || (e as KeyboardEvent).metaKey)) {
        e.preventDefault();
        sendPrompt();
      }
    });
    box.append(draft);
  }
  box.append(el('div', { className: 'row' }, go, halt, clear, historyPicker(), el('span', { className: 'muted', id: 'send-blocker' })));
  return box;
}

function updateControls(): void {
  const blocker = sendBlocker();
  setDisabled(document.getElementById('send'), blocker !== undefined);
  setDisabled(document.getElementById('stop'), !rt.gen);
  setDisabled(document.getElementById('clear'), !!rt.gen);
  const note = document.getElementById('send-blocker');
  if (note) note.textContent = blocker && !rt.gen ? blocker : rt.gen ? l10n.t('Generating…') : '';
  const banners = document.getElementById('banners');
  const b = banner();
  banners?.replaceChildren(...(b ? [b] : []));
}

function renderAll(): void {
  const root = document.getElementById('root')!;
  if (!rt.inited) return;
  const noModels = rt.models.length === 0;
  root.replaceChildren(
    topBar(),
    el('div', { id: 'banners' }),
    el(
      'div',
      { className: `layout${state.showSettings ? ' with-settings' : ''}` },
      // With nothing to load there is nothing to type to: the empty state says what to do instead.
      el('main', { className: 'main' }, ...(noModels ? [emptyState()] : [el('div', { id: 'sides' }), el('div', { id: 'transcript', className: 'transcript' }), composer()])),
      el('aside', { className: 'aside' }, el('section', { id: 'settings', className: 'settings' }), el('section', { id: 'exports', className: 'exports' })),
    ),
  );
  renderSides();
  renderTranscript();
  renderSettings();
  renderExports();
  updateControls();
}

draw.all = renderAll;
draw.sides = () => {
  renderSides();
  updateControls();
};
draw.transcript = renderTranscript;
draw.controls = updateControls;

function finishGeneration(side: SideIndex): void {
  if (!rt.gen) return;
  rt.gen.sides.delete(side);
  if (rt.gen.sides.size === 0) {
    rt.gen = undefined;
    renderSides();
  }
  save();
  renderTranscript();
  updateControls();
}

function handle(msg: HostToPlayground): void {
  switch (msg.type) {
    case 'init': {
      rt.inited = true;
      rt.models = msg.models;
      rt.exports = msg.exports;
      rt.history = msg.history;
      rt.sides = msg.sides;
      rt.workspace = msg.workspace;
      rt.trusted = msg.trusted;
      renderAll();
      // A restored panel loads again what was loaded before the reload.
      state.loaded.forEach((id, side) => {
        if (id && msg.sides[side]?.phase === 'empty' && rt.models.some((m) => m.id === id)) loadSide(side as SideIndex, id, state.picks[side].quant);
      });
      return;
    }
    case 'models':
      rt.models = msg.models;
      rt.exports = msg.exports;
      renderAll();
      return;
    case 'side': {
      rt.sides[msg.status.side] = msg.status;
      const loaded = state.loaded.map((l, i) => (i === msg.status.side ? (msg.status.phase === 'ready' ? msg.status.modelId ?? null : msg.status.phase === 'loading' ? l : null) : l));
      update({ loaded });
      if (rt.models.length === 0) return;
      renderSides();
      updateControls();
      return;
    }
    case 'prefill':
      if (rt.gen?.genId !== msg.genId) return;
      rt.gen.prefill[msg.side] = l10n.t('reading the prompt: {0} / {1} tokens', msg.done.toLocaleString('en-US'), msg.total.toLocaleString('en-US'));
      showPrefill(rt.gen.index, msg.side, rt.gen.prefill[msg.side]!);
      return;
    case 'token': {
      const g = rt.gen;
      if (g?.genId !== msg.genId) return;
      g.prefill[msg.side] = null;
      if (g.index >= 0) {
        const ex = state.exchanges[g.index];
        ex.replies[msg.side] = (ex.replies[msg.side] ?? '') + msg.text;
      } else state.outputs[msg.side] = (state.outputs[msg.side] ?? '') + msg.text;
      appendToken(g.index, msg.side, msg.text);
      return;
    }
    case 'done': {
      const g = rt.gen;
      if (g?.genId !== msg.genId) return;
      if (g.index >= 0) {
        const ex = state.exchanges[g.index];
        ex.replies[msg.side] = msg.text;
        ex.stats = [...(ex.stats ?? [null, null])];
        ex.stats[msg.side] = msg.stats;
      } else {
        state.outputs[msg.side] = msg.text;
        state.outputStats = [...(state.outputStats ?? [null, null])];
        state.outputStats[msg.side] = msg.stats;
      }
      finishGeneration(msg.side);
      return;
    }
    case 'genError': {
      const g = rt.gen;
      if (g?.genId !== msg.genId) return;
      rt.genErrors.set(errorKey(g.index, msg.side), { message: msg.message, hint: msg.hint });
      finishGeneration(msg.side);
      return;
    }
    case 'history':
      rt.history = msg.history;
      document.getElementById('history')?.replaceWith(historyPicker());
      return;
    case 'job':
      rt.jobs.set(msg.job.id, msg.job);
      renderExports();
      return;
    case 'select': {
      const picks = msg.picks;
      if (picks.filter(Boolean).length > 1 && !state.sideBySide) update({ sideBySide: true });
      picks.forEach((p, side) => p && loadSide(side as SideIndex, p.modelId, p.quant));
      renderAll();
      return;
    }
    case 'error':
      rt.error = { message: msg.message, hint: msg.hint };
      if (!rt.inited) {
        document.getElementById('root')!.replaceChildren(el('div', { className: 'banner error', id: 'panel-error' }, msg.message));
        return;
      }
      updateControls();
      return;
    default: {
      const never: never = msg;
      throw new Error(l10n.t('unhandled host message {0}', String(JSON.stringify(never))));
    }
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  let msg: HostToPlayground;
  try {
    msg = parsePlaygroundHostMessage(e.data);
  } catch (err) {
    handle({ v: V, type: 'error', message: `playground: ${(err as Error).message}` });
    return;
  }
  handle(msg);
});

(window as unknown as { tunerPlayground: unknown }).tunerPlayground = { state: () => state, runtime: () => rt };
send({ v: V, type: 'ready' });
