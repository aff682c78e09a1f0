// /readme: instructions for training this ARGS.json on another machine (LMTuner's "train
// elsewhere" flow): what the machine needs, the prepared-data bundle to copy, the exact
// tuner-train command line, and how to resume. No secret is ever needed or written.
import { resolveArgs, type Args } from '../args/fields';
import { argsToRunPlan, UnsupportedArgsError } from '../args/run-plan';
import { formatCommand } from '../engine/protocol';
import { formatBytes, type HardwareProfile } from '../hardware/types';
import type { LocalModel } from './context';
import { formatDuration, type PlanEstimate } from './estimator';

export interface ReadmeInput {
  args: Args;
  /** The ARGS.json file name relative to the workspace, e.g. "ARGS.json". */
  argsFile: string;
  model?: LocalModel;
  /** The plan's estimate on the machine it targets. */
  estimate?: PlanEstimate;
  hardware: HardwareProfile;
  /** Bytes of the model's weight files, for the disk estimate. */
  modelBytes?: number;
}

export const BUNDLE_DIR = 'tuner-bundle';

export function renderTrainingReadme(r: ReadmeInput): string {
  const a = resolveArgs(r.args);
  const e = r.estimate;
  const device = e?.device ?? (a.device === 'cuda' ? 'cuda' : 'cpu');
  const out: string[] = [];
  out.push(`# Training ${a.model_name ?? a.model} on another machine`, '');
  out.push(`This folder's \`${r.argsFile}\` describes the run: ${a.method}${a.quantization !== 'none' ? ` (${a.quantization} base)` : ''} on \`${a.model}\` with \`${a.data}\`. These steps run it anywhere \`tuner-train\` builds; nothing here needs an API key or token.`, '');

  out.push('## 1. What the machine needs', '');
  if (device === 'cuda') {
    const gpus = Math.max(1, a.gpus);
    out.push(`- ${gpus} NVIDIA GPU${gpus > 1 ? 's' : ''} with at least **${formatBytes(e ? e.memoryBytes / 0.9 : undefined)}** of memory each (peak ${formatBytes(e?.memoryBytes)}, kept under 90%)${a.precision === 'bf16' ? ', compute capability 8.0 or newer for bf16' : ''}.`);
  } else {
    out.push(`- At least **${formatBytes(e ? e.memoryBytes / 0.9 : undefined)}** of free RAM (peak ${formatBytes(e?.memoryBytes)}), an x86-64 CPU with AVX2 (AVX-512 is used when present) or ARM64; more cores train faster.`);
  }
  if (r.modelBytes !== undefined) out.push(`- Disk: about ${formatBytes(r.modelBytes * 2.2)} free (the model, the prepared data, checkpoints).`);
  out.push(`- Expected time there: ${formatDuration(e?.seconds)}${e?.optimizerSteps ? ` for ${e.optimizerSteps} optimizer steps` : ''}. Estimated on: ${r.hardware.gpus.length ? `${r.hardware.gpus.length} x ${r.hardware.gpus[0].name}` : `${r.hardware.cpuModel}, ${r.hardware.cores} cores`}.`);
  out.push('- A C++17 compiler, CMake 3.20+ and Ninja to build `tuner-train` (no Python, no internet access during training).', '');

  out.push('## 2. Build tuner-train there', '', '```sh', 'cmake -S native -B build/native -G Ninja -DCMAKE_BUILD_TYPE=Release', 'ninja -C build/native tuner-train', '```', '');

  out.push('## 3. Prepare the data here and copy the bundle', '');
  out.push(`Run **Fine-tune: Start** once here (or the prepare step alone): it tokenizes \`${a.data}\` with the model's tokenizer and chat template into shards (token ids + loss mask), so the other machine needs no tokenizer. Then gather:`, '');
  out.push('```text', `${BUNDLE_DIR}/`, '  plan.json      the run plan below', '  data/          training shards (from the prepare step)', ...(a.eval_split > 0 || a.eval_data ? ['  eval/          evaluation shards'] : []), `  model/         a copy of ${a.model} (config.json, *.safetensors)`, '```', '');
  out.push('```sh', `rsync -a ${BUNDLE_DIR}/ user@trainer:${BUNDLE_DIR}/`, '```', '');

  out.push('## 4. Run', '');
  let plan: string | undefined;
  try {
    const p = argsToRunPlan(a, { modelDir: 'model', trainDataDir: 'data', evalDataDir: a.eval_split > 0 || a.eval_data ? 'eval' : undefined, outputDir: 'output' });
    plan = JSON.stringify(p, null, 2);
  } catch (err) {
    if (!(err instanceof UnsupportedArgsError)) throw err;
    out.push(`> The trainer cannot run this ARGS.json yet: ${err.message} Change it in \`${r.argsFile}\` (or ask @tuner) before copying the bundle.`, '');
  }
  if (plan) out.push(`\`${BUNDLE_DIR}/plan.json\` (paths relative to it):`, '', '```json', plan, '```', '');
  out.push('```sh', `cd ${BUNDLE_DIR}`, '../build/native/tuner-train --plan plan.json > events.jsonl', '```', '');
  out.push('Progress is one JSON event per line on stdout (`events.jsonl`); logs go to stderr. Control it with one JSON line on stdin, e.g. `' + formatCommand('pause').trim() + '` (also resume, step, save, stop).', '');

  out.push('## 5. Resume after an interruption', '');
  out.push(`Checkpoints are written to \`output/checkpoints/step-N/\`${a.save_interval > 0 ? ` every ${a.save_interval} steps` : ' at the end'}. Continue from the newest one:`, '');
  out.push('```sh', 'ls output/checkpoints/', '../build/native/tuner-train --plan plan.json --resume output/checkpoints/step-N >> events.jsonl', '```', '');
  out.push('## 6. Bring the result back', '', `Copy \`${BUNDLE_DIR}/output/\` ${a.method === 'full' || a.method === 'lomo' ? '(`model/`, the tuned weights)' : '(`adapter/`, PEFT layout)'} and \`events.jsonl\` back into this workspace; the dashboard opens \`events.jsonl\` to chart the run.`, '');
  return out.join('\n');
}
