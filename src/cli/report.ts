// What `tuner` prints while the pipeline runs: one line per stage with its time, the loss of
// every training step, a progress bar redrawn in place on a terminal, and the answers before
// and after side by side. Writes to one stream; colours and redraws only on a TTY.
import type { PipelineListener, PipelineResult, PipelineStage } from '../core/pipeline/pipeline';
import { PIPELINE_STAGES } from '../core/pipeline/pipeline';
import { formatBytes, formatDuration as formatSeconds, formatParams } from '../core/units';

export interface Output {
  write(text: string): void;
  isTTY?: boolean;
}

const BAR_WIDTH = 24;

export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(f * 100)).padStart(3)}%`;
}

export { formatSeconds };

/** A listener that prints the pipeline's progress to `out`. */
export function consoleReporter(out: Output): PipelineListener {
  const tty = out.isTTY === true;
  const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
  let barShown = false;
  let trainStart = 0;
  const clearBar = () => {
    if (barShown) out.write('\r\x1b[K');
    barShown = false;
  };
  const stageNo = (s: PipelineStage) => `[${PIPELINE_STAGES.indexOf(s) + 1}/${PIPELINE_STAGES.length}]`;
  return {
    onStageStart: (stage, detail) => {
      clearBar();
      out.write(`${bold(`${stageNo(stage)} ${stage}`)}  ${detail}\n`);
      if (stage === 'train') trainStart = performance.now();
    },
    onStageEnd: (stage, seconds, detail) => {
      clearBar();
      out.write(`      done in ${formatSeconds(seconds)}: ${detail}\n`);
    },
    onPrepareProgress: (p) => {
      if (!tty) return;
      out.write(`\r\x1b[K      ${progressBar(p.fraction)}  ${p.records} records, ${p.tokens} tokens`);
      barShown = true;
    },
    onTrainStart: (e) => {
      out.write(`      ${e.method}: ${formatParams(e.trainable_params)} of ${formatParams(e.params)} parameters trained, ${e.max_steps} steps of ${e.tokens_per_step} tokens, ${e.threads} threads\n`);
      // Padding waste of an epoch, as the trainer counts it (packing lowers it).
      if (e.padding !== undefined) out.write(`      padding: ${(e.padding * 100).toFixed(1)} % of the batch positions${e.packed ? ' (records packed)' : ''}\n`);
    },
    onTrainStep: (e, maxSteps) => {
      clearBar();
      const width = String(maxSteps).length;
      out.write(`      step ${String(e.step).padStart(width)}/${maxSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${Math.round(e.tokens_per_s)} tok/s\n`);
      if (tty && e.step < maxSteps) {
        const elapsed = (performance.now() - trainStart) / 1000;
        const eta = (elapsed / e.step) * (maxSteps - e.step);
        out.write(`      ${progressBar(e.step / maxSteps)}  ETA ${formatSeconds(eta)}`);
        barShown = true;
      }
    },
    onEval: (step, loss) => {
      clearBar();
      out.write(`      eval at step ${step}: loss ${loss.toFixed(4)}\n`);
    },
  };
}

/** The before / after table and the summary lines printed at the end. */
export function formatSummary(r: PipelineResult, quant: string, show: (p: string) => string): string {
  const lines: string[] = [];
  if (r.answers.length > 0) {
    lines.push('', `Before and after tuning (greedy, weights in ${quant}):`);
    for (const a of r.answers) {
      lines.push('', `  Q: ${a.prompt}`, `     before: ${a.base.answer || '(nothing)'}`, `     after:  ${a.tuned.answer || '(nothing)'}`);
    }
  }
  const total = r.stages.reduce((t, s) => t + s.seconds, 0);
  lines.push('', `Time: ${r.stages.map((s) => `${s.stage} ${formatSeconds(s.seconds)}`).join(', ')}; total ${formatSeconds(total)}`);
  lines.push(`Run folder:  ${show(r.runDir)}`);
  lines.push(`Tuned model: ${show(r.tunedDir)}${r.adapterDir ? ` (LoRA adapter: ${show(r.adapterDir)})` : ''}`);
  if (r.published?.dir) lines.push(`Copied to:   ${show(r.published.dir)} (ARGS.json output_dir)`);
  else if (r.published?.problem) lines.push(`Not copied to output_dir: ${r.published.problem}`);
  if (r.quantized) lines.push(`Quantized:   ${show(r.quantized.out)} (${formatBytes(r.quantized.bytes)}, ${r.quantized.quant})`);
  if (r.gguf) lines.push(`GGUF:        ${show(r.gguf.out)} (${formatBytes(r.gguf.bytes)}, ${r.gguf.type})`);
  return lines.join('\n') + '\n';
}
