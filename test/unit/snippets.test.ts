// snippets/: every snippet file the manifest contributes parses; each JSONL record snippet, expanded
// with its default placeholder texts, lints as its own format with no problem; each ARGS.json
// preset passes the JSON schema and Tuner's own checks; the launch.json snippet is a configuration
// of the tuner debugger with attributes it declares.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parse, type ParseError } from 'jsonc-parser';

import { argsJsonSchema } from '../../src/core/args/schema';
import { validateArgsText } from '../../src/core/args/validate';
import { FORMAT_IDS } from '../../src/core/dataset/formats';
import { lintText } from '../../src/core/dataset/lint';

const ROOT = path.join(__dirname, '..', '..', '..');
interface Snippet { prefix: string | string[]; body: string | string[]; description?: string; scope?: string }
interface Manifest {
  contributes: {
    snippets: { language: string; path: string }[];
    debuggers: { type: string; configurationAttributes: { launch: { properties: Record<string, unknown> } } }[];
  };
}
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;

function readSnippets(file: string): Record<string, Snippet> {
  const errors: ParseError[] = [];
  const value = parse(fs.readFileSync(path.join(ROOT, file), 'utf8'), errors) as Record<string, Snippet>;
  assert.deepEqual(errors, [], `${file} is valid JSON`);
  return value;
}

/** The text a snippet inserts when every placeholder keeps its default (first choice, empty tab stop). */
export function expandSnippet(body: string | string[]): string {
  const text = Array.isArray(body) ? body.join('\n') : body;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && '$}\\'.includes(text[i + 1])) { out += text[++i]; continue; }
    if (c !== '$') { out += c; continue; }
    const rest = text.slice(i);
    const tabStop = /^\$\d+/.exec(rest);
    if (tabStop) { i += tabStop[0].length - 1; continue; }
    const choice = /^\$\{\d+\|([^,|]*)[^|]*\|\}/.exec(rest);
    if (choice) { out += choice[1]; i += choice[0].length - 1; continue; }
    const placeholder = /^\$\{\d+:/.exec(rest);
    if (placeholder) {
      // Defaults here hold no nested placeholders: the text runs to the next unescaped '}'.
      let j = i + placeholder[0].length;
      while (j < text.length && text[j] !== '}') { if (text[j] === '\\') j++; out += text[j]; j++; }
      i = j;
      continue;
    }
    assert.fail(`unexpected snippet syntax at ${JSON.stringify(rest.slice(0, 20))}`);
  }
  return out;
}

const byFile = (name: string) => {
  const entry = pkg.contributes.snippets.find((s) => s.path.endsWith(name));
  assert.ok(entry, `package.json contributes snippets/${name}`);
  return { entry, snippets: readSnippets(entry.path) };
};

