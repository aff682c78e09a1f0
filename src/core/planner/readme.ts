// /readme: instructions for training this ARGS.json on another machine (LMTuner's "train
// elsewhere" flow): what the machine needs, the prepared-data bundle to copy, the exact
// tuner-train command line, and how to resume. No secret is ever needed or written.
import { resolveArgs, type Args } from '../args/fields';
import { argsToRunPlan, UnsupportedArgsError } from '../args/run-plan';
import { formatCommand } from '../engine/protocol';
import { formatBytes, type HardwareProfile } from '../hardware/types';
import type { LocalModel } from './context';
import { formatDuration, type PlanEstimate } from './estimator';
import * as l10n from '@vscode/l10n';

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
  out.push(l10n.t('# Training {0} on another machine', a.model_name ?? a.model), '');
  out.push(l10n.t('This folder\'s `{0}` describes the run: {1}{2} on `{3}` with `{4}`. These steps run it anywhere `tuner-train` builds; nothing here needs an API key or token.', r.argsFile, a.method, a.quantization !== 'none' ? ` (${a.quantization} base)` : '', a.model, a.data), '');

  out.push(l10n.t('## 1. What the machine needs'), '');
  if (device === 'cuda') {
    const gpus = Math.max(1, a.gpus);
    const bf16 = a.precision === 'bf16' ? l10n.t(', compute capability 8.0 or newer for bf16') : '';
    const need = formatBytes(e ? e.memoryBytes / 0.9 : undefined);
    out.push(gpus > 1 ? l10n.t('- {0} NVIDIA GPUs with at least **{1}** of memory each (peak {2}, kept under 90%){3}.', gpus, need, formatBytes(e?.memoryBytes), bf16) : l10n.t('- 1 NVIDIA GPU with at least **{0}** of memory each (peak {1}, kept under 90%){2}.', need, formatBytes(e?.memoryBytes), bf16));
  } else {
    out.push(l10n.t('- At least **{0}** of free RAM (peak {1}), an x86-64 CPU with AVX2 (AVX-512 is used when present) or ARM64; more cores train faster.', formatBytes(e ? e.memoryBytes / 0.9 : undefined), formatBytes(e?.memoryBytes)));
  }
  if (r.modelBytes !== undefined) out.push(l10n.t('- Disk: about {0} free (the model, the prepared data, checkpoints).', formatBytes(r.modelBytes * 2.2)));
  out.push(l10n.t('- Expected time there: {0}{1}. Estimated on: {2}.', formatDuration(e?.seconds), e?.optimizerSteps ? l10n.t(' for {0} optimizer steps', e.optimizerSteps) : '', r.hardware.gpus.length ? `${r.hardware.gpus.length} x ${r.hardware.gpus[0].name}` : `${r.hardware.cpuModel}, ${r.hardware.cores} cores`));
  out.push(l10n.t('- A C++17 compiler, CMake 3.20+ and Ninja to build `tuner-train` (no Python, no internet access during training).'), '');

  out.push(l10n.t('## 2. Build tuner-train there'), '', '```sh', 'cmake -S native -B build/native -G Ninja -DCMAKE_BUILD_TYPE=Release', 'ninja -C build/native tuner-train', '```', '');

  out.push(l10n.t('## 3. Prepare the data here and copy the bundle'), '');
  out.push(l10n.t('Run **Fine-tune: Start** once here (or the prepare step alone): it tokenizes `{0}` with the model\'s tokenizer and chat template into shards (token ids + loss mask), so the other machine needs no tokenizer. Then gather:', a.data), '');
  out.push('```text', `${BUNDLE_DIR}/`, l10n.t('  plan.json      the run plan below'), l10n.t('  data/          training shards (from the prepare step)'), ...(a.eval_split > 0 || a.eval_data ? [l10n.t('  eval/          evaluation shards')] : []), l10n.t('  model/         a copy of {0} (config.json, *.safetensors)', a.model), '```', '');
  out.push('```sh', `rsync -a ${BUNDLE_DIR}/ user@trainer:${BUNDLE_DIR}/`, '```', '');

  out.push('## 4. Run', '');
  let plan: string | undefined;
  try {
    const p = argsToRunPlan(a, { modelDir: 'model', trainDataDir: 'data', evalDataDir: a.eval_split > 0 || a.eval_data ? 'eval' : undefined, outputDir: 'output' });
    plan = JSON.stringify(p, null, 2);
  } catch (err) {
    if (!(err instanceof UnsupportedArgsError)) throw err;
    out.push(l10n.t('> The trainer cannot run this ARGS.json yet: {0} Change it in `{1}` (or ask @tuner) before copying the bundle.', err.message, r.argsFile), '');
  }
  if (plan) out.push(l10n.t('`{0}/plan.json` (paths relative to it):', BUNDLE_DIR), '', '```json', plan, '```', '');
  out.push('```sh', `cd ${BUNDLE_DIR}`, '../build/native/tuner-train --plan plan.json > events.jsonl', '```', '');
  out.push(l10n.t('Progress is one JSON event per line on stdout (`events.jsonl`); logs go to stderr. Control it with one JSON line on stdin, e.g. `{0}` (also resume, step, save, stop).', formatCommand('pause').trim()), '');

  out.push(l10n.t('## 5. Resume after an interruption'), '');
  out.push(l10n.t('Checkpoints are written to `output/checkpoints/step-N/`{0}. Continue from the newest one:', a.save_interval > 0 ? l10n.t(' every {0} steps', a.save_interval) : l10n.t(' at the end')), '');
  out.push('```sh', 'ls output/checkpoints/', '../build/native/tuner-train --plan plan.json --resume output/checkpoints/step-N >> events.jsonl', '```', '');
  out.push(l10n.t('## 6. Bring the result back'), '', l10n.t('Copy `{0}/output/` {1} and `events.jsonl` back into this workspace; the dashboard opens `events.jsonl` to chart the run.', BUNDLE_DIR, a.method === 'full' || a.method === 'lomo' ? l10n.t('(`model/`, the tuned weights)') : l10n.t('(`adapter/`, PEFT layout)')), '');
  return out.join('\n');
}
