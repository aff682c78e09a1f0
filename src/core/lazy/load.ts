// Libraries loaded on first use. Each module required here is its own bundle beside
// dist/extension.js (scripts/bundle.mjs, `lazyModules`), so the extension host neither parses nor
// runs it while the extension activates; under tsc (tests, CLI) it is the plain compiled file.
/* eslint-disable @typescript-eslint/no-require-imports */

/** @huggingface/jinja (chat templates). */
export function jinja(): typeof import('./jinja') {
  return require('./jinja') as typeof import('./jinja');
}

/** @huggingface/tokenizers (tokenizer.json). */
export function hfTokenizers(): typeof import('./hf-tokenizers') {
  return require('./hf-tokenizers') as typeof import('./hf-tokenizers');
}
