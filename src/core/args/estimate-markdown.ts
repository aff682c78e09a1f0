// The pre-flight estimate as the ARGS.json hover shows it (Markdown): memory term by term, the
// parameter counts in the unit that fits ("18.1 K", "6.74 B"), how long the whole run takes
// (max_steps, or every epoch), and the changes that would lower the peak. The speed note says
// where the FLOP/s come from: a finished run of this model shape ("from run <id>: N tok/s"), the
// engine's sgemm timed on this machine ("measured on this machine: N GFLOP/s"), or a guess that
// says so.
import { formatBytes, formatDuration, formatParams, significant } from '../units';
import { decidingPeak, type MemoryPart } from './estimate';
import type { Preflight } from './preflight';
import * as l10n from '@vscode/l10n';

/** A memory term's name in the display language (the names themselves are identifiers). */
export function memoryPartLabel(name: MemoryPart['name']): string {
  switch (name) {
    case 'weights': return l10n.t('weights');
    case 'weight file (while loading)': return l10n.t('weight file (while loading)');
    case 'adapters': return l10n.t('adapters');
    case 'gradients': return l10n.t('gradients');
    case 'optimizer states': return l10n.t('optimizer states');
    case 'activations': return l10n.t('activations');
    case 'logits': return l10n.t('logits');
    case 'workspace': return l10n.t('workspace');
    case 'data': return l10n.t('data');
    case 'runtime': return l10n.t('runtime');
  }
}

export function estimateMarkdown(pf: Preflight): string {
  const out: string[] = [];
  const gpu = pf.memory.gpu;
  out.push(gpu ? l10n.t('**Pre-flight estimate** — GPU memory peak ~{0}, memory (host) peak ~{1}', formatBytes(gpu.total), formatBytes(pf.memory.total))
    : l10n.t('**Pre-flight estimate** — peak ~{0}', formatBytes(pf.memory.total)), '');
  out.push(l10n.t('{0}: {1} parameters, {2} trained', pf.spec.architecture, formatParams(pf.memory.params), formatParams(pf.memory.trainableParams)), '');
  if (gpu) {
    // Each term where it lives: the GPU holds what trains, the host the loaded model and the data.
    const host = new Map(pf.memory.parts.map((p) => [p.name, p.bytes]));
    const names = [...new Set([...gpu.parts, ...pf.memory.parts].map((p) => p.name))];
    out.push(l10n.t('| term | GPU memory | memory (host) |'), '|---|---:|---:|');
    for (const name of names) {
      const g = gpu.parts.find((p) => p.name === name)?.bytes ?? 0, h = host.get(name) ?? 0;
      if (g > 0 || h > 0) out.push(`| ${memoryPartLabel(name)} | ${g > 0 ? formatBytes(g) : ''} | ${h > 0 ? formatBytes(h) : ''} |`);
    }
    out.push(l10n.t('| *loading peak* | | {0} |', formatBytes(pf.memory.loadPeak)), '');
  } else {
    out.push(l10n.t('| term | memory |'), '|---|---:|');
    for (const p of pf.memory.parts) if (p.bytes > 0) out.push(`| ${memoryPartLabel(p.name)} | ${formatBytes(p.bytes)} |`);
    out.push(l10n.t('| *loading peak* | {0} |', formatBytes(pf.memory.loadPeak)), '');
  }
  if (pf.time && pf.run) {
    const t = pf.time;
    const speed = /FLOP\/s/.test(t.throughput.source) ? t.throughput.source : `${t.throughput.source}, ${significant(t.throughput.flopsPerSecond / 1e9, 3)} GFLOP/s`;
    out.push(
      l10n.t('Time ~{0} for {1} steps ({2}; {3} steps an epoch), {4} GFLOP per token; speed {5}.', formatDuration(pf.run.seconds), pf.run.steps.toLocaleString('en-US'), pf.run.basis, t.stepsPerEpoch.toLocaleString('en-US'), significant(t.flopsPerToken / 1e9, 3), speed),
      '',
    );
  }
  // Only changes that lower the peak by a margin worth an edit (a tiny model's 4-bit base saves ~1%).
  const peak = decidingPeak(pf.memory);
  for (const s of pf.suggestions.filter((x) => decidingPeak(x.estimate) <= peak * 0.95).slice(0, 5)) {
    out.push(gpu ? l10n.t('- with {0}: ~{1} of GPU memory', s.label, formatBytes(decidingPeak(s.estimate))) : l10n.t('- with {0}: ~{1}', s.label, formatBytes(s.estimate.total)));
  }
  return out.join('\n') + '\n';
}
