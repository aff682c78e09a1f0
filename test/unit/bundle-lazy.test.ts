// What loading dist/extension.js brings in: the bundle the extension host parses and runs at
// activation holds none of the modules kept for first use (scripts/bundle-options.mjs
// lazyModules: the openai SDK, @huggingface/jinja, @huggingface/tokenizers, the debug adapter);
// it requires each of them as its own bundle instead, and reads vscode and node:fs/path/os once.
// The real host checks the same at run time (test/integration/suite/activation.test.ts).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import type { BuildOptions, Metafile } from 'esbuild';
import { build } from 'esbuild';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const esmImport = new Function('s', 'return import(s)') as (specifier: string) => Promise<Record<string, unknown>>;

/** The heavy packages and sources that must stay out of the extension's own bundle. */
const HEAVY = [/node_modules\/openai\//, /node_modules\/@huggingface\/jinja\//, /node_modules\/@huggingface\/tokenizers\//, /node_modules\/@vscode\/debugadapter\//, /^src\/vscode\/debug-adapter\.ts$/,
  // the dataset workbench's readers and cleaners: bundles of their own, loaded by their commands
  /node_modules\/(hyparquet|hyparquet-compressors|apache-arrow|unpdf|mammoth|papaparse|html-to-text|franc-min)\//];

test('dist/extension.js holds none of the lazily loaded modules and requires each as its own bundle', async () => {
  const options = (await esmImport(path.join(REPO_ROOT, 'scripts/bundle-options.mjs'))) as { nodeBuildOptions(): BuildOptions; lazyModules: Record<string, string> };
  const base = options.nodeBuildOptions();
  const result = await build({ ...base, entryPoints: { extension: 'src/extension.ts' }, write: false, metafile: true, sourcemap: false, footer: undefined, banner: undefined });
  const meta = result.metafile as Metafile;
  const inputs = Object.keys(meta.inputs);
  assert.ok(inputs.some((f) => f === 'src/vscode/debug-config.ts'), `the extension's sources are bundled: ${inputs.length} inputs`);
  assert.deepEqual(inputs.filter((f) => HEAVY.some((h) => h.test(f))), [], 'bundled into dist/extension.js although loaded on first use');
  const output = Object.values(meta.outputs).find((o) => o.entryPoint === 'src/extension.ts')!;
  const external = output.imports.filter((i) => i.external).map((i) => i.path);
  for (const name of ['openai-sdk', 'jinja', 'hf-tokenizers', 'debug-adapter']) {
    assert.ok(name in options.lazyModules, `${name} is a lazy module`);
    assert.ok(external.includes(`./${name}.js`), `dist/extension.js requires ./${name}.js at run time: ${external.join(', ')}`);
  }
  // vscode and the Node modules every file uses: one __toESM each, not one per importing module.
  const code = result.outputFiles!.find((f) => f.path.endsWith('extension.js'))!.text;
  for (const mod of ['vscode', 'node:fs', 'node:path']) {
    assert.equal(code.split(`__toESM(require("${mod}"))`).length - 1, 1, `${mod} is read once`);
  }
});
