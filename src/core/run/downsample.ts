// Series reduction for charts: a 100k-step run must draw as fast as a 100-step one, so a chart
// gets at most a few thousand points. Largest-Triangle-Three-Buckets keeps the visual shape
// (spikes survive, unlike plain striding); the smoothing is TensorBoard's debiased EMA so the
// curve starts at the first value instead of at zero. No Node or DOM imports: the webview
// bundles this file too.

export interface Point {
  x: number;
  y: number;
}

/**
 * Reduces `points` (sorted by x) to at most `threshold` points with LTTB. The first and last
 * points are always kept; inputs at or under the threshold are returned as they are.
 */
export function lttb(points: readonly Point[], threshold: number): Point[] {
  const n = points.length;
  if (threshold >= n || n <= 2) return points.slice();
  if (threshold < 3) return [points[0], points[n - 1]];
  const out: Point[] = [points[0]];
  // Buckets split the interior points; each bucket contributes the point that forms the largest
  // triangle with the previously kept point and the average of the next bucket.
  const every = (n - 2) / (threshold - 2);
  let a = 0;
  for (let i = 0; i < threshold - 2; i++) {
    const start = Math.floor(i * every) + 1;
    const end = Math.min(Math.floor((i + 1) * every) + 1, n - 1);
    const nextStart = end;
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, n);
    let avgX = 0;
    let avgY = 0;
    for (let j = nextStart; j < nextEnd; j++) {
      avgX += points[j].x;
      avgY += points[j].y;
    }
    const count = Math.max(nextEnd - nextStart, 1);
    avgX /= count;
    avgY /= count;
    const ax = points[a].x;
    const ay = points[a].y;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < end; j++) {
      const area = Math.abs((ax - avgX) * (points[j].y - ay) - (ax - points[j].x) * (avgY - ay));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]);
    a = best;
  }
  out.push(points[n - 1]);
  return out;
}

/**
 * Exponential moving average with weight `weight` in [0, 1) on the past, debiased so early
 * values are not pulled towards zero. weight 0 returns the input unchanged.
 */
export function smooth(points: readonly Point[], weight: number): Point[] {
  if (!(weight > 0)) return points.slice();
  const w = Math.min(weight, 0.999);
  let last = 0;
  let debias = 0;
  return points.map((p) => {
    last = last * w + (1 - w) * p.y;
    debias = debias * w + (1 - w);
    return { x: p.x, y: last / debias };
  });
}

/** Smooth, then reduce: what a chart draws for one series. */
export function chartPoints(points: readonly Point[], smoothing: number, maxPoints: number): Point[] {
  return lttb(smooth(points, smoothing), maxPoints);
}
