// README.md of a hand-off folder: what is in it, the pinned installs, and the exact launch
// commands for one node with N GPUs and for M nodes (torchrun, accelerate, Axolotl,
// LLaMA-Factory), with the ZeRO stage and the per-GPU memory figures it was chosen from.
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
  out.push(`# ${s.method} of ${f.copyModel ? 'the model in `model/`' : `\`${s.model}\``} on a cluster`, '');
  out.push(`Written by Tuner from \`${f.argsFile}\`: the same training run by engines clusters already run. Nothing here needs an API key.`, '');
  out.push('| File | What it is |', '| --- | --- |');
  out.push('| `train.py`, `train_config.json`, `requirements.txt` | torchrun + transformers + PEFT (pinned versions) |');
  out.push('| `axolotl.yaml` | the same run for Axolotl |');
  out.push('| `llamafactory.yaml`, `data/dataset_info.json` | the same run for LLaMA-Factory |');
  if (f.zero.stage > 0) out.push(`| \`ds_config.json\` | DeepSpeed ZeRO stage ${f.zero.stage} |`);
  out.push(`| \`${s.train_file}\`${s.eval_file ? `, \`${s.eval_file}\`` : ''} | the data as chat messages: ${formatCount(f.trainRecords)} training${s.eval_file ? ` and ${formatCount(f.evalRecords)} evaluation` : ''} records |`);
  if (s.chat_template_file) out.push(`| \`${s.chat_template_file}\` | the chat template Tuner applied (${f.templateSource === 'default' ? 'its plain default' : 'the ARGS.json override'}) |`);
  out.push('');
  if (f.skipped.length) {
    out.push(`**${formatCount(f.skipped.length)} record${f.skipped.length > 1 ? 's were' : ' was'} left out** (Tuner would not train on ${f.skipped.length > 1 ? 'them' : 'it'} either):`, '');
    for (const k of f.skipped.slice(0, 20)) out.push(`- ${k.file}:${k.line}: ${k.reason}`);
    if (f.skipped.length > 20) out.push(`- … and ${formatCount(f.skipped.length - 20)} more`);
    out.push('');
  }

  out.push('## Memory and the ZeRO stage', '');
  out.push(`Planned for ${m > 1 ? `${m} nodes × ` : ''}${n} GPU${n > 1 ? 's' : ''} with ${formatBytes(f.target.gpuMemoryBytes)} each (kept under ${formatBytes(f.zero.budgetBytes)}). Per-GPU peak from Tuner's estimator:`, '');
  out.push('| Sharding | Per GPU |', '| --- | --- |');
  const names = ['none (plain data parallel)', 'ZeRO-1: optimizer state', 'ZeRO-2: + gradients', 'ZeRO-3: + weights'];
  for (const st of [0, 1, 2, 3] as const) out.push(`| ${names[st]}${st === f.zero.stage ? ' **← chosen**' : ''} | ${formatBytes(f.zero.perGpuBytes[st])} |`);
  out.push('');
  if (!f.zero.fits) out.push(`> Even ZeRO-3 needs more than one GPU holds: use more GPUs, larger ones, or add \`"offload_optimizer": {"device": "cpu"}\` to \`ds_config.json\`'s zero_optimization.`, '');
  out.push(`Each GPU runs ${s.per_device_train_batch_size} sequence${s.per_device_train_batch_size > 1 ? 's' : ''} per micro-batch with ${s.gradient_accumulation_steps} accumulation step${s.gradient_accumulation_steps > 1 ? 's' : ''}, so one optimizer step sees ${formatCount(s.per_device_train_batch_size * s.gradient_accumulation_steps * n * m)} sequences (Tuner's run saw ${formatCount(s.per_device_train_batch_size * s.gradient_accumulation_steps)}); divide gradient_accumulation_steps by ${n * m} to keep Tuner's global batch.`, '');

  out.push('## 1. Copy and install', '');
  out.push('```sh');
  out.push('rsync -a ./ user@cluster:tuner-handoff/');
  if (f.copyModel) out.push(`rsync -a ${f.modelDir}/ user@cluster:tuner-handoff/model/`);
  out.push('cd tuner-handoff');
  out.push('python3 -m venv .venv && . .venv/bin/activate');
  out.push('pip install -r requirements.txt');
  out.push('python3 train.py --dry-run   # settings and record counts, no GPU needed');
  out.push('```', '');
  if (!f.copyModel) out.push(`The model is \`${s.model}\` from the Hugging Face Hub (downloaded on first use, or set HF_HOME to a shared cache).`, '');

  const torchrunMulti = `torchrun --nnodes ${m} --nproc_per_node ${n} --node_rank $NODE_RANK --master_addr $MASTER_ADDR --master_port 29500`;
  out.push(`## 2. One node, ${n} GPU${n > 1 ? 's' : ''}`, '');
  out.push('```sh');
  out.push(`torchrun --nproc_per_node ${n} train.py${ds}`);
  out.push(`# or: accelerate launch --num_processes ${n} train.py${ds}`);
  out.push('```', '');
  out.push('## 3. Many nodes', '');
  out.push(`On every node (NODE_RANK 0 … ${Math.max(1, m) - 1}; MASTER_ADDR is node 0's address, reachable from the others on port 29500):`, '');
  out.push('```sh');
  out.push(`${torchrunMulti} train.py${ds}`);
  out.push(`# or: accelerate launch --num_machines ${m} --num_processes ${n * m} --machine_rank $NODE_RANK --main_process_ip $MASTER_ADDR --main_process_port 29500 train.py${ds}`);
  out.push('```', '');
  out.push('Under Slurm, NODE_RANK is `$SLURM_NODEID` and MASTER_ADDR the first host of `scontrol show hostnames $SLURM_JOB_NODELIST`.', '');

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
  if (s.chat_template_file) out.push(`LLaMA-Factory reads the chat template from the tokenizer: put \`${s.chat_template_file}\` in the model folder as \`chat_template.jinja\` (transformers loads it from there) before training with it.`, '');
  if (f.notes.length) {
    out.push('## Where the engines differ from Tuner', '');
    for (const note of f.notes) out.push(`- ${note}`);
    out.push('');
  }
  out.push('## Bring the result back', '');
  out.push(`Copy \`output/${s.lora ? 'adapter' : 'model'}/\` (train.py), \`output/axolotl/\` or \`output/llamafactory/\` back, then run **Tuner: Import Trained Adapter or Model…** and pick that folder: it is checked against \`${f.argsFile}\`'s model and listed in the runs view and the playground.`, '');
  out.push('Checked by Tuner: every key of `axolotl.yaml`, `llamafactory.yaml`, `data/dataset_info.json` and `ds_config.json` is one the tool documents, with the documented type (Axolotl 0.18.0 and LLaMA-Factory 0.9.6.dev0 at the commits above; neither installs where Tuner runs, so their own loaders did not read these files); `train.py` compiles and its `--dry-run` reads `train_config.json` and the data.', '');
  return out.join('\n');
}
