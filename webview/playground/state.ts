// The page's state: what it keeps across reloads (PlaygroundState, through the webview API's
// getState/setState, which the panel's serializer hands back), and what it learns from the host
// while open (models, the sides' status, the generation in flight, export jobs).
import { DEFAULT_SAMPLING } from '../../src/core/playground/sampling';
import {
  WEBVIEW_PROTOCOL_VERSION,
  type ExportChoice,
  type ExportJobStatus,
  type ModelChoice,
  type PlaygroundHistoryEntry,
  type PlaygroundState,
  type PlaygroundToHost,
  type SideStatus,
} from '../protocol';

interface VsCodeApi {
  postMessage(m: PlaygroundToHost): void;
  getState(): PlaygroundState | undefined;
  setState(s: PlaygroundState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();
export const V = WEBVIEW_PROTOCOL_VERSION;

export function initialState(): PlaygroundState {
  return {
    mode: 'chat',
    sideBySide: false,
    picks: [{ modelId: '', quant: 'f32' }, { modelId: '', quant: 'f32' }],
    loaded: [null, null],
    system: '',
    exchanges: [],
    text: '',
    outputs: ['', ''],
    outputStats: [null, null],
    draft: '',
    sampling: { ...DEFAULT_SAMPLING, stop: [] },
    showSettings: true,
  };
}

/** The saved state, completed with defaults for fields an older page did not save. */
function restored(): PlaygroundState {
  const saved = api.getState();
  const init = initialState();
  if (!saved || typeof saved !== 'object') return init;
  return { ...init, ...saved, sampling: { ...init.sampling, ...saved.sampling } };
}

export let state: PlaygroundState = restored();

export interface Generating {
  genId: string;
  /** The exchange being answered (chat), or -1 for raw completion. */
  index: number;
  sides: Set<number>;
  prefill: (string | null)[];
}

export const rt = {
  inited: false,
  workspace: false,
  trusted: true,
  models: [] as ModelChoice[],
  exports: [] as ExportChoice[],
  history: [] as PlaygroundHistoryEntry[],
  sides: [{ side: 0, phase: 'empty' }, { side: 1, phase: 'empty' }] as SideStatus[],
  gen: undefined as Generating | undefined,
  genErrors: new Map<string, { message: string; hint: string }>(),
  jobs: new Map<string, ExportJobStatus>(),
  error: undefined as { message: string; hint?: string } | undefined,
  /** Which exchange is being edited, and its text. */
  editing: undefined as { index: number; text: string } | undefined,
};

export function update(change: Partial<PlaygroundState>): void {
  state = { ...state, ...change };
  api.setState(state);
}

export function save(): void {
  api.setState(state);
}

export function send(m: PlaygroundToHost): void {
  api.postMessage(m);
}

export function model(id: string | undefined): ModelChoice | undefined {
  return id ? rt.models.find((m) => m.id === id) : undefined;
}

/** The sides in use: A, and B when side by side is on. */
export function activeSides(): (0 | 1)[] {
  return state.sideBySide ? [0, 1] : [0];
}

export const errorKey = (index: number, side: number) => `${index}:${side}`;
