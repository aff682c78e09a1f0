// The run dashboard (runs inside the webview): a header with the run's state and controls, and
// one chart.js line chart per series. The header follows every message at once (a pause shows
// the moment the host says so); charts are created once and redrawn in place (no animation) at
// most every RENDER_INTERVAL_MS. Loss-like series are smoothed; every series is reduced to
// MAX_POINTS with LTTB, so a 100k-step run draws as fast as a short one.
import '../l10n';
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDropdown, vsCodeOption } from '@vscode/webview-ui-toolkit';
import type { TrainerEvent } from '../../src/core/engine/protocol';
import type { RunStatus } from '../../src/core/run/run-state';
import { chartPoints, type Point } from '../../src/core/run/downsample';
import { flatSeriesBounds, formatTicks, SMOOTHED_SERIES } from '../../src/core/run/chart-scale';
import { formatCount, formatDuration, formatParams, formatRate, formatValue } from '../../src/core/units';
import { RunSeries, SERIES_LABELS, type SeriesId, type XAxis } from '../../src/core/run/series';
import {
  parseHostMessage,
  WEBVIEW_PROTOCOL_VERSION,
  type DashboardControl,
  type DashboardState,
  type DashboardToHost,
  type HostToDashboard,
  type RunChoice,
  type RunHeader,
  type SampleRow,
} from '../protocol';
import './dashboard.css';
import * as l10n from '@vscode/l10n';

Chart.register(LineController, LineElement, PointElement, LinearScale, CategoryScale, Tooltip, Legend);
provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption());

