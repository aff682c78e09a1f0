// Every text the user reads can be translated: the manifest's texts are "%key%"s with their
// English in package.nls.json (scripts/nls-manifest.mjs moves them), and every vscode.l10n.t
// message of the sources is in l10n/bundle.l10n.json, the bundle VS Code loads (package.json
// "l10n"), as @vscode/l10n-dev extracts it (`npm run gen:l10n` after changing a message).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { getL10nJson } from '@vscode/l10n-dev';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const esmImport = new Function('s', 'return import(s)') as (specifier: string) => Promise<Record<string, unknown>>;
const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, unknown>;

test('the manifest holds no user-facing text of its own: each is a %key% of package.nls.json', async () => {
  const { literalTexts } = (await esmImport(path.join(ROOT, 'scripts/nls-manifest.mjs'))) as { literalTexts(pkg: unknown): string[] };
  const pkg = readJson('package.json');
  assert.deepEqual(literalTexts(pkg), [], 'texts left in package.json: run `npm run gen:nls`');
  const nls = readJson('package.nls.json');
  const keys = [...fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8').matchAll(/"%([\w.-]+)%"/g)].map((m) => m[1]);
  assert.ok(keys.length > 100, `${keys.length} texts`);
  for (const key of keys) assert.equal(typeof nls[key], 'string', `package.nls.json has no text for %${key}%`);
  assert.equal(nls['command.startRun'], 'Fine-tune: Start');
});

test('l10n/bundle.l10n.json holds exactly the vscode.l10n.t messages of the sources', async () => {
  const pkg = readJson('package.json');
  assert.equal(pkg.l10n, './l10n', 'package.json "l10n" points VS Code at the bundle');
  assert.match(fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8'), /^!l10n\/\*\*$/m, 'the .vsix ships the bundle');
  const files = fs.readdirSync(path.join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  const extracted = await getL10nJson(files.map((f) => ({ extension: '.ts', contents: fs.readFileSync(path.join(ROOT, 'src', f), 'utf8') })));
  const bundle = readJson('l10n/bundle.l10n.json');
  const missing = Object.keys(extracted).filter((k) => !(k in bundle));
  const unused = Object.keys(bundle).filter((k) => !(k in extracted));
  assert.deepEqual({ missing, unused }, { missing: [], unused: [] }, 'l10n/bundle.l10n.json is stale: run `npm run gen:l10n`');
  assert.ok(Object.keys(extracted).includes('Tuner: {0} failed: {1}'), 'the error every command reports is translatable');
});