describe('snippets/', () => {
  it('every contributed snippet file exists, parses, and each snippet has a tuner- prefix, a body and a description', () => {
    assert.ok(pkg.contributes.snippets.length >= 3);
    for (const { path: file } of pkg.contributes.snippets) {
      assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} exists`);
      for (const [name, s] of Object.entries(readSnippets(file))) {
        const prefixes = Array.isArray(s.prefix) ? s.prefix : [s.prefix];
        assert.ok(prefixes.length > 0 && prefixes.every((p) => p.startsWith('tuner-')), `${name}: prefixes ${prefixes.join(', ')}`);
        assert.ok(s.description && s.body.length > 0, `${name} has a description and a body`);
      }
    }
    // Every file under snippets/ is contributed (none forgotten in the manifest).
    const contributed = new Set(pkg.contributes.snippets.map((s) => path.normalize(s.path)));
    for (const f of fs.readdirSync(path.join(ROOT, 'snippets'))) assert.ok(contributed.has(path.normalize(`snippets/${f}`)), `snippets/${f} is contributed`);
  });

  it('the placeholder expansion used below keeps defaults, first choices and escaped dollars', () => {
    assert.equal(expandSnippet(['{"a": "${1:x y}", "b": ${2|false,true|}, "c": "\\${workspaceFolder}"}$0']), '{"a": "x y", "b": false, "c": "${workspaceFolder}"}');
  });

  it('one JSONL record snippet per dataset format, each one line that lints as its format with no problem', () => {
    const { entry, snippets } = byFile('jsonl.code-snippets');
    assert.equal(entry.language, 'jsonl');
    const seen: string[] = [];
    for (const [name, s] of Object.entries(snippets)) {
      const line = expandSnippet(s.body);
      assert.ok(!line.includes('\n'), `${name} inserts one line`);
      const r = lintText(`${line}\n`);
      assert.equal(r.records, 1, name);
      assert.deepEqual(r.problems.map((p) => `${p.code} ${p.message}`), [], `${name}: ${line}`);
      assert.ok((FORMAT_IDS as readonly string[]).includes(r.format), `${name} detected as ${r.format}`);
      const prefixes = Array.isArray(s.prefix) ? s.prefix : [s.prefix];
      assert.ok(prefixes.includes(`tuner-${r.format}`), `${name} (detected ${r.format}) is offered as tuner-${r.format}`);
      seen.push(r.format);
    }
    assert.deepEqual([...seen].sort(), [...FORMAT_IDS].sort(), 'one snippet per format');
  });

  it('the ARGS.json presets (LoRA on CPU, QLoRA on one GPU, full fine-tune) pass the JSON schema and Tuner\'s checks', () => {
    const { entry, snippets } = byFile('args.code-snippets');
    assert.equal(entry.language, 'jsonc', 'ARGS.json is a jsonc document');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require('ajv').default as new (o: object) => { compile(s: object): ((v: unknown) => boolean) & { errors?: unknown } };
    const validate = new Ajv({ allErrors: true, strict: true }).compile(argsJsonSchema());
    const methods: string[] = [];
    for (const [name, s] of Object.entries(snippets)) {
      const text = expandSnippet(s.body);
      const errors: ParseError[] = [];
      const value = parse(text, errors) as Record<string, unknown>;
      assert.deepEqual(errors, [], `${name} expands to JSON`);
      assert.ok(validate(value), `${name}: ${JSON.stringify(validate.errors)}`);
      const check = validateArgsText(text);
      assert.deepEqual(check.problems.filter((p) => p.severity === 'error' || p.severity === 'warning').map((p) => `${p.code} ${p.message}`), [], name);
      methods.push(`${String(value.method)}/${String(value.device ?? 'auto')}`);
    }
    assert.deepEqual(methods.sort(), ['full/auto', 'lora/cpu', 'qlora/cuda']);
    const qlora = Object.values(snippets).map((s) => parse(expandSnippet(s.body)) as Record<string, unknown>).find((v) => v.method === 'qlora')!;
    assert.equal(qlora.quantization, 'nf4');
    assert.equal(qlora.gpus, 1);
  });

  it('the launch.json snippet is a tuner debugger configuration using only attributes the debugger declares', () => {
    const { entry, snippets } = byFile('launch.code-snippets');
    assert.equal(entry.language, 'jsonc');
    const debuggerDef = pkg.contributes.debuggers.find((d) => d.type === 'tuner');
    assert.ok(debuggerDef, 'the tuner debugger is contributed');
    const declared = new Set(['type', 'request', 'name', ...Object.keys(debuggerDef.configurationAttributes.launch.properties)]);
    for (const [name, s] of Object.entries(snippets)) {
      const errors: ParseError[] = [];
      const config = parse(expandSnippet(s.body), errors) as Record<string, unknown>;
      assert.deepEqual(errors, [], name);
      assert.equal(config.type, 'tuner');
      assert.equal(config.request, 'launch');
      assert.equal(config.args, '${workspaceFolder}/ARGS.json');
      for (const key of Object.keys(config)) assert.ok(declared.has(key), `${name}: ${key} is a launch attribute of the tuner debugger`);
    }
  });
});