interface VsCodeApi {
  postMessage(m: DashboardToHost): void;
  getState(): DashboardState | undefined;
  setState(s: DashboardState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

export const MAX_POINTS = 2000;
const RENDER_INTERVAL_MS = 250;

/**
 * The charts: each draws one or two series (train and eval share a chart). `whenData`: shown only
 * once its series has points (DPO's reward charts, absent from other runs).
 */
const CHARTS: { id: string; title: string; series: SeriesId[]; log?: boolean; whenData?: true }[] = [
  { id: 'loss', get title() { return l10n.t('Loss'); }, series: ['loss', 'eval_loss'] },
  { id: 'lr', get title() { return l10n.t('Learning rate'); }, series: ['lr'] },
  { id: 'grad_norm', get title() { return l10n.t('Gradient norm'); }, series: ['grad_norm'] },
  { id: 'tokens_per_s', get title() { return l10n.t('Tokens per second'); }, series: ['tokens_per_s'] },
  { id: 'tokens', get title() { return l10n.t('Tokens per step'); }, series: ['tokens'] },
  { id: 'memory', get title() { return l10n.t('Peak memory (MiB)'); }, series: ['memory', 'gpu_memory'] },
  { id: 'reward_margin', get title() { return l10n.t('DPO reward margin'); }, series: ['reward_margin', 'eval_reward_margin'], whenData: true },
  { id: 'reward_accuracy', get title() { return l10n.t('DPO reward accuracy (%)'); }, series: ['reward_accuracy', 'eval_reward_accuracy'], whenData: true },
  { id: 'padding', get title() { return l10n.t('Padding (% of batch positions)'); }, series: ['padding'], whenData: true },
  { id: 'generation', get title() { return l10n.t('Eval answers: ROUGE-L F1 (%) and BLEU-4'); }, series: ['eval_rouge_l', 'eval_bleu'], whenData: true },
];

const vscode = acquireVsCodeApi();
const send = (m: DashboardToHost) => vscode.postMessage(m);
const V = WEBVIEW_PROTOCOL_VERSION;

let state: DashboardState = vscode.getState() ?? { runId: '', xAxis: 'step', smoothing: 0.6, compareRunId: null };
let series = new RunSeries();
let compare: { label: string; series: RunSeries } | undefined;
let header: RunHeader | undefined;
let samplePrompts: string[] = [];
let sampleRows: SampleRow[] = [];
let renderTimer: ReturnType<typeof setTimeout> | undefined;
const charts = new Map<string, Chart<'line', Point[]>>();

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

function palette(): string[] {
  return [
    cssVar('--vscode-charts-blue', '#3794ff'),
    cssVar('--vscode-charts-orange', '#d18616'),
    cssVar('--vscode-charts-purple', '#b180d7'),
    cssVar('--vscode-charts-green', '#89d185'),
  ];
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** The buttons that steer a live run: disabled while another window controls it. */
const RUN_CONTROLS: ReadonlySet<string> = new Set(['btn-pause', 'btn-resume', 'btn-save', 'btn-stop']);

const CONTROL_TITLES: Record<DashboardControl, string> = {
  get pause() { return l10n.t('Pause the run after the current step'); },
  get resume() { return l10n.t('Continue the paused run'); },
  get save() { return l10n.t('Save a checkpoint now'); },
  get stop() { return l10n.t('Save a checkpoint and end the run'); },
};

const CONTROL_LABELS: Record<DashboardControl, string> = {
  get pause() { return l10n.t('Pause'); },
  get resume() { return l10n.t('Resume'); },
  get save() { return l10n.t('Save'); },
  get stop() { return l10n.t('Stop'); },
};

/** A run state in the display language (the states themselves are protocol values). */
function statusLabel(status: RunStatus): string {
  switch (status) {
    case 'starting': return l10n.t('starting');
    case 'running': return l10n.t('running');
    case 'paused': return l10n.t('paused');
    case 'done': return l10n.t('done');
    case 'stopped': return l10n.t('stopped');
    case 'failed': return l10n.t('failed');
    case 'interrupted': return l10n.t('interrupted');
  }
}

const axisLabel = (x: XAxis) => (x === 'step' ? l10n.t('step') : l10n.t('tokens'));

function buildPage(): void {
  const root = document.getElementById('root')!;
  const controls = el('div', { className: 'controls' });
  // Pause and Resume share one place (only the one that applies is shown), so the buttons
  // after them never move when the run changes state.
  for (const c of ['pause', 'resume', 'save', 'stop'] as DashboardControl[]) {
    const b = el('vscode-button' as 'button', { id: `btn-${c}`, textContent: CONTROL_LABELS[c], title: CONTROL_TITLES[c], className: `control control-${c}` });
    b.setAttribute('appearance', 'secondary');
    b.addEventListener('click', () => send({ v: V, type: 'control', command: c }));
    controls.append(b);
  }
  // A run that ended with a checkpoint (stopped, interrupted, failed later on) continues from it.
  const resumeCkpt = el('vscode-button' as 'button', { id: 'btn-resume-checkpoint', textContent: l10n.t('Resume from Checkpoint'), title: l10n.t('Continue this run from its last checkpoint'), hidden: true });
  resumeCkpt.addEventListener('click', () => send({ v: V, type: 'resumeFromCheckpoint' }));
  controls.append(resumeCkpt);
  // When the run has finished or is paused, its weights can be tried right away.
  const tryIt = el('vscode-button' as 'button', { id: 'btn-try', textContent: l10n.t('Try in Playground'), title: l10n.t('Base and tuned side by side (a paused run saves a checkpoint first)') });
  tryIt.setAttribute('appearance', 'secondary');
  tryIt.hidden = true;
  tryIt.addEventListener('click', () => send({ v: V, type: 'tryInPlayground' }));
  controls.append(tryIt);
  // Another window controls a live run: its controls stay in place, disabled, and this one can
  // take control (when that window is gone or hung).
  const take = el('vscode-button' as 'button', { id: 'btn-take-control', textContent: l10n.t('Take Control'), title: l10n.t('Control the run from this window; the window that controls it now will only show it'), hidden: true });
  take.setAttribute('appearance', 'secondary');
  take.addEventListener('click', () => send({ v: V, type: 'takeControl' }));
  controls.append(take);
  const xAxis = el('vscode-dropdown' as 'select', { id: 'x-axis' });
  for (const x of ['step', 'tokens'] as XAxis[]) xAxis.append(el('vscode-option' as 'option', { value: x, textContent: l10n.t('x: {0}', axisLabel(x)), selected: x === state.xAxis }));
  xAxis.addEventListener('change', () => {
    state = { ...state, xAxis: (xAxis as unknown as { value: XAxis }).value };
    vscode.setState(state);
    render();
  });
  const smoothing = el('input', { id: 'smoothing', type: 'range', min: '0', max: '0.99', step: '0.01', value: String(state.smoothing), title: l10n.t('Smoothing (exponential moving average)') });
  smoothing.addEventListener('input', () => {
    state = { ...state, smoothing: Number(smoothing.value) };
    vscode.setState(state);
    render();
  });
  const compareBox = el('vscode-dropdown' as 'select', { id: 'compare' });
  compareBox.addEventListener('change', () => {
    const v = (compareBox as unknown as { value: string }).value;
    state = { ...state, compareRunId: v === '' ? null : v };
    vscode.setState(state);
    send({ v: V, type: 'compare', runId: state.compareRunId });
  });
  root.append(
    el('header', {},
      el('div', { className: 'title' }, el('span', { id: 'run-status', className: 'badge' }), el('h1', { id: 'run-title' })),
      el('div', { id: 'run-facts', className: 'facts' }),
      el('div', { id: 'run-error', className: 'error', hidden: true }),
      el('div', { id: 'run-notes', className: 'notes', hidden: true }),
      el('div', { className: 'toolbar' }, controls, el('label', {}, `${l10n.t('Smoothing')} `, smoothing), xAxis, compareBox),
    ),
    el('main', { className: 'grid' }, ...CHARTS.map((c) => el('section', { className: 'chart', id: `section-${c.id}`, hidden: c.whenData === true }, el('h2', { textContent: c.title }), el('div', { className: 'canvas-box' }, el('canvas', { id: `chart-${c.id}` }))))),
    el('section', { id: 'samples', className: 'samples', hidden: true }),
  );
  const [text, grid] = [cssVar('--vscode-foreground', '#ccc'), cssVar('--vscode-editorWidget-border', '#444')];
  Chart.defaults.color = text;
  Chart.defaults.borderColor = grid;
  Chart.defaults.font.family = cssVar('--vscode-font-family', 'sans-serif');
  for (const c of CHARTS) {
    const canvas = document.getElementById(`chart-${c.id}`) as HTMLCanvasElement;
    charts.set(
      c.id,
      new Chart<'line', Point[]>(canvas, {
        type: 'line',
        data: { datasets: [] },
        options: {
          animation: false,
          parsing: false,
          normalized: true,
          responsive: true,
          maintainAspectRatio: false,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          elements: { point: { radius: 0, hoverRadius: 3 }, line: { borderWidth: 1.5 } },
          scales: {
            x: { type: 'linear', title: { display: true, text: axisLabel(state.xAxis) }, ticks: { callback: tickLabel, precision: 0 } }, // steps and tokens: whole numbers
            y: { type: 'linear', ticks: { callback: tickLabel } },
          },
          plugins: { legend: { display: c.series.length > 1, labels: { boxWidth: 12 } }, tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${formatValue(item.parsed.y ?? undefined, 6)}` } } },
        },
      }),
    );
  }
}

/** chart.js tick callback: every label of the axis written with the same, fewest decimals. */
function tickLabel(value: number | string, index: number, ticks: { value: number }[]): string {
  return formatTicks(ticks.map((t) => t.value))[index] ?? String(value);
}

/**
 * The facts row keeps the tallest height it has had at this panel width, so a value that grows and
 * wraps a fact onto the next line (or shrinks back) never moves the buttons below it while the
 * user aims at them. A resize starts over.
 */
let factsHeld = { width: -1, height: 0 };
function holdFactsHeight(box: HTMLElement): void {
  const width = box.clientWidth;
  if (width !== factsHeld.width) {
    factsHeld = { width, height: 0 };
    box.style.minHeight = '';
  }
  const height = box.getBoundingClientRect().height;
  if (height > factsHeld.height) factsHeld.height = height;
  box.style.minHeight = `${factsHeld.height}px`;
}

function updateHeader(): void {
  if (!header) return;
  const h = header;
  document.getElementById('run-title')!.textContent = l10n.t('{0} · {1} · run {2}', h.model, h.method, h.id);
  const badge = document.getElementById('run-status')!;
  badge.textContent = statusLabel(h.status);
  badge.className = `badge status-${h.status}`;
  // [element id, label in the display language, value]
  const facts: [string, string, string][] = [
    ['step', l10n.t('step'), `${formatCount(h.step)} / ${h.maxSteps ? formatCount(h.maxSteps) : '?'}`],
    ['loss', l10n.t('loss'), formatValue(h.loss)],
    ['eval-loss', l10n.t('eval loss'), formatValue(h.evalLoss)],
    // The status bar's form: "116,693 tok/s".
    ['speed', l10n.t('speed'), formatRate(h.tokensPerS)],
    ['trainable', l10n.t('trainable'), h.trainableParams !== undefined ? l10n.t('{0} of {1}', formatParams(h.trainableParams), formatParams(h.params)) : '–'],
    ['ETA', l10n.t('ETA'), h.etaMs !== undefined ? formatDuration(h.etaMs / 1000) : '–'],
  ];
  const box = document.getElementById('run-facts')!;
  // A narrow panel wraps the row onto a second line; each fact's tooltip has its full text.
  box.replaceChildren(...facts.map(([id, k, v]) => el('span', { className: 'fact', title: `${k} ${v}` }, el('span', { className: 'key', textContent: k }), el('span', { className: 'value', textContent: v, id: `fact-${id}` }))));
  holdFactsHeight(box);
  const err = document.getElementById('run-error')!;
  err.hidden = !h.error;
  err.textContent = h.error ? `${h.error.message} — ${h.error.hint}` : '';
  // Read-only (another window controls the run) or not responding: said where the user acts.
  const notes = document.getElementById('run-notes')!;
  notes.hidden = !h.notes?.length;
  notes.textContent = h.readOnly ? l10n.t('Read-only: {0}. Take control here if that window is gone.', String(h.notes?.join(' · '))) : (h.notes ?? []).join(' · ');
  // Only what applies is shown: a finished run has no Pause to draw, disabled or not. A run
  // another window controls shows its controls disabled.
  const show = (id: string, on: boolean) => {
    const b = document.getElementById(id) as HTMLButtonElement;
    b.hidden = !on;
    b.disabled = !on || (h.readOnly === true && RUN_CONTROLS.has(id));
    b.dataset.title ??= b.title;
    b.title = b.disabled && on ? l10n.t('Controlled by another window') : b.dataset.title;
  };
  show('btn-take-control', h.live && h.readOnly === true);
  show('btn-pause', h.live && h.status !== 'paused');
  show('btn-resume', h.live && h.status === 'paused');
  show('btn-save', h.live);
  show('btn-stop', h.live);
  show('btn-resume-checkpoint', !h.live && h.canResume === true);
  show('btn-try', h.status === 'done' || h.status === 'stopped' || h.status === 'interrupted' || (h.live && h.status === 'paused'));
  // The one primary action: what the user most likely wants next.
  const primary = h.live && h.readOnly ? 'btn-take-control' : h.live ? (h.status === 'paused' ? 'btn-resume' : 'btn-pause') : h.canResume ? 'btn-resume-checkpoint' : 'btn-try';
  for (const id of ['btn-pause', 'btn-resume', 'btn-resume-checkpoint', 'btn-try', 'btn-take-control']) document.getElementById(id)!.setAttribute('appearance', id === primary ? 'primary' : 'secondary');
  document.body.dataset.status = h.status;
}

/** The sample answers, step by step: one row per sample point, one column per prompt. */
function renderSamples(): void {
  const box = document.getElementById('samples')!;
  box.hidden = samplePrompts.length === 0;
  if (box.hidden) return;
  const head = el('tr', {}, el('th', { textContent: l10n.t('step') }), ...samplePrompts.map((p) => el('th', { textContent: p })));
  const rows = [...sampleRows].sort((a, b) => a.step - b.step).map((r) =>
    el('tr', {}, el('td', { className: 'step', textContent: String(r.step) }), ...samplePrompts.map((_, i) => {
      const a = r.answers[i];
      return el('td', { textContent: a ? a.text || l10n.t('(nothing: it stopped at once)') : '–', title: a?.stop === 'length' ? l10n.t('cut at sample_max_new_tokens') : l10n.t('ended by the model') });
    })),
  );
  box.replaceChildren(
    el('h2', { textContent: l10n.t('Samples (greedy, from the weights at each step)') }),
    rows.length ? el('table', { id: 'samples-table' }, el('thead', {}, head), el('tbody', {}, ...rows)) : el('p', { className: 'muted', textContent: l10n.t('The first answers come at the first sample_interval step.') }),
  );
}

function updateRunChoices(runs: RunChoice[]): void {
  const box = document.getElementById('compare')!;
  box.replaceChildren(
    el('vscode-option' as 'option', { value: '', textContent: l10n.t('compare with…'), selected: state.compareRunId === null }),
    ...runs.filter((r) => r.id !== state.runId).map((r) => el('vscode-option' as 'option', { value: r.id, textContent: r.label, selected: r.id === state.compareRunId })),
  );
}

/** The data each chart draws now; also what tests and bug reports read (window.tunerDashboard). */
interface DrawnSeries {
  label: string;
  points: Point[];
  /** Drawn dashed: a series of the run compared with. */
  compare?: true;
}

function chartData(): Record<string, DrawnSeries[]> {
  const out: Record<string, DrawnSeries[]> = {};
  for (const c of CHARTS) {
    const sets: DrawnSeries[] = [];
    for (const id of c.series) {
      const pts = series.points(id, state.xAxis);
      if (pts.length > 0) sets.push({ label: SERIES_LABELS[id], points: chartPoints(pts, SMOOTHED_SERIES.has(id) ? state.smoothing : 0, MAX_POINTS) });
    }
    if (compare && c.series[0]) {
      const id = c.series[0];
      const pts = compare.series.points(id, state.xAxis);
      if (pts.length > 0) sets.push({ label: `${SERIES_LABELS[id]} (${compare.label})`, points: chartPoints(pts, SMOOTHED_SERIES.has(id) ? state.smoothing : 0, MAX_POINTS), compare: true });
    }
    out[c.id] = sets;
  }
  return out;
}

function render(): void {
  renderTimer = undefined;
  const data = chartData();
  const colors = palette();
  for (const c of CHARTS) {
    const chart = charts.get(c.id)!;
    const sets = data[c.id];
    // Datasets are updated in place so chart.js keeps its scales and hover state.
    chart.data.datasets.length = sets.length;
    sets.forEach((s, i) => {
      const ds = (chart.data.datasets[i] ??= { label: s.label, data: [] } as ChartDataset<'line', Point[]>);
      ds.label = s.label;
      ds.data = s.points;
      ds.borderColor = colors[i % colors.length];
      ds.backgroundColor = colors[i % colors.length];
      ds.borderDash = s.compare ? [4, 3] : [];
      ds.pointRadius = s.label.startsWith('eval ') ? 2 : 0;  // evaluations are sparse: dots
    });
    if (c.whenData) document.getElementById(`section-${c.id}`)!.hidden = sets.length === 0;
    const legend = chart.options.plugins?.legend;
    if (legend) legend.display = sets.length > 1;
    const x = chart.options.scales?.x as { title: { text: string } } | undefined;
    if (x) x.title.text = axisLabel(state.xAxis);
    // A constant series (a fixed learning rate, whose float rounding differs step to step) gets
    // a fixed range around its value instead of a zoom into the rounding noise.
    // Suggested, not fixed: chart.js still rounds the range out to its tick step.
    const y = chart.options.scales?.y as { suggestedMin?: number; suggestedMax?: number } | undefined;
    if (y) {
      const flat = flatSeriesBounds(sets.flatMap((s) => s.points.map((p) => p.y)));
      y.suggestedMin = flat?.min;
      y.suggestedMax = flat?.max;
    }
    chart.update('none');
  }
  document.body.dataset.points = String(series.size);
}

function scheduleRender(): void {
  renderTimer ??= setTimeout(render, RENDER_INTERVAL_MS);
}

function handle(msg: HostToDashboard): void {
  switch (msg.type) {
    case 'init':
      series = new RunSeries().addAll(msg.events);
      header = msg.run;
      state = { ...state, runId: msg.run.id };
      vscode.setState(state);
      updateRunChoices(msg.runs);
      samplePrompts = msg.samplePrompts ?? [];
      sampleRows = msg.samples ?? [];
      renderSamples();
      updateHeader();
      render();
      if (state.compareRunId) send({ v: V, type: 'compare', runId: state.compareRunId });
      return;
    case 'events':
      series.addAll(msg.events as TrainerEvent[]);
      if (msg.samples?.length) {
        sampleRows = sampleRows.concat(msg.samples);
        renderSamples();
      }
      header = msg.run;
      updateHeader();
      scheduleRender();
      return;
    case 'compare':
      compare = msg.runId ? { label: msg.label, series: new RunSeries().addAll(msg.events) } : undefined;
      render();
      return;
    case 'error': {
      const err = document.getElementById('run-error')!;
      err.hidden = false;
      err.textContent = msg.message;
      return;
    }
    default: {
      const never: never = msg;
      throw new Error(l10n.t('unhandled host message {0}', String(JSON.stringify(never))));
    }
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  let msg: HostToDashboard;
  try {
    msg = parseHostMessage(e.data);
  } catch (err) {
    handle({ v: V, type: 'error', message: `dashboard: ${(err as Error).message}` });
    return;
  }
  handle(msg);
});

/** Each chart's y tick labels as drawn (for tests: no float noise). */
function yTicks(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [id, chart] of charts) out[id] = chart.scales.y?.ticks.map((t) => String(t.label)) ?? [];
  return out;
}

(window as unknown as { tunerDashboard: unknown }).tunerDashboard = { chartData, yTicks, renderNow: render, maxPoints: MAX_POINTS };
buildPage();
send({ v: V, type: 'ready' });
