// From ARGS.json to everything preparation needs: the model folder, its tokenizer, the chat
// template to use (override, the model's own, or the documented default) and the EOS check.
// Every path ARGS.json names is confined to the workspace first (prepare-paths.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ResolvedArgs } from '../args/fields';
import { resolveModelDir } from '../model/discover';
import { readModelSpec, type ModelSpec } from '../model/spec';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { ChatRenderer, checkTemplateEos, DEFAULT_CHAT_TEMPLATE } from './chat-template';
import type { PrepareOptions } from './prepare';
import { confinePreparePaths, templateFileOf, type Confinement } from './prepare-paths';
import * as l10n from '@vscode/l10n';

export type TemplateSource = 'override' | 'model' | 'default';

export interface PreparePlan {
  modelDir: string;
  spec: ModelSpec;
  tokenizer: ModelTokenizer;
  renderer: ChatRenderer;
  templateSource: TemplateSource;
  /** Set when the template's end-of-answer token is not one the model stops at. */
  eosWarning: string | undefined;
  options: PrepareOptions;
}

/**
 * The template text for ARGS "chat_template": null -> the model's (or default), "default", a
 * .jinja path, or inline Jinja. `templateFile`: where the path leads, already confined.
 */
export function chooseTemplate(override: string | null | undefined, modelTemplate: string | null, argsDir: string, templateFile?: string): { source: TemplateSource; template: string } {
  if (override === 'default') return { source: 'override', template: DEFAULT_CHAT_TEMPLATE };
  if (typeof override === 'string' && override.trim() !== '') {
    const named = templateFileOf(override);
    if (named) {
      const file = templateFile ?? path.resolve(argsDir, named);
      if (!fs.existsSync(file)) throw new Error(l10n.t('"chat_template" names {0}, which does not exist: give an existing .jinja file, inline Jinja, "default" or null.', file));
      return { source: 'override', template: fs.readFileSync(file, 'utf8') };
    }
    return { source: 'override', template: override };
  }
  return modelTemplate ? { source: 'model', template: modelTemplate } : { source: 'default', template: DEFAULT_CHAT_TEMPLATE };
}

/** Token strings the model stops generating at: tokenizer EOS plus generation_config eos ids. */
export function modelStopTokens(spec: ModelSpec | undefined, tok: ModelTokenizer): string[] {
  const out = new Set<string>();
  if (tok.eosToken) out.add(tok.eosToken);
  for (const id of spec?.eosTokenIds ?? []) {
    const t = tok.idToToken(id);
    if (t) out.add(t);
  }
  return [...out];
}

/**
 * Everything preparation needs. Throws OutsideWorkspaceError, before reading anything, when a
 * path leads outside `confine.workspace` (default: the folder of ARGS.json) unconfirmed.
 */
export function planPreparation(args: ResolvedArgs, argsFile: string, outDir?: string, confine?: Confinement): PreparePlan {
  const argsDir = path.dirname(argsFile);
  const paths = confinePreparePaths(args, argsFile, confine ?? { workspace: argsDir }, outDir);
  const modelDir = resolveModelDir(args.model, argsDir);
  const spec = readModelSpec(modelDir);
  const tokenizer = loadTokenizer(modelDir);
  if (tokenizer.vocabSize > spec.vocabSize) {
    throw new Error(l10n.t('{0}: tokenizer.json has {1} tokens but config.json vocab_size is {2}; the tokenizer does not belong to this model.', modelDir, tokenizer.vocabSize, spec.vocabSize));
  }
  const { source, template } = chooseTemplate(args.chat_template, tokenizer.chatTemplate, argsDir, paths.templateFile);
  const renderer = new ChatRenderer(template, tokenizer);
  const eosWarning = checkTemplateEos(renderer.turnEnd, modelStopTokens(spec, tokenizer), tokenizer.eosToken);
  const options: PrepareOptions = {
    dataFile: paths.dataFile,
    evalFile: paths.evalFile,
    evalSplit: args.eval_data ? 0 : args.eval_split,
    outDir: paths.outDir,
    format: args.format,
    modelName: args.model_name,
    maxLength: args.max_length,
    truncation: args.truncation,
    packing: args.packing,
    trainOnAll: !args.train_on_responses_only,
    stage: args.stage,
    vocabSize: spec.vocabSize,
    tokenizerFingerprint: tokenizer.fingerprint,
  };
  return { modelDir, spec, tokenizer, renderer, templateSource: source, eosWarning, options };
}
