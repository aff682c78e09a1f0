// Writes a hand-off folder from ARGS.json: the data converted to chat messages, train.py with its
// settings, the Axolotl and LLaMA-Factory configs, the DeepSpeed config for the ZeRO stage the
// estimator calls for, and a README with the commands. Every config is checked against the keys
// its tool documents (tool-keys.ts) before anything is written; a folder is only replaced when it
// is a hand-off Tuner wrote (its handoff.json), never a user's own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';
import { resolveArgs, type ResolvedArgs } from '../args/fields';
import { validateArgsText } from '../args/validate';
import { recordToConversation } from '../dataset/conversation';
import { chooseTemplate } from '../dataset/prepare-setup';
import { resolveModelDir } from '../model/discover';
import { readModelSpec, type ModelSpec } from '../model/spec';
import { loadTokenizer } from '../model/tokenizer';
import { handoffReadme, requirementsText } from './handoff-readme';
import { HandoffError, handoffSettings, type HandoffSettings } from './settings';
import { axolotlConfig, integerAlpha, llamaFactoryConfig, llamaFactoryDatasetInfo } from './tool-configs';
import {
  AXOLOTL_DATASET_KEYS, AXOLOTL_KEYS, DEEPSPEED_KEYS, DEEPSPEED_ZERO_KEYS, LLAMA_FACTORY_COLUMN_KEYS, LLAMA_FACTORY_DATASET_KEYS,
  LLAMA_FACTORY_KEYS, LLAMA_FACTORY_TAG_KEYS, undocumentedKeys,
} from './tool-keys';
import { TRAIN_SCRIPT } from './train-script';
import { writeFileAtomic } from '../atomic-file';
import { toYaml } from './yaml';
import { chooseZeroStage, deepspeedConfig, type ClusterTarget, type ZeroChoice } from './zero';

export { HandoffError } from './settings';

/** Marks a folder as a hand-off Tuner wrote (and says what from). */
export const HANDOFF_MARKER = 'handoff.json';
export const HANDOFF_DIR = 'cluster-handoff';

export interface Skipped {
  file: string;
  line: number;
  reason: string;
}

export interface HandoffResult {
  dir: string;
  files: string[];
  zero: ZeroChoice;
  settings: HandoffSettings;
  trainRecords: number;
  evalRecords: number;
  skipped: Skipped[];
  notes: string[];
}

export interface HandoffFiles {
  [relativePath: string]: string;
}

/** JSON lines of {"messages": [...]}, each record as preparation reads it (format, model_name). */
export function convertData(file: string, a: ResolvedArgs): { text: string; records: number; skipped: Skipped[] } {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  const skipped: Skipped[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const r = recordToConversation(line, { format: a.format, modelName: a.model_name });
    if (!r.ok) skipped.push({ file, line: i + 1, reason: r.reason });
    else if (r.conversation.pretraining) skipped.push({ file, line: i + 1, reason: l10n.t('is plain text (pretraining); the hand-off trains on chat records') });
    else out.push(JSON.stringify({ messages: r.conversation.turns.map((t) => ({ role: t.role, content: t.content })) }));
  });
  return { text: out.length ? out.join('\n') + '\n' : '', records: out.length, skipped };
}

