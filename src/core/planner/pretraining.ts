// Continued pretraining (domain adaptation on raw text), recognised from the goal's words or
// from the data (plain text, no turns). The recipe follows LLaMA-Factory's pretraining examples
// (stage pt: packing, cutoff_len 2048, lora_target all, learning rate 1e-4) and Unsloth's
// continued-pretraining guide (a high rank, r=64 and up): packed sequences of the model's
// context up to 2048 tokens, full fine-tuning where it fits (it trains embed_tokens and lm_head
// too), else adapters of rank 64 on every linear layer, one pass over large corpora.
import type { ResolvedArgs } from '../args/fields';
import { LORA_ALL_LINEAR } from './fit';
import * as l10n from '@vscode/l10n';

/** Sequence length of packed pretraining text. */
export const PRETRAINING_LENGTH = 2048;

/** Sets the recipe on a fresh plan; returns the sentence that says what it chose and why. */
export function applyPretrainingRecipe(a: ResolvedArgs, modelMaxPositions: number, records: number): string {
  a.packing = true;
  a.max_length = Math.min(PRETRAINING_LENGTH, modelMaxPositions > 0 ? modelMaxPositions : PRETRAINING_LENGTH);
  a.lora_rank = 64;
  a.lora_target_modules = [...LORA_ALL_LINEAR];
  a.epochs = records >= 10000 ? 1 : 2;
  return (
    l10n.t('Continued pretraining: every token of the text is trained on, packed into {0}-token sequences; ', a.max_length) +
    l10n.t('full fine-tuning where it fits (it also adapts embed_tokens and lm_head to the domain\'s words), else rank 64 adapters on every linear layer with a lower learning rate; ') +
    l10n.t('{0}; the eval set is capped at 1,000 records. ', a.epochs === 1 ? l10n.t('one pass over a large corpus') : l10n.t('two passes over a small corpus')) +
    l10n.t('Training embed_tokens and lm_head beside LoRA adapters (for new vocabulary) is not something the engine runs: full fine-tuning is the way to adapt them.')
  );
}
