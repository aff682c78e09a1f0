// Renders the playground's prompt for "copy as command": token ids through the model's own
// tokenizer and chat template (the inference worker's PromptBuilder), so the tuner-generate line
// is prompted exactly as the playground was.
import type { QuantName } from '../engine/infer-addon';
import type { PromptSpec } from '../engine/infer-protocol';
import { PromptBuilder } from '../infer/chat-prompt';
import { readModelSpec } from '../model/spec';
import { loadTokenizer } from '../model/tokenizer';
import type { PlaygroundPrompt, PlaygroundSampling } from '../../../webview/protocol';
import type { CatalogEntry } from './catalog';
import { generateCommandLine } from './command-line';
import { toSamplingRequest } from './sampling';
import * as l10n from '@vscode/l10n';

export function renderPromptIds(entry: CatalogEntry, prompt: PromptSpec): { ids: number[]; stopIds: number[] } {
  const tokenizer = loadTokenizer(entry.modelDir);
  const builder = PromptBuilder.forModel(entry.modelDir, tokenizer, readModelSpec(entry.modelDir), null);
  const built = builder.build(prompt);
  return { ids: built.ids, stopIds: [...built.stopTokenIds].sort((a, b) => a - b) };
}

export function renderCommand(
  entry: CatalogEntry,
  quant: QuantName,
  prompt: PlaygroundPrompt,
  sampling: PlaygroundSampling,
  deps: { generateBinary(): string; renderPrompt?(entry: CatalogEntry, prompt: PromptSpec): { ids: number[]; stopIds: number[] } },
): string {
  const { ids, stopIds } = (deps.renderPrompt ?? renderPromptIds)(entry, prompt);
  let binary: string;
  try {
    binary = deps.generateBinary();
  } catch {
    binary = 'tuner-generate';
  }
  return generateCommandLine({
    binary,
    modelDir: entry.modelDir,
    adapterDir: entry.adapterDir,
    quant,
    promptIds: ids,
    maxNewTokens: sampling.max_new_tokens,
    sampling: toSamplingRequest(sampling),
    stopIds,
    stopStrings: sampling.stop,
    promptNote: prompt.type === 'chat' ? prompt.messages.length === 1 ? l10n.t('chat template applied to 1 message') : l10n.t('chat template applied to {0} messages', prompt.messages.length) : l10n.t('raw completion'),
  });
}
