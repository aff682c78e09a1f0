// An Ollama Modelfile for an exported GGUF (docs/export.md): FROM the file beside it, TEMPLATE
// translated from the model's Jinja chat template into Ollama's Go template syntax, SYSTEM when
// the template renders a default system prompt, PARAMETER stop for the end-of-turn strings and
// the EOS token, and the sampling defaults of generation_config.json (temperature 0.8 when it
// names none, as the classic LoRA tutorial samples).
//
// The family is found by rendering probe conversations with the real template
// (@huggingface/jinja) and reading the markers it emits, so reformatted or extended templates
// of a family (tools, dates, trimming) are still recognised. A template of no known family is
// written with the plain Human / Assistant form and a comment saying it is not a translation.
import type { Template } from '@huggingface/jinja';
import { jinja } from '../lazy/load';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeFileAtomic } from '../atomic-file';
import { DEFAULT_CHAT_TEMPLATE } from '../dataset/chat-template';
import { familyTemplate, type ChatFamily } from './chat-families';
import * as l10n from '@vscode/l10n';

export interface ModelfileInput {
  /** The GGUF path as FROM names it, relative to the Modelfile (e.g. "./model.gguf"). */
  from: string;
  /** tokenizer_config.json's chat_template (null: the model has none, Tuner trained the plain form). */
  chatTemplate: string | null;
  bosToken: string | null;
  eosToken: string | null;
  /** generation_config.json, when the model has one. */
  generationConfig?: Record<string, unknown> | null;
  /** PARAMETER num_ctx (omitted when not given). */
  contextLength?: number;
}

export interface Modelfile {
  text: string;
  /** The family the template was recognised as; 'unknown' = written with the plain form. */
  family: ChatFamily | 'unknown';
  system: string | null;
  stops: string[];
  parameters: Record<string, number>;
}

type Message = { role: string; content: string };

function render(t: Template, messages: Message[], input: ModelfileInput, addGenerationPrompt: boolean): string | null {
  try {
    return t.render({ messages, bos_token: input.bosToken ?? '', eos_token: input.eosToken ?? '', add_generation_prompt: addGenerationPrompt });
  } catch {
    return null; // e.g. "System role not supported": the caller probes without a system turn
  }
}

/** The family whose markers a rendered conversation shows (null: none). */
function familyOf(rendered: string): ChatFamily | null {
  if (rendered.includes('<|im_start|>')) return 'chatml';
  if (rendered.includes('<|start_header_id|>')) return 'llama3';
  if (rendered.includes('<start_of_turn>')) return 'gemma';
  if (rendered.includes('[INST]')) return rendered.includes('<<SYS>>') ? 'llama2' : 'mistral';
  return null;
}

const DEFAULT_SYSTEM: Partial<Record<ChatFamily, RegExp>> = {
  chatml: /<\|im_start\|>system\n([\s\S]*?)<\|im_end\|>/,
  llama3: /<\|start_header_id\|>system<\|end_header_id\|>\n\n([\s\S]*?)<\|eot_id\|>/,
  llama2: /<<SYS>>\n([\s\S]*?)\n<<\/SYS>>/,
};

/** The family of a Jinja chat template and the system prompt it renders when given none. */
export function recogniseChatTemplate(input: ModelfileInput): { family: ChatFamily | 'unknown'; system: string | null } {
  if (input.chatTemplate === null || input.chatTemplate === DEFAULT_CHAT_TEMPLATE) return { family: 'plain', system: null };
  let t: Template;
  try {
    t = new (jinja().Template)(input.chatTemplate);
  } catch {
    return { family: 'unknown', system: null };
  }
  const turns: Message[] = [{ role: 'user', content: 'Hello' }, { role: 'assistant', content: 'Hi' }, { role: 'user', content: 'Bye' }];
  const rendered = render(t, [{ role: 'system', content: 'Be brief.' }, ...turns], input, true) ?? render(t, turns, input, true);
  const family = rendered === null ? null : familyOf(rendered);
  if (!family) return { family: 'unknown', system: null };
  const bare = render(t, [{ role: 'user', content: 'Hello' }], input, true) ?? '';
  const m = DEFAULT_SYSTEM[family]?.exec(bare);
  const system = m && m[1].trim() ? m[1].trim() : null;
  return { family, system };
}

