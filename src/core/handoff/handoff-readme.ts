// README.md of a hand-off folder: what is in it, the pinned installs, and the exact launch
// commands for one node with N GPUs and for M nodes (torchrun, accelerate, Axolotl,
// LLaMA-Factory), with the ZeRO stage and the per-GPU memory figures it was chosen from.
import * as l10n from '@vscode/l10n';
import { formatBytes, formatCount } from '../units';
import type { HandoffSettings } from './settings';
import type { ZeroChoice, ClusterTarget } from './zero';

/** Versions train.py was written against (transformers 4.46 keeps every TrainingArguments name it uses). */
export const PINNED_REQUIREMENTS = ['torch==2.5.1', 'transformers==4.46.3', 'peft==0.13.2', 'datasets==3.1.0', 'accelerate==1.1.1', 'deepspeed==0.15.4'];
export const BITSANDBYTES_PIN = 'bitsandbytes==0.44.1';
/** The tool versions whose documented keys tool-keys.ts holds. */
export const AXOLOTL_SOURCE = 'git+https://github.com/axolotl-ai-cloud/axolotl@067b021c8b87a9e5e380b9173c704cf7340e30f5';
export const LLAMA_FACTORY_SOURCE = 'git+https://github.com/hiyouga/LLaMA-Factory@ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30';

export function requirementsText(s: HandoffSettings): string {
  const needsBnb = s.quantization !== null || s.optimizer === 'lion_32bit';
  return [...PINNED_REQUIREMENTS, ...(needsBnb ? [BITSANDBYTES_PIN] : [])].join('\n') + '\n';
}

export interface ReadmeFacts {
  argsFile: string;
  modelDir: string;
  /** The model is a local folder the user copies into model/. */
  copyModel: boolean;
  target: ClusterTarget;
  zero: ZeroChoice;
  trainRecords: number;
  evalRecords: number;
  skipped: { file: string; line: number; reason: string }[];
  templateSource: 'override' | 'model' | 'default';
  /** Settings an engine could not take as they are, in words. */
  notes: string[];
}

