// Markdown for the chat: the plan as a table with a one-line reason per choice, the hardware
// probe, and the explanation of an existing ARGS.json. Pure text, so tests read exactly what the
// user reads.
import { fieldDef, isArgsFieldName, type Args, type ArgsFieldName } from '../args/fields';
import { formatBytes, type HardwareProfile } from '../hardware/types';
import { estimateLine } from './reasons';
import type { PlanTurn } from './session';
import * as l10n from '@vscode/l10n';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const show = (v: unknown) => (Array.isArray(v) ? v.join(', ') : typeof v === 'string' ? v : JSON.stringify(v));

export function planTable(args: Args, reasons: Partial<Record<ArgsFieldName, string>>): string {
  const rows = [l10n.t('| Setting | Value | Why |'), '| --- | --- | --- |'];
  for (const [k, v] of Object.entries(args)) rows.push(`| \`${k}\` | ${cell(show(v))} | ${cell(reasons[k as ArgsFieldName] ?? '')} |`);
  return rows.join('\n');
}

export function renderPlan(t: PlanTurn): string {
  const out: string[] = [];
  if (t.text) out.push(t.text, '');
  if (t.kind === 'question') {
    out.push(...t.questions.map((q) => `- ${q}`));
  } else if (t.args) {
    if (t.kind === 'rejected') out.push(l10n.t('**This plan does not pass its checks, so ARGS.json was not written:**'), '');
    out.push(planTable(t.args, t.reasons), '', estimateLine(t.estimate));
  }
  if (t.notes.length) out.push('', ...t.notes.map((n) => `> ${n}`));
  if (t.kind !== 'question' && t.args && t.explanation?.length) out.push('', ...t.explanation.map((e) => `- ${e}`));
  out.push('', l10n.t('_Planned by {0}._', t.source));
  return out.join('\n');
}

export function renderHardware(h: HardwareProfile): string {
  const out = [l10n.t('| Part | Details |'), '| --- | --- |'];
  out.push(l10n.t('| CPU | {0}: {1} cores, {2} threads{3} |', cell(h.cpuModel), h.cores, h.threads, h.cpuFeatures.length ? ` (${h.cpuFeatures.join(', ')})` : ''));
  out.push(l10n.t('| RAM | {0} total, {1} available |', formatBytes(h.ramTotalBytes), formatBytes(h.ramAvailableBytes)));
  if (h.gpus.length === 0) out.push(l10n.t('| GPU | none found: training runs on the CPU |'));
  for (const g of h.gpus) {
    const extra = [g.computeCapability && `compute ${g.computeCapability}`, g.smCount && `${g.smCount} SMs`, g.bf16PeakTflops && l10n.t('bf16 peak {0} TFLOP/s', Math.round(g.bf16PeakTflops)), g.driverVersion && `driver ${g.driverVersion}`].filter(Boolean).join(', ');
    out.push(`| GPU ${g.index} | ${cell(g.name)}: ${formatBytes(g.memoryTotalBytes)}${g.memoryFreeBytes !== undefined ? ` (${formatBytes(g.memoryFreeBytes)} free)` : ''}${extra ? `, ${extra}` : ''} |`);
  }
  if (h.cuda) out.push(h.cuda.builtWithCuda
    ? l10n.t('| CUDA engine | runtime {0}, driver {1}, {2} device(s){3}; {4} |', h.cuda.runtimeVersion, h.cuda.driverVersion, h.cuda.devices, h.cuda.reason ? `: ${cell(h.cuda.reason)}` : '',
      h.cuda.devices > 0 ? l10n.t('trains and generates on the GPU where the run allows it (compute capability 8.0 or newer), else on the CPU') : l10n.t('training runs on the CPU'))
    : l10n.t('| CUDA engine | built without CUDA: training runs on the CPU |'));
  if (h.diskFreeBytes !== undefined) out.push(l10n.t('| Disk | {0} free at {1} |', formatBytes(h.diskFreeBytes), cell(h.diskPath ?? '')));
  const source = { nvml: l10n.t('GPUs from NVML'), 'nvidia-smi': l10n.t('GPUs from nvidia-smi'), 'cuda-runtime': l10n.t('GPUs from the engine\'s CUDA runtime'), described: l10n.t('GPUs as described'), none: l10n.t('no GPU probe answered') }[h.gpuSource];
  return [...out, '', `_${source}._`, ...h.notes.map((n) => `> ${n}`)].join('\n');
}

/** /explain: every key of ARGS.json with what it means and why this value. */
export function renderExplanation(args: Record<string, unknown>, reasons: Partial<Record<ArgsFieldName, string>>): string {
  const rows = [l10n.t('| Setting | Value | Meaning | Why this value |'), '| --- | --- | --- | --- |'];
  for (const [k, v] of Object.entries(args)) {
    const meaning = isArgsFieldName(k) ? fieldDef(k).description : l10n.t('not a Tuner setting (run /fix)');
    rows.push(`| \`${k}\` | ${cell(show(v))} | ${cell(meaning)} | ${cell(reasons[k as ArgsFieldName] ?? '')} |`);
  }
  return rows.join('\n');
}
