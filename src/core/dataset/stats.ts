// "Dataset Statistics": what a file holds (formats, lengths, duplicates, roles, problems),
// computed by the same pass as the linter and rendered as Markdown for a preview.

import { FORMATS, type FormatId } from './formats';
import { lintText, type LintOptions } from './lint';
import { ruleByCode } from './rules';
import * as l10n from '@vscode/l10n';

export interface DatasetStats {
  records: number;
  formatCounts: Partial<Record<FormatId, number>>;
  /** Records per length bucket (characters of the record's line). */
  lengthHistogram: { bucket: string; count: number }[];
  /** Records that repeat an earlier record exactly. */
  duplicates: number;
  /** Records whose normalised text repeats an earlier one (0 unless near-duplicates are on). */
  nearDuplicates: number;
  /** Turns per role over all records (single-turn formats count their prompt and answer). */
  roleCounts: Record<string, number>;
  /** Problems per rule code, counting those beyond the display limit too. */
  problemCounts: Record<string, number>;
  totalChars: number;
  meanChars: number;
  maxChars: number;
}

export function computeStats(text: string, options?: LintOptions): DatasetStats {
  const result = lintText(text, options);
  if (!result.stats) throw new Error(l10n.t('The linter returned no statistics'));
  return result.stats;
}

function bar(count: number, max: number): string {
  const width = max > 0 ? Math.round((count / max) * 30) : 0;
  return '█'.repeat(width) || (count > 0 ? '▏' : '');
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function statsToMarkdown(stats: DatasetStats, fileName: string): string {
  const out: string[] = [];
  out.push(l10n.t('# Dataset statistics: {0}', escapeCell(fileName)), '');
  out.push(l10n.t('**{0}** records, {1} characters (mean {2}, longest {3}).', stats.records.toLocaleString('en-US'), stats.totalChars.toLocaleString('en-US'), stats.meanChars.toLocaleString('en-US'), stats.maxChars.toLocaleString('en-US')), '');
  out.push('## Formats', '', l10n.t('| Format | Records |'), '| --- | ---: |');
  const formats = FORMATS.filter((f) => stats.formatCounts[f.id]);
  if (formats.length === 0) out.push(l10n.t('| (none recognised) | 0 |'));
  for (const f of formats) out.push(`| ${f.label} | ${stats.formatCounts[f.id]} |`);
  out.push('', l10n.t('## Record length (characters)'), '', l10n.t('| Length | Records | |'), '| --- | ---: | --- |');
  const maxBucket = Math.max(0, ...stats.lengthHistogram.map((b) => b.count));
  for (const b of stats.lengthHistogram) out.push(`| ${b.bucket} | ${b.count} | ${bar(b.count, maxBucket)} |`);
  out.push('', '## Duplicates', '', l10n.t('- Exact duplicates: {0}', stats.duplicates), l10n.t('- Near-duplicates (whitespace/case): {0}', stats.nearDuplicates));
  out.push('', l10n.t('## Turns per role'), '', l10n.t('| Role | Turns |'), '| --- | ---: |');
  const roles = Object.entries(stats.roleCounts).sort((a, b) => b[1] - a[1]);
  if (roles.length === 0) out.push('| (none) | 0 |');
  for (const [role, n] of roles) out.push(`| ${escapeCell(role)} | ${n} |`);
  out.push('', '## Problems', '', l10n.t('| Code | Rule | Count |'), '| --- | --- | ---: |');
  const problems = Object.entries(stats.problemCounts);
  if (problems.length === 0) out.push('| | none | 0 |');
  for (const [code, n] of problems) out.push(`| ${code} | ${escapeCell(ruleByCode(code)?.title ?? code)} | ${n} |`);
  out.push('');
  return out.join('\n');
}
