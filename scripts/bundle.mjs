// Bundles the extension (and its worker entry points) into dist/ with esbuild, so the .vsix
// ships a few files instead of node_modules. `vscode` is provided by the host.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { nodeBuildOptions } from './bundle-options.mjs';

await build(nodeBuildOptions());

// Webview panels: browser bundles (chart.js and the UI toolkit included, nothing loaded from the
// network) into dist/webview, the only folder a panel may load from (localResourceRoots).
const webviews = { dashboard: 'webview/dashboard/main.ts', playground: 'webview/playground/main.ts' };
await build({
  entryPoints: Object.fromEntries(Object.entries(webviews).filter(([, f]) => existsSync(f))),
  outdir: 'dist/webview',
  bundle: true,
  platform: 'browser',
  target: 'chrome120',
  format: 'iife',
  sourcemap: true,
  sourcesContent: false,
  minify: true,
  logLevel: 'warning',
});
