// @huggingface/tokenizers on its own (scripts/bundle.mjs builds it as dist/hf-tokenizers.js):
// loaded when the first tokenizer is, not when the extension activates.
export { Tokenizer } from '@huggingface/tokenizers';
