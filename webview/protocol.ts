// Messages between the extension and its webview panels: one discriminated union per direction,
// keyed on `type`, each message carrying `v` (this protocol's version). Both sides handle them
// with an exhaustive switch; a message that fails `parseDashboardMessage` is an error shown to
// the user, never silently dropped. Pure types and checks: bundled into the webview and the host.
import type { TrainerEvent } from '../src/core/engine/protocol';
import type { RunStatus } from '../src/core/run/run-state';

export const WEBVIEW_PROTOCOL_VERSION = 1;

/** The run header of the dashboard: everything it shows that is not a chart. */
export interface RunHeader {
  id: string;
  /** Model folder name, for the title. */
  model: string;
  method: string;
  params?: number;
  trainableParams?: number;
  status: RunStatus;
  step: number;
  maxSteps: number;
  loss?: number;
  evalLoss?: number;
  tokensPerS?: number;
  etaMs?: number;
  /** Live: the buttons pause/resume/stop/save apply. */
  live: boolean;
  error?: { message: string; hint: string };
}

export interface RunChoice {
  id: string;
  label: string;
}

export type HostToDashboard =
  | { v: number; type: 'init'; run: RunHeader; events: TrainerEvent[]; runs: RunChoice[] }
  | { v: number; type: 'events'; run: RunHeader; events: TrainerEvent[] }
  | { v: number; type: 'compare'; runId: string | null; label: string; events: TrainerEvent[] }
  | { v: number; type: 'error'; message: string };

export type DashboardControl = 'pause' | 'resume' | 'stop' | 'save';

export type DashboardToHost =
  | { v: number; type: 'ready' }
  | { v: number; type: 'control'; command: DashboardControl }
  | { v: number; type: 'compare'; runId: string | null };

/** What the panel keeps in getState/setState and its serializer restores. */
export interface DashboardState {
  runId: string;
  xAxis: 'step' | 'tokens';
  smoothing: number;
  compareRunId: string | null;
}

const CONTROLS: readonly DashboardControl[] = ['pause', 'resume', 'stop', 'save'];

export class WebviewProtocolError extends Error {}

/** Checks a message from the dashboard; throws WebviewProtocolError saying what is wrong. */
export function parseDashboardMessage(m: unknown): DashboardToHost {
  if (typeof m !== 'object' || m === null) throw new WebviewProtocolError(`dashboard message is not an object: ${JSON.stringify(m)}`);
  const o = m as Record<string, unknown>;
  if (o.v !== WEBVIEW_PROTOCOL_VERSION) throw new WebviewProtocolError(`dashboard message version ${String(o.v)} is not ${WEBVIEW_PROTOCOL_VERSION}; reload the window`);
  const type = o.type as DashboardToHost['type'];
  switch (type) {
    case 'ready':
      return { v: WEBVIEW_PROTOCOL_VERSION, type };
    case 'control':
      if (!CONTROLS.includes(o.command as DashboardControl)) throw new WebviewProtocolError(`unknown dashboard control ${JSON.stringify(o.command)}`);
      return { v: WEBVIEW_PROTOCOL_VERSION, type, command: o.command as DashboardControl };
    case 'compare':
      if (o.runId !== null && typeof o.runId !== 'string') throw new WebviewProtocolError('compare: runId must be a run id or null');
      return { v: WEBVIEW_PROTOCOL_VERSION, type, runId: o.runId as string | null };
    default: {
      const never: never = type;
      throw new WebviewProtocolError(`unknown dashboard message type ${JSON.stringify(never)}`);
    }
  }
}

/** Checks a message from the host (the webview's side of the same rule). */
export function parseHostMessage(m: unknown): HostToDashboard {
  if (typeof m !== 'object' || m === null) throw new WebviewProtocolError('host message is not an object');
  const o = m as Record<string, unknown>;
  if (o.v !== WEBVIEW_PROTOCOL_VERSION) throw new WebviewProtocolError(`host message version ${String(o.v)} is not ${WEBVIEW_PROTOCOL_VERSION}`);
  const type = o.type as HostToDashboard['type'];
  switch (type) {
    case 'init':
    case 'events':
      if (typeof o.run !== 'object' || o.run === null || !Array.isArray(o.events)) throw new WebviewProtocolError(`${type}: needs run and events`);
      return m as HostToDashboard;
    case 'compare':
      if (!Array.isArray(o.events)) throw new WebviewProtocolError('compare: needs events');
      return m as HostToDashboard;
    case 'error':
      if (typeof o.message !== 'string') throw new WebviewProtocolError('error: needs message');
      return m as HostToDashboard;
    default: {
      const never: never = type;
      throw new WebviewProtocolError(`unknown host message type ${JSON.stringify(never)}`);
    }
  }
}
