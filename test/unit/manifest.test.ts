// The extension manifest agrees with the code: every command in the command table is
// contributed (and vice versa), activation is never "*", and the settings match what config.ts
// reads and what the linter's rule and format catalogues define (regenerate with
// `npm run gen:settings`).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { FORMATS } from '../../src/core/dataset/formats';
import { RULES } from '../../src/core/dataset/rules';
import { COMMAND_IDS } from '../../src/vscode/command-ids';
import { RULE_DOCS_PATH, ruleDocsAnchor } from '../../src/vscode/rule-docs';
import { SETTING_KEYS } from '../../src/vscode/setting-keys';
import { readManifest } from './manifest-text';

const root = path.resolve(__dirname, '../../..');
interface Manifest {
  main: string;
  activationEvents: string[];
  extensionKind?: string[];
  icon?: string;
  repository?: unknown;
  contributes: {
    commands: { command: string; title: string; category?: string }[];
    languages: { id: string; extensions?: string[]; configuration?: string }[];
    jsonValidation?: { url: string }[];
    menus?: Record<string, { command: string }[]>;
    configuration: { properties: Record<string, { type?: string; default?: unknown; enum?: unknown[]; properties?: Record<string, { enum?: unknown[]; default?: unknown }> }> };
  };
}
const pkg = readManifest<Manifest>(root);

test('every command in the table is contributed, and every contributed command is in the table', () => {
  const contributed = pkg.contributes.commands.map((c) => c.command).sort();
  assert.deepEqual(contributed, [...COMMAND_IDS].sort());
  for (const c of pkg.contributes.commands) assert.equal(c.category, 'Tuner', `${c.command} is in the Tuner category`);
});

test('menus only reference contributed commands', () => {
  const known = new Set<string>(COMMAND_IDS);
  for (const [menu, items] of Object.entries(pkg.contributes.menus ?? {})) {
    for (const item of items) assert.ok(known.has(item.command), `menu ${menu} references unknown command ${item.command}`);
  }
});

test('activation is on what is needed and nothing more', () => {
  const languages = new Set(pkg.contributes.languages.map((l) => l.id));
  assert.ok(pkg.activationEvents.length > 0);
  for (const ev of pkg.activationEvents) {
    assert.notEqual(ev, '*', 'activation on "*" slows every VS Code start');
    assert.notEqual(ev, 'onStartupFinished');
    const [kind, arg] = [ev.slice(0, ev.indexOf(':')), ev.slice(ev.indexOf(':') + 1)];
    if (kind === 'onLanguage') assert.ok(languages.has(arg), `${ev}: language ${arg} is not contributed`);
    // VS Code (1.74+) derives these from the contributions: listing them again only adds noise.
    else assert.ok(!['onCommand', 'onView', 'onDebugResolve', 'onChatParticipant'].includes(kind), `${ev}: VS Code generates it from contributes`);
    // A "**" glob makes VS Code search the whole workspace at start-up.
    if (kind === 'workspaceContains') assert.ok(!arg.includes('**'), `${ev}: searches the whole workspace at start-up`);
    else if (kind === 'onWebviewPanel') assert.ok(['tuner.dashboard', 'tuner.playground'].includes(arg), `${ev}: not a panel with a serializer`);
    else assert.ok(['onLanguage', 'workspaceContains', 'onWebviewPanel'].includes(kind), `unexpected activation event ${ev}`);
  }
  assert.ok(pkg.activationEvents.includes('onLanguage:jsonl'));
  assert.deepEqual(pkg.contributes.languages.find((l) => l.id === 'jsonl')?.extensions, ['.jsonl']);
});

test('the extension runs where the data and the native binaries are; it has an icon and no made-up repository', () => {
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.ok(pkg.icon && fs.existsSync(path.join(root, pkg.icon)), `icon ${pkg.icon} exists`);
  const png = fs.readFileSync(path.join(root, pkg.icon));
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  assert.ok(png.readUInt32BE(16) >= 128 && png.readUInt32BE(20) >= 128, 'the Marketplace wants at least 128x128');
  assert.ok(pkg.repository === undefined || !/example\.invalid/.test(JSON.stringify(pkg.repository)), 'a real repository or none');
});

test('every "%key%" of the manifest has its English text in package.nls.json, and every text is used', () => {
  const manifest = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
  const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
  const used = [...manifest.matchAll(/"%([\w.-]+)%"/g)].map((m) => m[1]);
  assert.ok(used.includes('displayName') && used.includes('description'));
  for (const key of used) assert.ok(typeof nls[key] === 'string' && nls[key].length > 0, `package.nls.json lacks ${key}`);
  assert.deepEqual(Object.keys(nls).filter((k) => !used.includes(k)), [], 'package.nls.json keys nobody uses');
});

