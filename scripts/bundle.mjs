// Bundles the extension (and its worker entry points) into dist/ with esbuild, so the .vsix
// ships a few files instead of node_modules. `vscode` is provided by the host.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = {
  extension: 'src/extension.ts',
  'lint-worker': 'src/core/dataset/lint-worker.ts',
};
const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, f]) => existsSync(f)));

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  sourcemap: true,
  logLevel: 'warning',
});
