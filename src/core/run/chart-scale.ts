// The dashboard's y axes: tick labels without float noise, a sensible range for a flat series,
// and which series are smoothed. A constant learning rate is stored as 0.01 at one step and
// 0.009999999999999997 at the next (it is recomputed by the schedule each step); a chart that
// autoscales to that spread draws noise spikes and ticks with 18 decimals. No Node or DOM
// imports: the webview bundles this file.
import type { SeriesId } from './series';

/**
 * Only loss-like series are smoothed: their step-to-step noise hides the trend. The learning
 * rate, memory and throughput are exact values; an average would draw something that never happened.
 */
export const SMOOTHED_SERIES: ReadonlySet<SeriesId> = new Set<SeriesId>(['loss']);

/** Relative spread below which a series is flat (float rounding of one value, not a change). */
const FLAT_SPREAD = 1e-6;

/**
 * Fixed y bounds for a series that does not change (within float rounding): zero to twice the
 * value, so the line sits mid-chart with zero in view; undefined when the chart may autoscale.
 */
export function flatSeriesBounds(values: readonly number[]): { min: number; max: number } | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return undefined;
  const scale = Math.max(Math.abs(lo), Math.abs(hi));
  if (hi - lo > FLAT_SPREAD * scale) return undefined;
  if (scale === 0) return { min: -1, max: 1 };
  // The value as it was meant (0.01, not 0.009999999999999997): twelve significant digits.
  const center = Number(((lo + hi) / 2).toPrecision(12));
  return center > 0 ? { min: 0, max: 2 * center } : { min: 2 * center, max: 0 };
}

/** The fewest decimals (at most 12) that write `v` to within `tolerance`. */
function decimalsFor(v: number, tolerance: number): number {
  for (let d = 0; d < 12; d++) if (Math.abs(Number(v.toFixed(d)) - v) <= tolerance) return d;
  return 12;
}

/**
 * Labels for a chart's tick values: one number of decimals for all of them (aligned, "0.0095",
 * "0.0100", "0.0105"), as few as tell them apart exactly; magnitudes below 1e-3 (learning rates)
 * as "5e-5", "1.5e-4"; thousands grouped.
 */
export function formatTicks(ticks: readonly number[]): string[] {
  const finite = ticks.filter(Number.isFinite);
  if (finite.length === 0) return ticks.map(() => '');
  const maxAbs = Math.max(...finite.map(Math.abs));
  const sorted = [...finite].sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] - sorted[i - 1] > 0) step = Math.min(step, sorted[i] - sorted[i - 1]);
  if (!Number.isFinite(step)) step = maxAbs || 1;
  // Exact to a millionth of the tick step, and never finer than float rounding of the values.
  const tolerance = Math.max(step * 1e-6, maxAbs * 1e-9);
  if (maxAbs > 0 && maxAbs < 1e-3) {
    return ticks.map((v) => {
      if (!Number.isFinite(v)) return '';
      if (Math.abs(v) <= tolerance) return '0';
      let d = 0;
      while (d < 12 && Math.abs(Number(v.toExponential(d)) - v) > tolerance) d++;
      const [mantissa, exp] = v.toExponential(d).split('e');
      return `${mantissa}e${exp.replace('+', '')}`;
    });
  }
  const decimals = Math.max(...finite.map((v) => decimalsFor(v, tolerance)));
  return ticks.map((v) => {
    if (!Number.isFinite(v)) return '';
    const rounded = Math.abs(v) <= tolerance ? 0 : v;
    return rounded.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  });
}