test('.vscodeignore re-includes only what exists, and the bundles ship no sources', () => {
  const lines = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8').split('\n').filter((l) => l.startsWith('!'));
  for (const line of lines) {
    const pattern = line.slice(1);
    // Built outputs (dist/, build/native/) appear after a build; the rest is in the repository.
    if (/^(dist|build)\//.test(pattern)) continue;
    const base = pattern.replace(/\/\*\*$/, '').replace(/\/\*\.\w+$/, '');
    assert.ok(fs.existsSync(path.join(root, base)), `.vscodeignore re-includes ${pattern}, which does not exist`);
  }
  assert.match(fs.readFileSync(path.join(root, 'scripts/bundle.mjs'), 'utf8'), /sourcesContent: false/);
  assert.match(fs.readFileSync(path.join(root, 'scripts/bundle-options.mjs'), 'utf8'), /sourcesContent: false/);
});

test('the settings contributed are exactly those config.ts reads', () => {
  const contributed = Object.keys(pkg.contributes.configuration.properties).sort();
  assert.deepEqual(contributed, Object.values(SETTING_KEYS).sort(), 'add new settings to src/vscode/setting-keys.ts and read them through config.ts');
});

test('tuner.lint.rules lists every lint rule with its default severity', () => {
  const rules = pkg.contributes.configuration.properties['tuner.lint.rules'].properties ?? {};
  assert.deepEqual(Object.keys(rules).sort(), RULES.map((r) => r.id).sort(), 'run `npm run gen:settings`');
  for (const r of RULES) {
    assert.equal(rules[r.id].default, r.defaultSeverity, `${r.id}: default severity (run \`npm run gen:settings\`)`);
    assert.deepEqual(rules[r.id].enum, ['error', 'warning', 'info', 'hint', 'off']);
  }
});

test('tuner.dataset.format offers auto and every format', () => {
  const setting = pkg.contributes.configuration.properties['tuner.dataset.format'];
  assert.deepEqual(setting.enum, ['auto', ...FORMATS.map((f) => f.id)], 'run `npm run gen:settings`');
  assert.equal(setting.default, 'auto');
});

test('the manifest points at the bundled entry point and the worker it starts', () => {
  assert.equal(pkg.main, './dist/extension.js');
  const bundle = fs.readFileSync(path.join(root, 'scripts/bundle-options.mjs'), 'utf8');
  assert.match(bundle, /'lint-worker': 'src\/core\/dataset\/lint-worker\.ts'/, 'jsonl-diagnostics.ts starts dist/lint-worker.js');
});

test('the README settings table lists every setting with its default', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  for (const [key, spec] of Object.entries(pkg.contributes.configuration.properties)) {
    const row = readme.find((l) => l.startsWith(`| \`${key}\` |`));
    assert.ok(row, `README.md: add a row for ${key} to the settings table`);
    assert.equal(row.split('|')[2].trim(), `\`${JSON.stringify(spec.default)?.replace(/^"(.*)"$/, '$1')}\``, `README.md: default of ${key}`);
  }
});

test('every diagnostic code links to an existing section of docs/lint-rules.md', () => {
  const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');
  const anchors = new Set(fs.readFileSync(path.join(root, RULE_DOCS_PATH), 'utf8').split('\n')
    .filter((l) => /^#{1,6} /.test(l)).map((l) => slug(l.replace(/^#+ /, ''))));
  for (const r of RULES) assert.ok(anchors.has(ruleDocsAnchor(r.code)), `${RULE_DOCS_PATH} has no heading for #${ruleDocsAnchor(r.code)}`);
});

test('the .vsix includes the files the manifest and the extension load at run time', () => {
  const ignore = fs.readFileSync(path.join(root, '.vscodeignore'), 'utf8');
  const contributed = [
    ...pkg.contributes.languages.map((l) => l.configuration),
    ...(pkg.contributes.jsonValidation ?? []).map((j) => j.url),
  ].filter((f): f is string => !!f && !/^https?:/.test(f)).map((f) => f.replace(/^\.\//, ''));
  const included = (file: string) => ignore.split('\n').some((line) => line === `!${file}`
    || (line.startsWith('!') && line.endsWith('/**') && file.startsWith(line.slice(1, -2)))
    || (line.startsWith('!') && line.endsWith('/*.json') && path.dirname(file) === line.slice(1, -7) && file.endsWith('.json')));
  for (const file of ['package.json', 'dist/extension.js', 'dist/lint-worker.js', RULE_DOCS_PATH, ...contributed]) {
    assert.ok(included(file), `.vscodeignore must re-include ${file} (add a "!${file}" line)`);
  }
});

test('the README command table lists every contributed command', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  for (const c of pkg.contributes.commands) {
    assert.ok(readme.some((l) => l.startsWith(`| ${c.title} |`)), `README.md: add a row "| ${c.title} | what it does |" to the command table`);
  }
});
