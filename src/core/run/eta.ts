// Time left in a run, from wall-clock time between steps as they arrive: the trainer's own `ms`
// per step counts only its compute, not data loading, event writing, evaluation or checkpoints,
// and a tiny model's 0.4 ms of compute per step said "6s" for a run that took a minute. The rate
// is measured over the last WINDOW_MS of running (a paused period is not counted: the window
// restarts on pause/resume), so a slow warm-up does not skew a long run's estimate.
const WINDOW_MS = 30_000;
/** A sample at most this often: 1,500 steps/s must not grow the window by 1,500 entries a second. */
const SAMPLE_EVERY_MS = 50;

interface Sample {
  step: number;
  atMs: number;
}

export class EtaEstimator {
  private samples: Sample[] = [];
  /** The rate when the clock last stopped: shown while paused and until the new window has one. */
  private held: number | undefined;

  /** The run is (again) at `step` at `atMs` and running: the clock starts here (start, resume). */
  restart(step: number, atMs: number): void {
    this.samples = [{ step, atMs }];
  }

  /** Time stops counting (paused); the next restart begins a new window. */
  halt(): void {
    this.held = this.msPerStep();
    this.samples = [];
  }

  /** Step `step` finished at wall time `atMs` (milliseconds, any monotonic clock). */
  addStep(step: number, atMs: number): void {
    const last = this.samples.at(-1);
    if (!last) {
      // A step seen with no start (a stored run replayed): it is the clock's origin.
      this.samples.push({ step, atMs });
      return;
    }
    if (atMs - last.atMs < SAMPLE_EVERY_MS && this.samples.length > 1) {
      // Too soon for a new sample: move the newest one forward instead.
      this.samples[this.samples.length - 1] = { step, atMs };
    } else {
      this.samples.push({ step, atMs });
    }
    const cutoff = atMs - WINDOW_MS;
    let drop = 0;
    while (drop < this.samples.length - 2 && this.samples[drop + 1].atMs <= cutoff) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }

  /** Wall milliseconds per step over the window, undefined until a step has been timed. */
  msPerStep(): number | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.step <= first.step || last.atMs <= first.atMs) return this.held;
    return (last.atMs - first.atMs) / (last.step - first.step);
  }

  /** Milliseconds left for `remainingSteps`, undefined before the first timed step. */
  remainingMs(remainingSteps: number): number | undefined {
    const per = this.msPerStep();
    return per === undefined ? undefined : Math.max(0, remainingSteps) * per;
  }
}
