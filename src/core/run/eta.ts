// Time left in a run: recent step durations, not the average since the start, because the
// first steps (page faults, cold caches) and a paused period would skew a whole-run mean.
const WINDOW = 20;

export class EtaEstimator {
  private readonly recent: number[] = [];

  /** Records one step's duration in milliseconds. */
  addStep(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  /** Milliseconds left for `remainingSteps`, undefined before the first step. */
  remainingMs(remainingSteps: number): number | undefined {
    if (this.recent.length === 0) return undefined;
    const sorted = [...this.recent].sort((a, b) => a - b);
    // The median shrugs off one slow step (a checkpoint save, an eval).
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    return Math.max(0, remainingSteps) * median;
  }
}

/** "45s", "3m 20s", "2h 05m": short enough for a status bar. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}
