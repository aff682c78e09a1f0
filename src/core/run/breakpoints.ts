// Training breakpoints, the debugger's "exception breakpoints": decided per step event, so the
// debugger can stop on exactly the step that matched. A non-finite loss or gradient ends the
// trainer with an error event (the update is not applied, the last checkpoint stays good); the
// debugger shows that as a stop on the failing step.
import type { ErrorEvent, StepEvent } from '../engine/protocol';
import * as l10n from '@vscode/l10n';

export interface BreakpointSettings {
  /** Stop when the loss or gradient becomes NaN or infinite. */
  nonFinite: boolean;
  /** Stop when the loss exceeds this many times its recent average (undefined: off). */
  lossSpikeFactor?: number;
  /** Stop after these optimizer steps. */
  atSteps: number[];
}

export const NO_BREAKPOINTS: BreakpointSettings = { nonFinite: false, atSteps: [] };

export interface BreakpointHit {
  kind: 'nonFinite' | 'lossSpike' | 'atStep';
  step: number;
  description: string;
}

/** Steps of average before a spike can be judged: the first losses move fast by nature. */
const SPIKE_WARMUP = 5;
const SPIKE_EMA = 0.9;

export class BreakpointChecker {
  private avg: number | undefined;
  private seen = 0;

  constructor(public settings: BreakpointSettings) {}

  /** Checks one step; the loss average is updated after the check so a spike is judged against the steps before it. */
  onStep(e: StepEvent): BreakpointHit | undefined {
    let hit: BreakpointHit | undefined;
    const factor = this.settings.lossSpikeFactor;
    if (factor !== undefined && this.avg !== undefined && this.seen >= SPIKE_WARMUP && e.loss > factor * this.avg) {
      hit = { kind: 'lossSpike', step: e.step, description: l10n.t('loss {0} at step {1} is over {2}× its recent average {3}', e.loss.toPrecision(5), e.step, factor, this.avg.toPrecision(5)) };
    } else if (this.settings.atSteps.includes(e.step)) {
      hit = { kind: 'atStep', step: e.step, description: l10n.t('breakpoint at step {0}', e.step) };
    }
    this.avg = this.avg === undefined ? e.loss : SPIKE_EMA * this.avg + (1 - SPIKE_EMA) * e.loss;
    this.seen++;
    return hit;
  }

  /** A trainer error caught by the "on NaN/Inf" breakpoint. */
  onError(e: ErrorEvent): BreakpointHit | undefined {
    if (!this.settings.nonFinite || !e.code.startsWith('non_finite')) return undefined;
    return { kind: 'nonFinite', step: e.step ?? 0, description: `${e.message}. ${e.hint}` };
  }
}
