// Every failure in the inference worker becomes an `error` event with a code, a message naming
// the file or field, and a hint saying what to do. Native errors (the addon's InferError) carry
// their own code and hint; TypeScript-side failures are turned into the same shape here.
import { TemplateError } from '../dataset/chat-template';
import type { InferErrorEvent } from '../engine/infer-protocol';
import { ModelConfigError } from '../model/spec';
import { TokenizerLoadError } from '../model/tokenizer';
import * as l10n from '@vscode/l10n';

/** A failure the worker reports as is: code, message, hint. */
export class InferFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'InferFailure';
  }
}

type ErrorBody = Omit<InferErrorEvent, 'version'>;

function isNativeError(e: unknown): e is Error & { code: string; hint: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && typeof (e as { hint?: unknown }).hint === 'string';
}

/** The error event for a failed request (`id`), whatever was thrown. */
export function errorEvent(e: unknown, id: string | null): ErrorBody {
  if (e instanceof InferFailure || isNativeError(e)) return { type: 'error', id, code: e.code, message: e.message, hint: e.hint };
  if (e instanceof TokenizerLoadError) {
    return { type: 'error', id, code: 'bad_tokenizer', message: e.message, hint: l10n.t('The model folder needs the tokenizer.json (and tokenizer_config.json) the model was published with.') };
  }
  if (e instanceof ModelConfigError) {
    return { type: 'error', id, code: 'bad_config', message: e.message, hint: l10n.t('Point the playground at a Hugging Face model folder whose config.json is complete.') };
  }
  if (e instanceof TemplateError) {
    return { type: 'error', id, code: 'template_error', message: e.message, hint: l10n.t('Load the model with another chat_template ("default", inline Jinja or a .jinja file).') };
  }
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    type: 'error',
    id,
    code: 'internal',
    message: `${err.message}${err.stack ? `\n${err.stack.split('\n').slice(1, 6).join('\n')}` : ''}`,
    hint: l10n.t('This is a bug in Tuner; the inference worker keeps running. Please report it with this message.'),
  };
}
