// The openai package, on its own: it is about half of the extension's bundled code, and only a
// planner with an OpenAI-compatible endpoint needs it. openai-backend.ts requires this file when
// it makes its first client; scripts/bundle.mjs builds it as dist/openai-sdk.js beside
// dist/extension.js, so activating the extension does not parse it.
export { default as OpenAI } from 'openai';
