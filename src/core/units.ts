// The one way Tuner writes numbers with units: sizes in binary units (KiB, MiB, GiB: 1024³
// bytes is "1 GiB" everywhere), durations, counts, rates and parameter counts. A few significant
// digits, never an exponent or float noise (2.76e+5, 0.30000000000000004). Pure functions with no
// Node or DOM imports: the host, the CLI and both webviews bundle this file, so every surface
// says the same thing.

/** Rounds to `digits` significant digits without switching to exponent notation ("0.00012", "1.21"). */
export function significant(n: number, digits: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(n)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const s = n.toFixed(Math.min(decimals, 20));
  return decimals > 0 ? s.replace(/\.?0+$/, '') : s;
}

/** Groups thousands: 12,345. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** "512 B", "12.3 KiB", "245 MiB", "1.21 GiB"; "–" when unknown. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '–';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  // 1023.7 MiB would print as "1024 MiB": carry to the next unit instead.
  const s = significant(v, 3);
  if (Number(s) >= 1024 && u < BYTE_UNITS.length - 1) return `1 ${BYTE_UNITS[u + 1]}`;
  return `${s} ${BYTE_UNITS[u]}`;
}

/**
 * A duration in seconds: "3.1 s", "42 s", "3 min 05 s", "2 h 05 min", "3.5 days". Short enough
 * for a status bar, precise enough to watch an ETA move.
 */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 10) return `${significant(seconds, 2)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, '0')} min`;
  return `${significant(seconds / 86400, 2)} days`;
}

/** Milliseconds, for latencies: "0.43 ms", "85 ms", "1.25 s"; a minute or more as formatDuration. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10) return `${significant(ms, 2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${significant(ms / 1000, 3)} s`;
  return formatDuration(ms / 1000);
}

/** Tokens per second: "23.4 tok/s", "116,693 tok/s". */
export function formatRate(perS: number | null | undefined): string {
  if (perS === null || perS === undefined || !Number.isFinite(perS) || perS < 0) return '–';
  return `${perS >= 1000 ? formatCount(perS) : significant(perS, 3)} tok/s`;
}

/** A parameter count in the unit that fits: "912", "18.1 K", "6.74 M", "7.24 B". */
export function formatParams(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '–';
  if (n < 1000) return String(Math.round(n));
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'K']];
  for (const [size, unit] of units) {
    if (n >= size * 0.9995) {
      const s = significant(n / size, 3);
      return `${s} ${unit}`;
    }
  }
  return String(Math.round(n));
}

/**
 * A measured value (loss, learning rate, gradient norm): four significant digits, exponent only
 * for magnitudes far from 1 (a learning rate of 2e-5 reads "2e-5", not "0.00002000").
 */
export function formatValue(n: number | undefined, digits = 4): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  if (n === 0) return '0';
  if (Math.abs(n) >= 1e4) return formatCount(n);
  if (Math.abs(n) < 1e-3) {
    const [mantissa, exp] = n.toExponential(Math.max(0, digits - 2)).split('e');
    return `${mantissa.replace(/\.?0+$/, '')}e${exp.replace('+', '')}`;
  }
  return significant(n, digits);
}
