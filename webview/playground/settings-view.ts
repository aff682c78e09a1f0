// The sampling settings: a preset (Balanced = temperature 0.8 + no repeated 2-grams, the seed
// tutorial's) and every field with its range checked as it is typed, the problem shown under
// the field; seed, max new tokens and stop strings (one per line, \n for a newline).
import { formatSetting } from '../../src/core/playground/format';
import {
  formatStopStrings,
  parseStopStrings,
  presetOf,
  SAMPLING_FIELDS,
  SAMPLING_PRESETS,
  samplingFieldError,
  type SamplingField,
} from '../../src/core/playground/sampling';
import { draw } from './actions';
import { el, tk, valueOf } from './dom';
import { state, update } from './state';
import * as l10n from '@vscode/l10n';

const HELP: Record<SamplingField, string> = {
  get temperature() { return l10n.t('0 = always the most likely token; higher = more varied'); },
  get top_k() { return l10n.t('keep the k most likely tokens (0 = off)'); },
  get top_p() { return l10n.t('keep the most likely tokens up to this probability (1 = off)'); },
  get min_p() { return l10n.t('drop tokens less likely than this × the top one (0 = off)'); },
  get repetition_penalty() { return l10n.t('penalise tokens already in the text (1 = off)'); },
  get no_repeat_ngram_size() { return l10n.t('never repeat an n-gram of this length (0 = off)'); },
  get seed() { return l10n.t('same seed + settings + prompt = same answer'); },
  get max_new_tokens() { return l10n.t('the answer stops after this many tokens'); },
};

function presetPicker(): HTMLElement {
  const current = presetOf(state.sampling);
  const box = tk('vscode-dropdown', { id: 'preset', title: l10n.t('Sampling preset') });
  for (const p of SAMPLING_PRESETS) box.append(tk('vscode-option', { value: p.id, textContent: p.label, selected: current?.id === p.id, title: p.description }));
  box.append(tk('vscode-option', { value: 'custom', textContent: l10n.t('Custom'), selected: !current, disabled: true }));
  box.addEventListener('change', () => {
    const p = SAMPLING_PRESETS.find((x) => x.id === valueOf(box));
    if (!p || presetOf(state.sampling)?.id === p.id) return;
    update({ sampling: { ...state.sampling, ...p.values } });
    renderSettings();
    draw.controls();
  });
  return el('div', { className: 'field' }, el('label', { className: 'label' }, l10n.t('Preset')), box, el('div', { className: 'help', id: 'preset-help' }, current?.description ?? l10n.t('your own settings')));
}

function numberField(f: SamplingField): HTMLElement {
  const input = tk('vscode-text-field', { id: `sampling-${f}`, value: formatSetting(state.sampling[f]), size: 8 });
  const err = el('div', { className: 'field-error', id: `sampling-${f}-error` }, samplingFieldError(f, state.sampling[f]) ?? '');
  input.addEventListener('input', () => {
    const raw = valueOf(input).trim();
    const v = raw === '' ? NaN : Number(raw);
    err.textContent = samplingFieldError(f, v) ?? '';
    update({ sampling: { ...state.sampling, [f]: v } });
    const preset = presetOf(state.sampling);
    const help = document.getElementById('preset-help');
    if (help) help.textContent = preset?.description ?? l10n.t('your own settings');
    const box = document.getElementById('preset') as (HTMLElement & { value: string }) | null;
    if (box) box.value = preset?.id ?? 'custom';
    draw.controls();
  });
  return el('div', { className: 'field' }, el('label', { className: 'label', title: HELP[f] }, SAMPLING_FIELDS[f].label), input, el('div', { className: 'help' }, HELP[f]), err);
}

function stopField(): HTMLElement {
  const area = tk('vscode-text-area', { id: 'sampling-stop', rows: 2, resize: 'vertical', placeholder: l10n.t('one per line; \\n = newline') });
  (area as HTMLElement & { value: string }).value = formatStopStrings(state.sampling.stop);
  area.addEventListener('input', () => update({ sampling: { ...state.sampling, stop: parseStopStrings(valueOf(area)) } }));
  return el('div', { className: 'field wide' }, el('label', { className: 'label' }, l10n.t('Stop strings')), area, el('div', { className: 'help' }, l10n.t('the answer ends before the first of these')));
}

export function renderSettings(): void {
  const box = document.getElementById('settings');
  if (!box) return;
  box.hidden = !state.showSettings;
  box.replaceChildren(
    el('h2', {}, l10n.t('Sampling')),
    presetPicker(),
    el('div', { className: 'fields' }, ...(Object.keys(SAMPLING_FIELDS) as SamplingField[]).map(numberField)),
    stopField(),
  );
}
