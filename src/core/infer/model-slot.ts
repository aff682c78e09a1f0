// The one model a worker holds: the native session with its KV cache, the tokenizer and the
// prompt builder. Loading checks in TypeScript first what it can check cheaply (the folder is
// a Hugging Face model folder, the tokenizer belongs to it, the chat template parses), so a
// slow native load never starts on input that is wrong anyway, and each mistake gets a
// message naming the file and a hint.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { InferAddon, InferModelInfo, InferSession } from '../engine/infer-addon';
import type { LoadedEvent, LoadRequest } from '../engine/infer-protocol';
import { readModelSpec } from '../model/spec';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { PromptBuilder } from './chat-prompt';
import { InferFailure } from './errors';
import type { GenerationModel } from './generation-loop';
import { KvCache } from './kv-cache';
import * as l10n from '@vscode/l10n';

/** KV-cache length when the load request names none: the model's own, capped to keep the cache small. */
export const DEFAULT_CONTEXT_LENGTH = 4096;

/** What the worker knows of the native engine: the addon when it loaded, and why not otherwise. */
export interface EngineProbe {
  addon?: Partial<InferAddon> & { version(): string };
  /** Why the addon did not load. */
  loadError?: string;
}

function modelFolderError(dir: string): InferFailure | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    return new InferFailure('model_not_found', l10n.t('{0} does not exist', dir), l10n.t('Pick a model folder that exists (a Hugging Face folder, a merged folder or a checkpoint).'));
  }
  const hfHint = l10n.t('Tuner runs Hugging Face model folders (config.json, *.safetensors, tokenizer.json), merged folders and folders Tuner quantized. A GGUF file is an export for llama.cpp / Ollama; load the folder it was made from.');
  if (!stat.isDirectory()) return new InferFailure('unknown_format', l10n.t('{0} is a file, not a model folder', dir), hfHint);
  if (fs.existsSync(path.join(dir, 'config.json'))) return undefined;
  if (fs.existsSync(path.join(dir, 'adapter_config.json'))) {
    return new InferFailure('unknown_format', l10n.t('{0} is a PEFT adapter, not a model folder', dir), l10n.t('Load the base model and pass this folder as the adapter.'));
  }
  const seen = fs.readdirSync(dir).slice(0, 8).join(', ');
  return new InferFailure('unknown_format', l10n.t('{0} is not a model folder Tuner can load: it has no config.json (it holds {1})', dir, seen || 'nothing'), hfHint);
}

function adapterError(dir: string): InferFailure | undefined {
  if (fs.existsSync(path.join(dir, 'adapter_config.json'))) return undefined;
  return new InferFailure(
    'bad_adapter',
    l10n.t('{0} is not a PEFT adapter folder: it has no adapter_config.json', dir),
    l10n.t('Pass a run\'s adapter/ folder or a checkpoints/step-N/ folder (adapter_config.json + adapter_model.safetensors).'),
  );
}

export class ModelSlot {
  readonly cache: KvCache;
  private freed = false;

  private constructor(
    readonly session: InferSession,
    readonly info: InferModelInfo,
    readonly tokenizer: ModelTokenizer,
    readonly builder: PromptBuilder,
    readonly dir: string,
    readonly adapter: string | null,
  ) {
    this.cache = new KvCache(session);
  }

  /** Loads `req`'s model; returns the slot and its `loaded` event (without `version`). */
  static load(engine: EngineProbe, req: LoadRequest, now: () => number): { slot: ModelSlot; loaded: Omit<LoadedEvent, 'version'> } {
    const start = now();
    const dir = path.resolve(req.model);
    const folderError = modelFolderError(dir);
    if (folderError) throw folderError;
    const adapter = req.adapter === undefined ? null : path.resolve(req.adapter);
    if (adapter !== null) {
      const e = adapterError(adapter);
      if (e) throw e;
    }
    const spec = readModelSpec(dir);
    const tokenizer = loadTokenizer(dir);
    if (tokenizer.vocabSize > spec.vocabSize) {
      throw new InferFailure(
        'tokenizer_mismatch',
        l10n.t('{0} has {1} tokens but {2} says vocab_size {3}', path.join(dir, 'tokenizer.json'), tokenizer.vocabSize, path.join(dir, 'config.json'), spec.vocabSize),
        l10n.t('The tokenizer does not belong to this model: copy the tokenizer files of the model the weights come from.'),
      );
    }
    let builder: PromptBuilder;
    try {
      builder = PromptBuilder.forModel(dir, tokenizer, spec, req.chat_template);
    } catch (e) {
      if (e instanceof InferFailure) throw e;
      throw new InferFailure('template_error', l10n.t('chat template: {0}', (e as Error).message), l10n.t('Load the model with another chat_template ("default", inline Jinja or a .jinja file), or null for the model\'s own.'));
    }
    const contextLength = req.context_length ?? Math.min(spec.maxPositions > 0 ? spec.maxPositions : DEFAULT_CONTEXT_LENGTH, DEFAULT_CONTEXT_LENGTH);
    if (contextLength < 1) throw new InferFailure('bad_request', l10n.t('context_length is 0'), l10n.t('Set context_length to the tokens a prompt and its answer need (e.g. 2048), or leave it out.'));
    if (!engine.addon) {
      throw new InferFailure('addon_unavailable', l10n.t('Tuner\'s native engine did not load: {0}', engine.loadError ?? l10n.t('unknown reason')), l10n.t('Build it with `npm run build:native`, or reinstall the extension.'));
    }
    if (typeof engine.addon.inferLoad !== 'function') {
      throw new InferFailure(
        'inference_unavailable',
        l10n.t('the native engine {0} has no inference (inferLoad)', engine.addon.version()),
        l10n.t('Rebuild the native addon from this version of Tuner with `npm run build:native`.'),
      );
    }
    const session = engine.addon.inferLoad({ model: dir, adapter: adapter ?? undefined, quant: req.quant ?? 'f32', contextLength, threads: req.threads ?? 0, device: req.device ?? 'auto' });
    const info = session.info();
    const slot = new ModelSlot(session, info, tokenizer, builder, dir, adapter);
    return {
      slot,
      loaded: {
        type: 'loaded',
        id: req.id,
        model: {
          dir,
          adapter,
          architecture: info.architecture,
          vocab_size: info.vocabSize,
          context_length: info.contextLength,
          quant: info.quant,
          kernel: info.kernel,
          lora: info.lora,
          ...(info.device !== undefined ? { device: info.device, device_reason: info.deviceReason ?? '' } : {}),
          chat_template: builder.templateSource,
          stop_token_ids: [...builder.chatStopIds].sort((a, b) => a - b),
        },
        load_ms: now() - start,
        weight_bytes: info.weightBytes,
        kv_cache_bytes: info.kvCacheBytes,
        resident_bytes: process.memoryUsage.rss(),
      },
    };
  }

  generationModel(): GenerationModel {
    return {
      session: this.session,
      cache: this.cache,
      contextLength: this.info.contextLength,
      decode: (ids) => this.tokenizer.decode(ids, { cleanUpSpaces: false }),
      tokenText: (id) => this.tokenizer.idToToken(id) ?? this.tokenizer.decode([id]),
    };
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.session.free();
  }
}
