// The chat-template families an Ollama Modelfile is written for, each as Ollama's Go template
// (text/template over .System and .Messages, as Ollama's own library templates are written)
// with the strings that end a turn. A model's Jinja template is matched to a family by
// rendering a probe conversation with it (chat-template-probe.ts), never by its source text.

import * as l10n from '@vscode/l10n';
export type ChatFamily = 'chatml' | 'llama3' | 'llama2' | 'mistral' | 'gemma' | 'plain';

export interface FamilyTemplate {
  /** Human name for the Modelfile comment. */
  title: string;
  /** The Go template (Ollama TEMPLATE). */
  template: string;
  /** Strings that end the assistant's turn (Ollama PARAMETER stop), besides the EOS token. */
  stops: string[];
}

// System prompt first; user and assistant turns; the generation prompt after a final user turn.
const CHATML = `{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|im_start|>user
{{ .Content }}<|im_end|>
{{ else if eq .Role "assistant" }}<|im_start|>assistant
{{ .Content }}{{ if not $last }}<|im_end|>
{{ end }}
{{- end }}
{{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
{{ end }}
{{- end }}`;

const LLAMA3 = `{{- if .System }}<|start_header_id|>system<|end_header_id|>

{{ .System }}<|eot_id|>
{{- end }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>

{{ .Content }}<|eot_id|>
{{- if $last }}<|start_header_id|>assistant<|end_header_id|>

{{ end }}
{{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

{{ .Content }}
{{- if not $last }}<|eot_id|>{{ end }}
{{- end }}
{{- end }}`;

// Llama 2 chat: the system prompt inside the first [INST] block, <<SYS>> delimited.
const LLAMA2 = `{{- $first := true }}
{{- range .Messages }}
{{- if eq .Role "user" }}[INST] {{ if and $first $.System }}<<SYS>>
{{ $.System }}
<</SYS>>

{{ end }}{{ .Content }} [/INST]
{{- $first = false }}
{{- else if eq .Role "assistant" }} {{ .Content }} </s><s>
{{- end }}
{{- end }}`;

// Mistral instruct: no system role; the system prompt leads the first user turn.
const MISTRAL = `{{- $first := true }}
{{- range .Messages }}
{{- if eq .Role "user" }}[INST] {{ if and $first $.System }}{{ $.System }}

{{ end }}{{ .Content }} [/INST]
{{- $first = false }}
{{- else if eq .Role "assistant" }}{{ .Content }}</s>
{{- end }}
{{- end }}`;

// Gemma: user / model turns; the system prompt leads the first user turn.
const GEMMA = `{{- $first := true }}
{{- range $i, $_ := .Messages }}
{{- $last := eq (len (slice $.Messages $i)) 1 }}
{{- if eq .Role "user" }}<start_of_turn>user
{{ if and $first $.System }}{{ $.System }}

{{ end }}{{ .Content }}<end_of_turn>
{{ if $last }}<start_of_turn>model
{{ end }}
{{- $first = false }}
{{- else if eq .Role "assistant" }}<start_of_turn>model
{{ .Content }}{{ if not $last }}<end_of_turn>
{{ end }}
{{- end }}
{{- end }}`;

/**
 * The plain "Human: … Assistant: …" form Tuner trains base models with (DEFAULT_CHAT_TEMPLATE
 * in src/core/dataset/chat-template.ts); each answer closed by the EOS token, written in place
 * of EOS below.
 */
function plain(eos: string): string {
  return `{{- if .System }}{{ .System }}

{{ end }}
{{- range .Messages }}
{{- if eq .Role "user" }}Human: {{ .Content }}
{{ else if eq .Role "assistant" }}Assistant: {{ .Content }}${eos}
{{ end }}
{{- end }}Assistant:`;
}

export function familyTemplate(family: ChatFamily, eosToken: string | null): FamilyTemplate {
  switch (family) {
    case 'chatml':
      return { title: l10n.t('ChatML (Qwen)'), template: CHATML, stops: ['<|im_start|>', '<|im_end|>'] };
    case 'llama3':
      return { title: 'Llama 3', template: LLAMA3, stops: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'] };
    case 'llama2':
      return { title: l10n.t('Llama 2 chat ([INST] with <<SYS>>)'), template: LLAMA2, stops: ['[INST]', '[/INST]', '<<SYS>>', '<</SYS>>'] };
    case 'mistral':
      return { title: l10n.t('Mistral instruct ([INST])'), template: MISTRAL, stops: ['[INST]', '[/INST]'] };
    case 'gemma':
      return { title: 'Gemma', template: GEMMA, stops: ['<start_of_turn>', '<end_of_turn>'] };
    case 'plain':
      return { title: l10n.t('plain Human / Assistant'), template: plain(eosToken ?? ''), stops: ['Human:'] };
  }
}