/** Ollama PARAMETERs from generation_config.json (Hugging Face names -> Ollama names). */
function samplingParameters(gen: Record<string, unknown> | null | undefined): { params: Record<string, number>; notes: string[] } {
  const params: Record<string, number> = {};
  const notes: string[] = [];
  const num = (k: string) => (typeof gen?.[k] === 'number' ? (gen[k] as number) : undefined);
  if (gen?.do_sample === false) params.temperature = 0;
  else params.temperature = num('temperature') ?? 0.8;
  const topP = num('top_p'), topK = num('top_k'), minP = num('min_p'), rep = num('repetition_penalty');
  if (topP !== undefined && topP < 1) params.top_p = topP;
  if (topK !== undefined && topK > 0) params.top_k = topK;
  if (minP !== undefined && minP > 0) params.min_p = minP;
  if (rep !== undefined && rep !== 1) params.repeat_penalty = rep;
  if ((num('no_repeat_ngram_size') ?? 0) > 0) notes.push(l10n.t('no_repeat_ngram_size {0} has no Ollama parameter and is not applied', String(num('no_repeat_ngram_size'))));
  return { params, notes };
}

function quoted(s: string): string {
  return JSON.stringify(s); // Ollama reads PARAMETER stop values as quoted strings
}

export function buildModelfile(input: ModelfileInput): Modelfile {
  const { family, system } = recogniseChatTemplate(input);
  const fam = familyTemplate(family === 'unknown' ? 'plain' : family, input.eosToken);
  const stops = [...fam.stops];
  if (input.eosToken && !stops.includes(input.eosToken)) stops.push(input.eosToken);
  const { params, notes } = samplingParameters(input.generationConfig);
  if (input.contextLength) params.num_ctx = input.contextLength;

  const lines = [l10n.t('# Ollama Modelfile written by Tuner. Create the model with: ollama create <name> -f Modelfile'), `FROM ${input.from}`, ''];
  if (family === 'unknown') {
    lines.push(l10n.t('# The chat template of tokenizer_config.json belongs to no family Tuner translates (ChatML/Qwen,'),
      l10n.t('# Llama 3, Llama 2, Mistral, Gemma): this TEMPLATE is a generic Human / Assistant form, not a'),
      l10n.t('# translation. Replace it with a Go template equivalent to the model\'s chat template.'));
  } else if (family === 'plain') {
    lines.push(l10n.t('# The model has no chat template: Tuner trained it with the plain Human / Assistant form.'));
  } else {
    lines.push(l10n.t('# TEMPLATE: the {0} chat template of tokenizer_config.json in Ollama\'s Go template syntax.', fam.title));
  }
  lines.push(`TEMPLATE """${fam.template}"""`, '');
  if (system) lines.push(l10n.t('# The default system prompt the chat template renders when none is given.'), `SYSTEM """${system}"""`, '');
  for (const s of stops) lines.push(`PARAMETER stop ${quoted(s)}`);
  for (const [k, v] of Object.entries(params)) lines.push(`PARAMETER ${k} ${v}`);
  for (const n of notes) lines.push(`# ${n}`);
  return { text: lines.join('\n') + '\n', family, system, stops, parameters: params };
}

function readJson(file: string): Record<string, unknown> | null {
  if (!fs.existsSync(file)) return null;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return null;
}

/** The Modelfile for a Hugging Face model folder (its tokenizer_config.json, generation_config.json). */
export function modelfileForFolder(modelDir: string, from: string, contextLength?: number): Modelfile {
  const tc = readJson(path.join(modelDir, 'tokenizer_config.json')) ?? {};
  let template: string | null = null;
  if (typeof tc.chat_template === 'string') template = tc.chat_template;
  else if (Array.isArray(tc.chat_template)) {
    const d = (tc.chat_template as Array<{ name?: string; template?: string }>).find((e) => e.name === 'default');
    template = d?.template ?? null;
  } else if (fs.existsSync(path.join(modelDir, 'chat_template.jinja'))) {
    template = fs.readFileSync(path.join(modelDir, 'chat_template.jinja'), 'utf8');
  }
  return buildModelfile({
    from, chatTemplate: template, bosToken: tokenText(tc.bos_token), eosToken: tokenText(tc.eos_token),
    generationConfig: readJson(path.join(modelDir, 'generation_config.json')), contextLength,
  });
}

/**
 * Writes `Modelfile` beside `ggufFile` (FROM ./<its name>) for the model folder the GGUF was
 * exported from; atomic (temp + rename). Returns the Modelfile written.
 */
export function writeModelfile(ggufFile: string, modelDir: string, contextLength?: number): Modelfile {
  const m = modelfileForFolder(modelDir, `./${path.basename(ggufFile)}`, contextLength);
  const out = path.join(path.dirname(ggufFile), 'Modelfile');
  writeFileAtomic(out, m.text);
  return m;
}