export function handoffReadme(s: HandoffSettings, f: ReadmeFacts): string {
  const n = Math.max(1, f.target.gpusPerNode), m = Math.max(1, f.target.nodes);
  const ds = f.zero.stage > 0 ? ' --deepspeed ds_config.json' : '';
  const out: string[] = [];
  out.push(`# ${f.copyModel ? l10n.t('{0} of the model in `model/` on a cluster', s.method) : l10n.t('{0} of `{1}` on a cluster', s.method, s.model)}`, '');
  out.push(l10n.t('Written by Tuner from `{0}`: the same training run by engines clusters already run. Nothing here needs an API key.', f.argsFile), '');
  out.push(`| ${l10n.t('File')} | ${l10n.t('What it is')} |`, '| --- | --- |');
  out.push(`| \`train.py\`, \`train_config.json\`, \`requirements.txt\` | ${l10n.t('torchrun + transformers + PEFT (pinned versions)')} |`);
  out.push(`| \`axolotl.yaml\` | ${l10n.t('the same run for Axolotl')} |`);
  out.push(`| \`llamafactory.yaml\`, \`data/dataset_info.json\` | ${l10n.t('the same run for LLaMA-Factory')} |`);
  if (f.zero.stage > 0) out.push(l10n.t('| `ds_config.json` | DeepSpeed ZeRO stage {0} |', f.zero.stage));
  out.push(`| \`${s.train_file}\`${s.eval_file ? `, \`${s.eval_file}\`` : ''} | ${s.eval_file ? l10n.t('the data as chat messages: {0} training and {1} evaluation records', formatCount(f.trainRecords), formatCount(f.evalRecords)) : l10n.t('the data as chat messages: {0} training records', formatCount(f.trainRecords))} |`);
  if (s.chat_template_file) out.push(`| \`${s.chat_template_file}\` | ${f.templateSource === 'default' ? l10n.t('the chat template Tuner applied (its plain default)') : l10n.t('the chat template Tuner applied (the ARGS.json override)')} |`);
  out.push('');
  if (f.skipped.length) {
    out.push(l10n.t('**Records left out: {0}** (Tuner would not train on them either):', formatCount(f.skipped.length)), '');
    for (const k of f.skipped.slice(0, 20)) out.push(`- ${k.file}:${k.line}: ${k.reason}`);
    if (f.skipped.length > 20) out.push(l10n.t('- … and {0} more', formatCount(f.skipped.length - 20)));
    out.push('');
  }

  out.push(`## ${l10n.t('Memory and the ZeRO stage')}`, '');
  out.push(l10n.t('Planned for {0} node(s) × {1} GPU(s) with {2} each (kept under {3}). Per-GPU peak from Tuner\'s estimator:', m, n, formatBytes(f.target.gpuMemoryBytes), formatBytes(f.zero.budgetBytes)), '');
  out.push(`| ${l10n.t('Sharding')} | ${l10n.t('Per GPU')} |`, '| --- | --- |');
  const names = [l10n.t('none (plain data parallel)'), l10n.t('ZeRO-1: optimizer state'), l10n.t('ZeRO-2: + gradients'), l10n.t('ZeRO-3: + weights')];
  for (const st of [0, 1, 2, 3] as const) out.push(`| ${names[st]}${st === f.zero.stage ? ` **${l10n.t('← chosen')}**` : ''} | ${formatBytes(f.zero.perGpuBytes[st])} |`);
  out.push('');
  if (!f.zero.fits) out.push(l10n.t('> Even ZeRO-3 needs more than one GPU holds: use more GPUs, larger ones, or add `"offload_optimizer": {"device": "cpu"}` to `ds_config.json`\'s zero_optimization.'), '');
  out.push(l10n.t('Each GPU runs {0} sequence(s) per micro-batch with {1} accumulation step(s), so one optimizer step sees {2} sequences (Tuner\'s run saw {3}); divide gradient_accumulation_steps by {4} to keep Tuner\'s global batch.', s.per_device_train_batch_size, s.gradient_accumulation_steps, formatCount(s.per_device_train_batch_size * s.gradient_accumulation_steps * n * m), formatCount(s.per_device_train_batch_size * s.gradient_accumulation_steps), n * m), '');

  out.push(`## 1. ${l10n.t('Copy and install')}`, '');
  out.push('```sh');
  out.push('rsync -a ./ user@cluster:tuner-handoff/');
  if (f.copyModel) out.push(`rsync -a ${f.modelDir}/ user@cluster:tuner-handoff/model/`);
  out.push('cd tuner-handoff');
  out.push('python3 -m venv .venv && . .venv/bin/activate');
  out.push('pip install -r requirements.txt');
  out.push('python3 train.py --dry-run   # settings and record counts, no GPU needed');
  out.push('```', '');
  if (!f.copyModel) out.push(l10n.t('The model is `{0}` from the Hugging Face Hub (downloaded on first use, or set HF_HOME to a shared cache).', s.model), '');

  const torchrunMulti = `torchrun --nnodes ${m} --nproc_per_node ${n} --node_rank $NODE_RANK --master_addr $MASTER_ADDR --master_port 29500`;
  out.push(`## 2. ${l10n.t('One node, {0} GPU(s)', n)}`, '');
  out.push('```sh');
  out.push(`torchrun --nproc_per_node ${n} train.py${ds}`);
  out.push(`# or: accelerate launch --num_processes ${n} train.py${ds}`);
  out.push('```', '');
  out.push(`## 3. ${l10n.t('Many nodes')}`, '');
  out.push(l10n.t('On every node (NODE_RANK 0 … {0}; MASTER_ADDR is node 0\'s address, reachable from the others on port 29500):', Math.max(1, m) - 1), '');
  out.push('```sh');
  out.push(`${torchrunMulti} train.py${ds}`);
  out.push(`# or: accelerate launch --num_machines ${m} --num_processes ${n * m} --machine_rank $NODE_RANK --main_process_ip $MASTER_ADDR --main_process_port 29500 train.py${ds}`);
  out.push('```', '');
  out.push(l10n.t('Under Slurm, NODE_RANK is `$SLURM_NODEID` and MASTER_ADDR the first host of `scontrol show hostnames $SLURM_JOB_NODELIST`.'), '');

  out.push('## Axolotl', '');
  out.push('```sh');
  out.push(`pip install "axolotl[deepspeed] @ ${AXOLOTL_SOURCE}"`);
  out.push(`accelerate launch --num_processes ${n} -m axolotl.cli.train axolotl.yaml`);
  out.push(`accelerate launch --num_machines ${m} --num_processes ${n * m} --machine_rank $NODE_RANK --main_process_ip $MASTER_ADDR --main_process_port 29500 -m axolotl.cli.train axolotl.yaml`);
  out.push('```', '');
  out.push('## LLaMA-Factory', '');
  out.push('```sh');
  out.push(`pip install "llamafactory[deepspeed,bitsandbytes] @ ${LLAMA_FACTORY_SOURCE}"`);
  out.push('FORCE_TORCHRUN=1 llamafactory-cli train llamafactory.yaml');
  out.push(`FORCE_TORCHRUN=1 NNODES=${m} NODE_RANK=$NODE_RANK MASTER_ADDR=$MASTER_ADDR MASTER_PORT=29500 llamafactory-cli train llamafactory.yaml`);
  out.push('```', '');
  if (s.chat_template_file) out.push(l10n.t('LLaMA-Factory reads the chat template from the tokenizer: put `{0}` in the model folder as `chat_template.jinja` (transformers loads it from there) before training with it.', s.chat_template_file), '');
  if (f.notes.length) {
    out.push(`## ${l10n.t('Where the engines differ from Tuner')}`, '');
    for (const note of f.notes) out.push(`- ${note}`);
    out.push('');
  }
  out.push(`## ${l10n.t('Bring the result back')}`, '');
  out.push(l10n.t('Copy `output/{0}/` (train.py), `output/axolotl/` or `output/llamafactory/` back, then run **Tuner: Import Trained Adapter or Model…** and pick that folder: it is checked against `{1}`\'s model and listed in the runs view and the playground.', s.lora ? 'adapter' : 'model', f.argsFile), '');
  out.push(l10n.t('Checked by Tuner: every key of `axolotl.yaml`, `llamafactory.yaml`, `data/dataset_info.json` and `ds_config.json` is one the tool documents, with the documented type (Axolotl 0.18.0 and LLaMA-Factory 0.9.6.dev0 at the commits above; neither installs where Tuner runs, so their own loaders did not read these files); `train.py` compiles and its `--dry-run` reads `train_config.json` and the data.'), '');
  return out.join('\n');
}
