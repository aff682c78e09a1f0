// The pre-flight estimate as the ARGS.json hover shows it (Markdown): memory term by term, the
// parameter counts in the unit that fits ("18.1 K", "6.74 B"), how long the whole run takes
// (max_steps, or every epoch), and the changes that would lower the peak. The speed note says
// where the FLOP/s come from: a finished run of this model shape ("from run <id>: N tok/s"), the
// engine's sgemm timed on this machine ("measured on this machine: N GFLOP/s"), or a guess that
// says so.
import { formatBytes, formatDuration, formatParams, significant } from '../units';
import type { Preflight } from './preflight';

export function estimateMarkdown(pf: Preflight): string {
  const out: string[] = [];
  out.push(`**Pre-flight estimate** — peak ~${formatBytes(pf.memory.total)}`, '');
  out.push(`${pf.spec.architecture}: ${formatParams(pf.memory.params)} parameters, ${formatParams(pf.memory.trainableParams)} trained`, '');
  out.push('| term | memory |', '|---|---:|');
  for (const p of pf.memory.parts) if (p.bytes > 0) out.push(`| ${p.name} | ${formatBytes(p.bytes)} |`);
  out.push(`| *loading peak* | ${formatBytes(pf.memory.loadPeak)} |`, '');
  if (pf.time && pf.run) {
    const t = pf.time;
    const speed = t.throughput.source.includes('GFLOP/s') ? t.throughput.source : `${t.throughput.source}, ${significant(t.throughput.flopsPerSecond / 1e9, 3)} GFLOP/s`;
    out.push(
      `Time ~${formatDuration(pf.run.seconds)} for ${pf.run.steps.toLocaleString('en-US')} steps (${pf.run.basis}; ${t.stepsPerEpoch.toLocaleString('en-US')} steps an epoch), ` +
        `${significant(t.flopsPerToken / 1e9, 3)} GFLOP per token; speed ${speed}.`,
      '',
    );
  }
  for (const s of pf.suggestions.slice(0, 4)) out.push(`- with ${s.label}: ~${formatBytes(s.estimate.total)}`);
  return out.join('\n') + '\n';
}
