// Loads a model folder's tokenizer (tokenizer.json via @huggingface/tokenizers) and its chat
// template (tokenizer_config.json "chat_template", or chat_template.jinja as newer models ship),
// with the special tokens the template and the data preparation need.
import type { Tokenizer } from '@huggingface/tokenizers';
import { hfTokenizers } from '../lazy/load';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as l10n from '@vscode/l10n';

export class TokenizerLoadError extends Error {}

export interface ModelTokenizer {
  /** Ids of `text`, special-token strings in it recognised, no BOS/EOS added. */
  encode(text: string): number[];
  /**
   * Text of `ids` (special tokens kept). `cleanUpSpaces: false` skips the tokenizer's
   * clean_up_tokenization_spaces pass (" ." -> "."), which streaming output must not apply
   * because it rewrites text that was already shown.
   */
  decode(ids: readonly number[], options?: { cleanUpSpaces?: boolean }): string;
  /** The vocabulary entry of one id (e.g. "Ġworld", "<|eot_id|>"). */
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** Highest id + 1, added tokens included. */
  vocabSize: number;
  bosToken: string | null;
  eosToken: string | null;
  /** tokenizer(text) puts BOS first (Hugging Face semantics): raw-text prompts get it too. */
  addsBos: boolean;
  /** The chat template shipped with the tokenizer, if any. */
  chatTemplate: string | null;
  /** Strings of every added/special token, longest first (to recognise them after a template turn). */
  specialTokens: string[];
  /** sha256 of tokenizer.json, so shards record which tokenizer made them. */
  fingerprint: string;
  dir: string;
}

function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TokenizerLoadError(`${file}: ${(e as Error).message}`);
  }
}

/** The template from tokenizer_config.json (string, or a list of named templates) or a .jinja file. */
export function findChatTemplate(dir: string, config: Record<string, unknown>): string | null {
  const ct = config.chat_template;
  if (typeof ct === 'string') return ct;
  if (Array.isArray(ct)) {
    const named = ct as { name?: string; template?: string }[];
    return (named.find((t) => t.name === 'default') ?? named[0])?.template ?? null;
  }
  const jinja = path.join(dir, 'chat_template.jinja');
  if (fs.existsSync(jinja)) return fs.readFileSync(jinja, 'utf8');
  const json = path.join(dir, 'chat_template.json');
  if (fs.existsSync(json)) {
    const t = readJson(json).chat_template;
    if (typeof t === 'string') return t;
  }
  return null;
}

/**
 * Whether tokenizer(text) puts BOS first: tokenizer_config.json's add_bos_token when set, else
 * a TemplateProcessing post-processor in tokenizer.json that starts with it (Llama 3, Gemma).
 */
export function tokenizerAddsBos(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, bosToken: string | null): boolean {
  if (bosToken === null) return false;
  if (typeof tokenizerConfig.add_bos_token === 'boolean') return tokenizerConfig.add_bos_token;
  const startsWithBos = (p: unknown): boolean => {
    if (!p || typeof p !== 'object') return false;
    const proc = p as { type?: unknown; single?: unknown; processors?: unknown };
    if (proc.type === 'Sequence' && Array.isArray(proc.processors)) return proc.processors.some(startsWithBos);
    if (proc.type !== 'TemplateProcessing' || !Array.isArray(proc.single)) return false;
    const head = proc.single[0] as { SpecialToken?: { id?: unknown } } | undefined;
    return head?.SpecialToken?.id === bosToken;
  };
  return startsWithBos(tokenizerJson.post_processor);
}

export function loadTokenizer(dir: string): ModelTokenizer {
  const tjFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(tjFile)) {
    throw new TokenizerLoadError(l10n.t('{0} has no tokenizer.json: Tuner needs the fast-tokenizer file that Hugging Face models ship (convert a tokenizer.model with transformers\' AutoTokenizer(...).save_pretrained()).', dir));
  }
  const raw = fs.readFileSync(tjFile);
  const tj = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
  const cfgFile = path.join(dir, 'tokenizer_config.json');
  const config = fs.existsSync(cfgFile) ? readJson(cfgFile) : {};
  let tok: Tokenizer;
  try {
    tok = new (hfTokenizers().Tokenizer)(tj, config);
  } catch (e) {
    throw new TokenizerLoadError(l10n.t('{0}: cannot build the tokenizer: {1}', tjFile, (e as Error).message));
  }
  const added = Array.isArray(tj.added_tokens) ? (tj.added_tokens as { id: number; content: string; special?: boolean }[]) : [];
  const vocab = tok.get_vocab(true);
  let maxId = -1;
  for (const id of vocab.values()) if (id > maxId) maxId = id;
  for (const a of added) if (a.id > maxId) maxId = a.id;
  const specialTokens = added.map((a) => a.content).sort((a, b) => b.length - a.length);
  return {
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids, options) =>
      ids.length === 0 ? '' : tok.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: options?.cleanUpSpaces }),
    idToToken: (id) => tok.id_to_token(id),
    tokenToId: (t) => tok.token_to_id(t),
    vocabSize: maxId + 1,
    bosToken: tokenString(config.bos_token),
    eosToken: tokenString(config.eos_token),
    addsBos: tokenizerAddsBos(tj, config, tokenString(config.bos_token)),
    chatTemplate: findChatTemplate(dir, config),
    specialTokens,
    fingerprint: createHash('sha256').update(raw).digest('hex'),
    dir,
  };
}
