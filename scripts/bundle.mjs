// Bundles the extension (and its worker entry points) into dist/ with esbuild, so the .vsix
// ships a few files instead of node_modules. `vscode` is provided by the host.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = {
  extension: 'src/extension.ts',
  'lint-worker': 'src/core/dataset/lint-worker.ts',
  'prepare-worker': 'src/core/dataset/prepare-worker.ts',
  'preview-worker': 'src/core/dataset/preview-worker.ts',
  // The inference child process (forked by src/core/engine/infer-client.ts; loads the addon).
  'infer-worker': 'src/core/infer/worker-main.ts',
  // The openai package, required by the planner's OpenAI backend on first use (half the code).
  'openai-sdk': 'src/core/planner/openai-sdk.ts',
};

/** Leaves `require('./openai-sdk')` to run time: it finds dist/openai-sdk.js beside the bundle. */
const lazyOpenAiSdk = {
  name: 'lazy-openai-sdk',
  setup(b) {
    b.onResolve({ filter: /^\.\/openai-sdk$/ }, (args) => (args.importer.endsWith('openai-backend.ts') ? { path: './openai-sdk.js', external: true } : undefined));
  },
};
const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, f]) => existsSync(f)));

// Source maps name files and lines for stack traces; the sources themselves stay out of the
// .vsix (sourcesContent: false), as .vscodeignore promises.
await build({
  entryPoints,
  outdir: 'dist',
  // The extension reports how long loading its bundle and activating took (src/extension.ts).
  banner: { js: 'var __tunerLoadStart = typeof performance === "object" ? performance.now() : undefined;' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode'],
  // jsonc-parser's default (UMD) entry requires its parts at run time, which a bundle cannot
  // follow; its ES module entry bundles cleanly.
  mainFields: ['module', 'main'],
  sourcemap: true,
  sourcesContent: false,
  plugins: [lazyOpenAiSdk],
  logLevel: 'warning',
});

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
