// The cleaning report as Markdown (opened in VS Code's Markdown preview, written beside the
// data): the totals and the check that they add up, then each step's records in and out, what
// it changed, and per reason the records removed with their lines and a few samples.
import * as path from 'node:path';
import { formatCount, formatDuration } from '../../units';
import type { CleanResult } from './pipeline';
import { LINES_KEPT, removedTotal, type StepTally } from './tally';
import * as l10n from '@vscode/l10n';

/** Inline code that survives any text: backticks, pipes and line breaks neutralised. */
function code(s: string): string {
  const t = s.replace(/[\r\n]+/g, ' ');
  const fence = t.includes('`') ? '``' : '`';
  return `${fence} ${t} ${fence}`;
}

function lineList(lines: number[], count: number): string {
  const shown = lines.join(', ');
  return count > lines.length ? l10n.t('{0}, … ({1} more in the side file)', shown, formatCount(count - lines.length)) : shown;
}

function stepSection(s: StepTally): string[] {
  const removed = removedTotal(s);
  const summary = [l10n.t('{0} in → {1} out', formatCount(s.in), formatCount(s.out))];
  if (removed) summary.push(l10n.t('{0} removed', formatCount(removed)));
  if (s.changed) summary.push(l10n.t('{0} rewritten', formatCount(s.changed)));
  const out = [`### ${s.title}`, '', `${summary.join(', ')}.`];
  if (s.note) out.push('', s.note);
  const counts = Object.entries(s.counts).sort((a, b) => b[1] - a[1]);
  if (counts.length > 0) out.push('', counts.map(([k, v]) => `${k}: ${formatCount(v)}`).join(' · '));
  for (const [reason, r] of Object.entries(s.removed)) {
    out.push('', r.count === 1 ? l10n.t('**{0}**: 1 record, line {1}', reason, lineList(r.lines, r.count)) : l10n.t('**{0}**: {1} records, lines {2}', reason, formatCount(r.count), lineList(r.lines, r.count)), '');
    for (const sample of r.samples) {
      const where = sample.detail ? l10n.t('line {0} ({1})', sample.line, sample.detail) : l10n.t('line {0}', sample.line);
      out.push(`- ${where}: ${code(sample.text)}`);
    }
  }
  out.push('');
  return out;
}

export function cleanReportMarkdown(r: CleanResult): string {
  const name = path.basename(r.input);
  const rel = (f: string | undefined) => (f ? `\`${path.basename(f)}\`` : '');
  const adds = r.records === r.kept + r.removed;
  const lines = [
    l10n.t('# Cleaning report: {0}', name),
    '',
    l10n.t('The source file was read, not changed. Finished in {0}.', formatDuration(r.seconds)),
    '',
    `| | ${l10n.t('records')} |`,
    '|---|---:|',
    l10n.t('| in (non-blank lines) | {0} |', formatCount(r.records)),
    ...(r.outputs.clean
      ? [l10n.t('| kept → {0} | {1} |', rel(r.outputs.clean), formatCount(r.train))]
      : [l10n.t('| train → {0} | {1} |', rel(r.outputs.train), formatCount(r.train)), l10n.t('| eval → {0} | {1} |', rel(r.outputs.eval), formatCount(r.eval))]),
    l10n.t('| removed → {0} | {1} |', rel(r.outputs.removed), formatCount(r.removed)),
    '',
    adds
      ? l10n.t('In = kept + removed: {0} = {1} + {2}. Every removed record is in {3} with its line and reason.', formatCount(r.records), formatCount(r.kept), formatCount(r.removed), rel(r.outputs.removed))
      : l10n.t('**The counts do not add up**: {0} in, {1} kept, {2} removed. Please report this.', formatCount(r.records), formatCount(r.kept), formatCount(r.removed)),
  ];
  if (r.blankLines > 0) lines.push('', r.blankLines === 1 ? l10n.t('1 blank line was skipped (not records).') : l10n.t('{0} blank lines were skipped (not records).', formatCount(r.blankLines)));
  if (r.recipe.split) {
    const dedupe = r.recipe.steps.exactDedupe || r.recipe.steps.nearDedupe;
    lines.push('', dedupe
      ? l10n.t('Duplicates were removed from the whole file before the split, so no eval record repeats a training record.')
      : l10n.t('No deduplication step ran: an eval record may repeat a training record. Tick the duplicate steps to prevent that.'));
    if (r.sources.length > 1) {
      lines.push('', l10n.t('Split by source (each keeps its share in eval):'), '', l10n.t('| source | train | eval |'), '|---|---:|---:|');
      for (const s of r.sources) lines.push(`| ${s.source || l10n.t('(none)')} | ${formatCount(s.train)} | ${formatCount(s.eval)} |`);
    }
  }
  lines.push('', `## ${l10n.t('Steps')}`, '', l10n.t('Each step sees the records the step before kept. Up to {0} line numbers and 3 samples are shown per reason.', LINES_KEPT), '');
  for (const s of r.steps) lines.push(...stepSection(s));
  lines.push(`## ${l10n.t('Recipe')}`, '', '```json', JSON.stringify(r.recipe, null, 2), '```', '');
  return lines.join('\n');
}
