// Numbers as the playground shows them: units always, a few significant digits, never an
// exponent or float noise (0.30000000000000004, 2.76e+5). Pure functions shared by the webview
// and the host, so the panel and the notifications say the same thing.

/** Rounds to `digits` significant digits without switching to exponent notation. */
function significant(n: number, digits: number): string {
  if (n === 0 || !Number.isFinite(n)) return Number.isFinite(n) ? '0' : '–';
  const magnitude = Math.floor(Math.log10(Math.abs(n)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const s = n.toFixed(Math.min(decimals, 20));
  return decimals > 0 ? s.replace(/\.?0+$/, '') : s;
}

/** Groups thousands with a thin space-free comma: 12,345. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "512 B", "12.3 KiB", "245 MiB", "1.21 GiB". */
export function formatBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  // 1023.7 MiB would print as "1024 MiB": carry to the next unit instead.
  const s = significant(v, 3);
  if (Number(s) >= 1024 && u < units.length - 1) return `1 ${units[u + 1]}`;
  return `${s} ${units[u]}`;
}

/** "0.4 ms", "85 ms", "1.25 s", "12.3 s", "2 min 5 s". */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10) return `${significant(ms, 2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${significant(s, 3)} s`;
  const min = Math.floor(s / 60);
  return `${min} min ${Math.round(s - min * 60)} s`;
}

/** "23.4 tok/s", "1,234 tok/s". */
export function formatRate(perS: number | null | undefined): string {
  if (perS === null || perS === undefined || !Number.isFinite(perS) || perS < 0) return '–';
  return `${perS >= 1000 ? formatCount(perS) : significant(perS, 3)} tok/s`;
}

/** A loss: three decimals ("1.234"), as the runs view shows it. */
export function formatLoss(loss: number | undefined): string {
  return loss === undefined || !Number.isFinite(loss) ? '–' : loss.toFixed(3);
}

/** A sampling value as typed back into a field: 0.8 stays "0.8", 0.1 + 0.2 reads "0.3". */
export function formatSetting(v: number): string {
  if (!Number.isFinite(v)) return '';
  return Number.isInteger(v) ? String(v) : significant(v, 6);
}
