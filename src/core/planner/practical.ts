// Whether a plan is practical on this machine. A run estimated at days is not a plan a user
// should start without being told: the planner says so plainly, with what would make it
// practical — a smaller local model (with its own estimate), a GPU machine (estimated too), and
// the hand-off README that runs this plan elsewhere.
import type { ResolvedArgs } from '../args/fields';
import { describedHardware, type HardwareProfile } from '../hardware/types';
import { formatCount } from '../units';
import type { LocalModel } from './context';
import { formatDuration, type EstimateContext, type Estimator, type PlanEstimate } from './estimator';
import * as l10n from '@vscode/l10n';

/** Longer than this on the machine that will run it is not practical (a day and a night). */
export const IMPRACTICAL_SECONDS = 24 * 3600;

/** The GPU machine the alternative is estimated on: one consumer card. */
const ONE_GPU = describedHardware({ gpus: 1, gpuMemoryGiB: 24, get gpuName() { return l10n.t('one 24 GB GPU'); }, ramGiB: 64 });

export interface PracticalInput {
  args: ResolvedArgs;
  estimate: PlanEstimate;
  model: LocalModel;
  models: LocalModel[];
  ctx: EstimateContext;
  estimator: Estimator;
  hardware: HardwareProfile;
}

/** A warning when the run would take longer than IMPRACTICAL_SECONDS here, else undefined. */
export function impracticalWarning(p: PracticalInput): string | undefined {
  const { seconds } = p.estimate;
  if (seconds === undefined || seconds <= IMPRACTICAL_SECONDS) return undefined;
  const where = p.estimate.device === 'cuda' ? (p.hardware.gpus.length === 1 ? l10n.t('1 GPU') : l10n.t('{0} GPUs', p.hardware.gpus.length)) : l10n.t('this machine\'s {0}-core CPU', p.hardware.cores);
  const alternatives: string[] = [];
  const quicker = p.models
    .filter((m) => m.params < p.model.params)
    .map((m) => ({ m, e: p.estimator(p.args, { ...p.ctx, model: m.spec }) }))
    .filter(({ e }) => e.fits && e.seconds !== undefined && e.seconds <= IMPRACTICAL_SECONDS)
    .sort((x, y) => (x.e.seconds ?? 0) - (y.e.seconds ?? 0));
  if (quicker.length > 0) alternatives.push(l10n.t('a smaller local model: {0}', quicker.map(({ m, e }) => `${m.ref} (about ${formatDuration(e.seconds)})`).join(', ')));
  if (p.estimate.device === 'cpu') {
    const gpuArgs: ResolvedArgs = { ...p.args, device: 'cuda', precision: 'bf16', gpus: 1 };
    const onGpu = p.estimator(gpuArgs, { ...p.ctx, hardware: ONE_GPU, memoryLimitBytes: undefined });
    alternatives.push(l10n.t('a machine with a GPU ({0}: about {1}{2}); /readme writes the instructions to run this plan there', ONE_GPU.gpus[0].name, formatDuration(onGpu.seconds), onGpu.fits ? '' : l10n.t(', with a cheaper method to fit its memory')));
  } else {
    alternatives.push(l10n.t('more GPUs, or /readme to run this plan on a larger machine'));
  }
  alternatives.push(l10n.t('or fewer epochs over a sample of the data (say how long you can wait)'));
  return l10n.t('This run would take about {0} on {1} ({2} steps): too long to be practical here. Alternatives: {3}.', formatDuration(seconds), where, p.estimate.optimizerSteps === undefined ? '?' : formatCount(p.estimate.optimizerSteps), alternatives.join('; '));
}