/** Every generated config key that its tool does not document (empty when all are). */
export function checkHandoffConfigs(parsed: { axolotl: Record<string, unknown>; llamaFactory: Record<string, unknown>; datasetInfo: Record<string, unknown>; deepspeed?: Record<string, unknown> }): string[] {
  const problems = [
    ...undocumentedKeys(parsed.axolotl, AXOLOTL_KEYS, 'axolotl.yaml'),
    ...undocumentedKeys(parsed.llamaFactory, LLAMA_FACTORY_KEYS, 'llamafactory.yaml'),
  ];
  for (const key of ['datasets', 'test_datasets']) {
    const list = parsed.axolotl[key];
    if (Array.isArray(list)) list.forEach((d, i) => problems.push(...undocumentedKeys(d as Record<string, unknown>, AXOLOTL_DATASET_KEYS, `axolotl.yaml ${key}[${i}]`)));
  }
  for (const [name, entry] of Object.entries(parsed.datasetInfo)) {
    const e = entry as Record<string, unknown>;
    problems.push(...undocumentedKeys(e, LLAMA_FACTORY_DATASET_KEYS, `dataset_info.json ${name}`));
    if (e.columns) problems.push(...undocumentedKeys(e.columns as Record<string, unknown>, LLAMA_FACTORY_COLUMN_KEYS, `dataset_info.json ${name}.columns`));
    if (e.tags) problems.push(...undocumentedKeys(e.tags as Record<string, unknown>, LLAMA_FACTORY_TAG_KEYS, `dataset_info.json ${name}.tags`));
  }
  if (parsed.deepspeed) {
    problems.push(...undocumentedKeys(parsed.deepspeed, DEEPSPEED_KEYS, 'ds_config.json'));
    problems.push(...undocumentedKeys(parsed.deepspeed.zero_optimization as Record<string, unknown>, DEEPSPEED_ZERO_KEYS, 'ds_config.json zero_optimization'));
  }
  return problems;
}

function engineNotes(a: ResolvedArgs, s: HandoffSettings, spec: ModelSpec): string[] {
  const notes: string[] = [];
  if (s.lora && integerAlpha(s) === undefined) notes.push(l10n.t('lora_alpha {0} is not a whole number, which Axolotl and LLaMA-Factory require: their configs leave it out (Axolotl then uses its default; LLaMA-Factory rank × 2); train.py uses {1}.', a.lora_alpha, a.lora_alpha));
  if (a.rope_scaling === 'ntk_by_parts') notes.push(l10n.t('rope_scaling ntk_by_parts is YaRN without its attention factor: train.py and Axolotl set it as such (rope_type yarn, attention_factor 1); LLaMA-Factory has no way to say it, so its config keeps the model\'s own RoPE.'));
  else if (a.rope_scaling !== 'none') notes.push(l10n.t('LLaMA-Factory computes the {0} factor itself from cutoff_len and the model\'s {1} positions, not {2} as ARGS.json says.', a.rope_scaling, spec.maxPositions, a.rope_scaling_factor));
  if (a.quantization === 'int4' && s.quantization === 'fp4') notes.push(l10n.t('quantization int4 is Tuner\'s q4_0 blocks; bitsandbytes\' 4-bit formats stand in for it (fp4 in train.py and LLaMA-Factory, Axolotl\'s load_in_4bit default nf4).'));
  if (a.optimizer === 'lion') notes.push(l10n.t('optimizer lion is bitsandbytes\' lion_32bit (requirements.txt adds bitsandbytes).'));
  if (a.packing) notes.push(l10n.t('packing: train.py concatenates records into max_length rows (transformers\' group_texts), Axolotl packs with sample_packing and LLaMA-Factory with packing; Tuner packs its own way, so step counts can differ.'));
  if (a.max_grad_norm === 0) notes.push(l10n.t('max_grad_norm 0 turns clipping off in Tuner; transformers reads 0 the same way.'));
  return notes;
}

export interface ExportOptions {
  /** Absolute ARGS.json path. */
  argsFile: string;
  outDir: string;
  target: ClusterTarget;
  /** The ARGS.json text when it is open with unsaved edits (default: read the file). */
  argsText?: string;
}

