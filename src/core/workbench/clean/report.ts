// The cleaning report as Markdown (opened in VS Code's Markdown preview, written beside the
// data): the totals and the check that they add up, then each step's records in and out, what
// it changed, and per reason the records removed with their lines and a few samples.
import * as path from 'node:path';
import { formatCount, formatDuration } from '../../units';
import type { CleanResult } from './pipeline';
import { LINES_KEPT, removedTotal, type StepTally } from './tally';

/** Inline code that survives any text: backticks, pipes and line breaks neutralised. */
function code(s: string): string {
  const t = s.replace(/[\r\n]+/g, ' ');
  const fence = t.includes('`') ? '``' : '`';
  return `${fence} ${t} ${fence}`;
}

function lineList(lines: number[], count: number): string {
  const shown = lines.join(', ');
  return count > lines.length ? `${shown}, … (${formatCount(count - lines.length)} more in the side file)` : shown;
}

function stepSection(s: StepTally): string[] {
  const removed = removedTotal(s);
  const out = [`### ${s.title}`, '', `${formatCount(s.in)} in → ${formatCount(s.out)} out${removed ? `, ${formatCount(removed)} removed` : ''}${s.changed ? `, ${formatCount(s.changed)} rewritten` : ''}.`];
  if (s.note) out.push('', s.note);
  const counts = Object.entries(s.counts).sort((a, b) => b[1] - a[1]);
  if (counts.length > 0) out.push('', counts.map(([k, v]) => `${k}: ${formatCount(v)}`).join(' · '));
  for (const [reason, r] of Object.entries(s.removed)) {
    out.push('', `**${reason}**: ${formatCount(r.count)} record${r.count === 1 ? '' : 's'}, line${r.count === 1 ? '' : 's'} ${lineList(r.lines, r.count)}`, '');
    for (const sample of r.samples) out.push(`- line ${sample.line}${sample.detail ? ` (${sample.detail})` : ''}: ${code(sample.text)}`);
  }
  out.push('');
  return out;
}

export function cleanReportMarkdown(r: CleanResult): string {
  const name = path.basename(r.input);
  const rel = (f: string | undefined) => (f ? `\`${path.basename(f)}\`` : '');
  const adds = r.records === r.kept + r.removed;
  const lines = [
    `# Cleaning report: ${name}`,
    '',
    `The source file was read, not changed. Finished in ${formatDuration(r.seconds)}.`,
    '',
    '| | records |',
    '|---|---:|',
    `| in (non-blank lines) | ${formatCount(r.records)} |`,
    ...(r.outputs.clean ? [`| kept → ${rel(r.outputs.clean)} | ${formatCount(r.train)} |`] : [`| train → ${rel(r.outputs.train)} | ${formatCount(r.train)} |`, `| eval → ${rel(r.outputs.eval)} | ${formatCount(r.eval)} |`]),
    `| removed → ${rel(r.outputs.removed)} | ${formatCount(r.removed)} |`,
    '',
    adds
      ? `In = kept + removed: ${formatCount(r.records)} = ${formatCount(r.kept)} + ${formatCount(r.removed)}. Every removed record is in ${rel(r.outputs.removed)} with its line and reason.`
      : `**The counts do not add up**: ${formatCount(r.records)} in, ${formatCount(r.kept)} kept, ${formatCount(r.removed)} removed. Please report this.`,
  ];
  if (r.blankLines > 0) lines.push('', `${formatCount(r.blankLines)} blank line${r.blankLines === 1 ? ' was' : 's were'} skipped (not records).`);
  if (r.recipe.split) {
    const dedupe = r.recipe.steps.exactDedupe || r.recipe.steps.nearDedupe;
    lines.push('', dedupe
      ? 'Duplicates were removed from the whole file before the split, so no eval record repeats a training record.'
      : 'No deduplication step ran: an eval record may repeat a training record. Tick the duplicate steps to prevent that.');
    if (r.sources.length > 1) {
      lines.push('', 'Split by source (each keeps its share in eval):', '', '| source | train | eval |', '|---|---:|---:|');
      for (const s of r.sources) lines.push(`| ${s.source || '(none)'} | ${formatCount(s.train)} | ${formatCount(s.eval)} |`);
    }
  }
  lines.push('', '## Steps', '', `Each step sees the records the step before kept. Up to ${LINES_KEPT} line numbers and 3 samples are shown per reason.`, '');
  for (const s of r.steps) lines.push(...stepSection(s));
  lines.push('## Recipe', '', '```json', JSON.stringify(r.recipe, null, 2), '```', '');
  return lines.join('\n');
}
