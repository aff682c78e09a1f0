// Every text the user reads can be translated: the manifest's texts are "%key%"s with their
// English in package.nls.json (scripts/nls-manifest.mjs moves them), and every vscode.l10n.t
// message of the sources is in l10n/bundle.l10n.json, the bundle VS Code loads (package.json
// "l10n"), as @vscode/l10n-dev extracts it (`npm run gen:l10n` after changing a message).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
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
  // the extension's own sources, src/core's (@vscode/l10n) and the webviews' (npm run gen:l10n reads the same folders)
  const files = ['src', 'webview'].flatMap((dir) => fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f)));
  const extracted = await getL10nJson(files.map((f) => ({ extension: '.ts', contents: fs.readFileSync(path.join(ROOT, f), 'utf8') })));
  const bundle = readJson('l10n/bundle.l10n.json');
  const missing = Object.keys(extracted).filter((k) => !(k in bundle));
  const unused = Object.keys(bundle).filter((k) => !(k in extracted));
  assert.deepEqual({ missing, unused }, { missing: [], unused: [] }, 'l10n/bundle.l10n.json is stale: run `npm run gen:l10n`');
  assert.ok(Object.keys(extracted).includes('Tuner: {0} failed: {1}'), 'the error every command reports is translatable');
  for (const core of ['Blank line: JSON lines files have one record per line and no empty lines.', 'ARGS.json has {0} errors:\n{1}', 'Given up for speed: {0}.']) {
    assert.ok(core in bundle, `src/core's message is in the bundle: ${core}`);
  }
});

// What src/core, the debug adapter and the webviews compose goes through @vscode/l10n's l10n.t
// (l10n-bundle.ts hands it the display language), the rest of src/vscode through vscode.l10n.t:
// a prose literal left outside them would stay English. scripts/l10n-literals.mjs finds them the
// way it found the ones it wrapped; prose that is not for the user (a model's prompt, a Jinja or
// Go template, a command line, a log line) is listed in scripts/l10n-not-user-facing.json.
const LOCALISED = (file: string) => file.startsWith('src/core/') || file.startsWith('src/vscode/') || file.startsWith('webview/');

test('the text the extension, src/core, the debug adapter and the webviews compose is passed through l10n.t', async () => {
  const { proseLiterals, notUserFacing } = (await esmImport(path.join(ROOT, 'scripts/l10n-literals.mjs'))) as {
    proseLiterals(file: string): { found: { text: string; line: number }[] };
    notUserFacing(): Record<string, string[]>;
  };
  const skip = notUserFacing();
  const files = ['src', 'webview']
    .flatMap((dir) => fs.readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' }).map((f) => `${dir}/${f.split(path.sep).join('/')}`))
    .filter((f) => f.endsWith('.ts') && LOCALISED(f));
  assert.ok(files.length > 100, `${files.length} files`);
  const left = files.flatMap((f) => proseLiterals(path.join(ROOT, f)).found.filter((l) => !(skip[f] ?? []).includes(l.text)).map((l) => `${f}:${l.line}: ${l.text}`));
  assert.deepEqual(left, [], 'wrap these in l10n.t (or list text that is not for the user in scripts/l10n-not-user-facing.json)');
  // the check itself sees what it is for
  const probe = path.join(os.tmpdir(), `l10n-probe-${process.pid}.ts`);
  fs.writeFileSync(probe, "import * as l10n from '@vscode/l10n';\nexport const f = (n: number) => [`Found ${n} records`, l10n.t('Found {0} records', n), 'Remove the line'];\n");
  try {
    assert.deepEqual(proseLiterals(probe).found.map((l) => l.text), ['Found   records', 'Remove the line']);
  } finally {
    fs.rmSync(probe);
  }
});
