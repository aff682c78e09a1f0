// Secrets must never be written into ARGS.json, which users share and commit. These checks find
// the obvious ones: keys that name a credential, and values shaped like well-known API keys.

export const SECRET_KEYS: ReadonlySet<string> = new Set(['wandb', 'wandb_key', 'wandb_api_key', 'api_key', 'apikey', 'hf_token', 'huggingface_token', 'openai_api_key', 'token', 'password', 'secret']);

const SECRET_PATTERNS: readonly RegExp[] = [
  /^[0-9a-f]{40}$/i, // Weights & Biases API key
  /^hf_[A-Za-z0-9]{30,}$/, // Hugging Face token
  /^sk-[A-Za-z0-9_-]{20,}$/, // OpenAI-style key
  /^gh[pousr]_[A-Za-z0-9]{30,}$/, // GitHub token
  /^AKIA[0-9A-Z]{16}$/, // AWS access key id
];

export function looksLikeSecret(value: string): boolean {
  const v = value.trim();
  return SECRET_PATTERNS.some((p) => p.test(v));
}
