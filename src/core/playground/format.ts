// Numbers as the playground shows them: units always, a few significant digits, never an
// exponent or float noise (0.30000000000000004, 2.76e+5). Pure functions shared by the webview
// and the host, so the panel and the notifications say the same thing.

import { significant } from '../units';

export { formatBytes, formatCount, formatMs, formatRate } from '../units';

/** A loss: three decimals ("1.234"), as the runs view shows it. */
export function formatLoss(loss: number | undefined): string {
  return loss === undefined || !Number.isFinite(loss) ? '–' : loss.toFixed(3);
}

/** A sampling value as typed back into a field: 0.8 stays "0.8", 0.1 + 0.2 reads "0.3". */
export function formatSetting(v: number): string {
  if (!Number.isFinite(v)) return '';
  return Number.isInteger(v) ? String(v) : significant(v, 6);
}