/** The files of a hand-off (relative path → text) and what they were made from; writes nothing. */
export function buildHandoff(o: ExportOptions): { files: HandoffFiles; result: Omit<HandoffResult, 'dir' | 'files'> } {
  const text = o.argsText ?? fs.readFileSync(o.argsFile, 'utf8');
  const check = validateArgsText(text);
  if (!check.args) {
    const first = check.problems.find((p) => p.severity === 'error');
    throw new HandoffError(l10n.t('{0}:{1}: {2} Fix ARGS.json first (the Problems panel lists every error).', o.argsFile, (first?.range.line ?? 0) + 1, first?.message ?? l10n.t('ARGS.json has errors.')));
  }
  const a = resolveArgs(check.args);
  const argsDir = path.dirname(o.argsFile);
  const modelDir = resolveModelDir(a.model, argsDir);
  const copyModel = fs.existsSync(path.resolve(argsDir, a.model));
  const spec = readModelSpec(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  const template = chooseTemplate(a.chat_template, tokenizer.chatTemplate, argsDir);

  const train = convertData(path.resolve(argsDir, a.data), a);
  if (train.records === 0) throw new HandoffError(l10n.t('{0}: no record Tuner can train on ({1}).', path.resolve(argsDir, a.data), train.skipped[0]?.reason ?? l10n.t('the file is empty')), 'data');
  const evalData = a.eval_data ? convertData(path.resolve(argsDir, a.eval_data), a) : undefined;
  const files: HandoffFiles = {};
  files['data/train.jsonl'] = train.text;
  if (evalData) files['data/eval.jsonl'] = evalData.text;
  // The tokenizer's own template is what every engine applies by default; anything else travels as a file.
  const templateFile = template.source === 'model' ? undefined : 'chat_template.jinja';
  if (templateFile) files[templateFile] = template.template;

  const settings = handoffSettings(a, spec, { model: copyModel ? 'model' : a.model, trainFile: 'data/train.jsonl', evalFile: evalData ? 'data/eval.jsonl' : undefined, chatTemplateFile: templateFile });
  const zero = chooseZeroStage(a, spec, o.target);
  const dsFile = zero.stage > 0 ? 'ds_config.json' : undefined;
  const ds = zero.stage > 0 ? deepspeedConfig(zero.stage, a.precision) : undefined;
  const axolotl = axolotlConfig(settings, dsFile);
  const llamaFactory = llamaFactoryConfig(settings, dsFile);
  const datasetInfo = llamaFactoryDatasetInfo(settings);
  const strip = (x: Record<string, unknown>) => JSON.parse(JSON.stringify(x)) as Record<string, unknown>;
  const problems = checkHandoffConfigs({ axolotl: strip(axolotl), llamaFactory: strip(llamaFactory), datasetInfo, deepspeed: ds });
  if (problems.length) throw new Error(l10n.t('hand-off configs use undocumented keys: {0}', problems.join('; ')));

  const notes = engineNotes(a, settings, spec);
  const skipped = [...train.skipped, ...(evalData?.skipped ?? [])];
  const header = (tool: string) => [l10n.t('{0} config written by Tuner from {1}; see README.md for the commands.', tool, path.basename(o.argsFile))];
  files['train.py'] = TRAIN_SCRIPT;
  files['train_config.json'] = JSON.stringify(settings, null, 2) + '\n';
  files['requirements.txt'] = requirementsText(settings);
  files['axolotl.yaml'] = toYaml(axolotl, header('Axolotl 0.18'));
  files['llamafactory.yaml'] = toYaml(llamaFactory, header('LLaMA-Factory 0.9.6'));
  files['data/dataset_info.json'] = JSON.stringify(datasetInfo, null, 2) + '\n';
  if (ds) files['ds_config.json'] = JSON.stringify(ds, null, 2) + '\n';
  files['README.md'] = handoffReadme(settings, {
    argsFile: path.basename(o.argsFile), modelDir, copyModel, target: o.target, zero,
    trainRecords: train.records, evalRecords: evalData?.records ?? 0, skipped, templateSource: template.source, notes,
  });
  files[HANDOFF_MARKER] = JSON.stringify({ tuner: 'handoff', version: 1, argsFile: o.argsFile, modelDir, created: new Date().toISOString() }, null, 2) + '\n';
  return { files, result: { zero, settings, trainRecords: train.records, evalRecords: evalData?.records ?? 0, skipped, notes } };
}

/** Builds and writes the folder (replacing only an earlier hand-off of Tuner's, file by file). */
export function writeHandoff(o: ExportOptions): HandoffResult {
  const { files, result } = buildHandoff(o);
  if (fs.existsSync(o.outDir) && fs.readdirSync(o.outDir).length > 0 && !fs.existsSync(path.join(o.outDir, HANDOFF_MARKER))) {
    throw new HandoffError(l10n.t('{0} already holds files that are not a Tuner hand-off; pick an empty or new folder.', o.outDir));
  }
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(o.outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, text);
  }
  return { dir: o.outDir, files: Object.keys(files), ...result };
}
