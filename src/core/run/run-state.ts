// What a run looks like right now, folded from its events: the status bar, the dashboard header,
// the runs tree and the debugger's Variables view all read this one shape. No Node or DOM
// imports: the webview bundles it too.
import type { CheckpointEvent, ErrorEvent, LayerNorms, StartEvent, TrainerEvent } from '../engine/protocol';
import { EtaEstimator } from './eta';
import * as l10n from '@vscode/l10n';

/**
 * running / paused: a live trainer; done: completed; stopped: stopped by the user with a
 * checkpoint; failed: the trainer reported an error or died; interrupted: events end without an
 * ending (the trainer or the editor was killed); resume continues from the last checkpoint.
 */
export type RunStatus = 'starting' | 'running' | 'paused' | 'done' | 'stopped' | 'failed' | 'interrupted';

export interface RunSnapshot {
  status: RunStatus;
  step: number;
  maxSteps: number;
  loss?: number;
  evalLoss?: number;
  lr?: number;
  gradNorm?: number;
  tokensPerS?: number;
  /** Tokens trained so far (this run, every segment). */
  tokens: number;
  peakMemoryBytes?: number;
  /** Training on a device: the device's peak memory (step events' device_memory). */
  gpuPeakMemoryBytes?: number;
  /** Per-layer norms of the last step (debugger runs only). */
  layers?: LayerNorms[];
  etaMs?: number;
  start?: StartEvent;
  lastCheckpoint?: CheckpointEvent;
  error?: ErrorEvent;
  /** Set for runs that ended: the trained adapter/model folder. */
  output?: string;
}

export function emptySnapshot(): RunSnapshot {
  return { status: 'starting', step: 0, maxSteps: 0, tokens: 0 };
}

/** Folds events into a snapshot; `apply` returns the same object, updated. */
export class RunStateTracker {
  readonly snapshot: RunSnapshot = emptySnapshot();
  private readonly eta = new EtaEstimator();
  private tokensPerStep = 0;

  /**
   * `atMs`: when a live event arrived (a monotonic clock); the time left is estimated from these.
   * A stored run replayed passes none and has no ETA.
   */
  apply(e: TrainerEvent, atMs?: number): RunSnapshot {
    const s = this.snapshot;
    switch (e.type) {
      case 'start':
        s.start = e;
        s.maxSteps = e.max_steps;
        s.step = e.step;
        s.status = 'running';
        s.error = undefined;
        this.tokensPerStep = e.tokens_per_step;
        s.tokens = e.step * e.tokens_per_step;
        if (atMs !== undefined) this.eta.restart(e.step, atMs);
        break;
      case 'step':
        s.step = e.step;
        s.loss = e.loss;
        s.lr = e.lr;
        s.gradNorm = e.grad_norm;
        s.layers = e.layers;
        s.tokensPerS = e.tokens_per_s;
        s.peakMemoryBytes = Math.max(s.peakMemoryBytes ?? 0, e.peak_memory_bytes);
        if (e.device_memory) s.gpuPeakMemoryBytes = Math.max(s.gpuPeakMemoryBytes ?? 0, e.device_memory.peak_bytes);
        s.tokens = e.step * (e.tokens || this.tokensPerStep);
        if (atMs !== undefined) this.eta.addStep(e.step, atMs);
        if (s.status === 'starting') s.status = 'running';
        break;
      case 'eval':
        s.evalLoss = e.loss;
        break;
      case 'sample':
        break; // shown by the dashboard's samples table, not part of the run's state
      case 'checkpoint':
        s.lastCheckpoint = e;
        break;
      case 'paused':
        s.status = 'paused';
        this.eta.halt();
        break;
      case 'resumed':
        s.status = 'running';
        if (atMs !== undefined) this.eta.restart(s.step, atMs);
        break;
      case 'heartbeat':
        break; // a sign of life (engine/trainer-health.ts), not a change of state
      case 'done':
        s.status = e.reason === 'completed' ? 'done' : 'stopped';
        s.step = e.step;
        s.output = e.outputs.adapter ?? e.outputs.model;
        if (e.outputs.checkpoint) s.lastCheckpoint = { version: e.version, type: 'checkpoint', step: e.step, path: e.outputs.checkpoint };
        break;
      case 'error':
        s.status = 'failed';
        s.error = e;
        break;
      default: {
        const never: never = e;
        throw new Error(l10n.t('unhandled trainer event {0}', String(JSON.stringify(never))));
      }
    }
    s.etaMs = s.status === 'running' || s.status === 'paused' ? this.eta.remainingMs(s.maxSteps - s.step) : undefined;
    return s;
  }

  applyAll(events: Iterable<TrainerEvent>): RunSnapshot {
    for (const e of events) this.apply(e);
    return this.snapshot;
  }
}

export function isLive(status: RunStatus): boolean {
  return status === 'starting' || status === 'running' || status === 'paused';
}
