// @huggingface/jinja on its own (scripts/bundle.mjs builds it as dist/jinja.js): only preparing
// data, the token preview and exports render chat templates, so activation does not load it.
export { Template } from '@huggingface/jinja';
