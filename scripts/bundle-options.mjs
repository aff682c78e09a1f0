// esbuild options of the Node bundles (the extension, its workers and the modules it loads on
// first use), shared by scripts/bundle.mjs and the test that checks what activation loads.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.dirname(import.meta.dirname);

// Bundles loaded on first use: a require() of one of these files from another bundle stays a
// require of its own bundle beside it (dist/<name>.js), so activation neither parses nor runs it
// (src/core/lazy/load.ts; test/unit/bundle-lazy.test.ts checks the split).
export const lazyModules = {
  // The openai package: the planner's OpenAI backend (half the code).
  'openai-sdk': 'src/core/planner/openai-sdk.ts',
  jinja: 'src/core/lazy/jinja.ts',
  'hf-tokenizers': 'src/core/lazy/hf-tokenizers.ts',
  // The debug adapter and @vscode/debugadapter: the first debug session.
  'debug-adapter': 'src/vscode/debug-adapter.ts',
  // The dataset importers (Parquet, Arrow, PDF, Word, CSV readers): the first Import Dataset….
  'workbench-import': 'src/core/workbench/import/index.ts',
};

export const nodeEntries = {
  extension: 'src/extension.ts',
  'lint-worker': 'src/core/dataset/lint-worker.ts',
  'prepare-worker': 'src/core/dataset/prepare-worker.ts',
  'preview-worker': 'src/core/dataset/preview-worker.ts',
  'clean-worker': 'src/core/workbench/clean/clean-worker.ts',
  // The dataset import's readers, off the extension host (src/core/workbench/import/import-client.ts).
  'import-worker': 'src/core/workbench/import/import-worker.ts',
  // The inference child process (forked by src/core/engine/infer-client.ts; loads the addon).
  'infer-worker': 'src/core/infer/worker-main.ts',
  ...lazyModules,
};

/** Leaves a relative import of a lazy module to run time, as a require of its own bundle. */
const lazyModuleImports = {
  name: 'lazy-modules',
  setup(b) {
    const byFile = new Map(Object.entries(lazyModules).map(([name, file]) => [path.resolve(root, file), name]));
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const target = path.resolve(args.resolveDir, args.path);
      const name = byFile.get(target) ?? byFile.get(`${target}.ts`);
      return name && byFile.get(args.importer) !== name ? { path: `./${name}.js`, external: true } : undefined;
    });
  },
};

/**
 * `import * as vscode from 'vscode'` bundles as `__toESM(require("vscode"))` in every module
 * that imports it: a fresh object with a getter per export (over 400 for vscode, a hundred for
 * node:fs), built while the extension loads. Each such module instead gets one ES module that
 * reads the host module once and re-exports its names, so loading costs one lookup per module.
 * vscode's names come from its typings; a Node module's are the ones our sources use (reading
 * every name would run Node's deprecation getters, fs.F_OK and others); a name missed is a build
 * error (logOverride below), never an undefined at run time.
 */
const sharedExternals = {
  name: 'shared-externals',
  setup(b) {
    const req = createRequire(import.meta.url);
    const vscodeNames = () => [...new Set([...readFileSync(req.resolve('@types/vscode/index.d.ts'), 'utf8')
      .matchAll(/^\s*export (?:namespace|class|enum|function|const|let) (\w+)/gm)].map((m) => m[1]))];
    const namesUsed = (mod) => {
      const used = new Set();
      for (const file of readdirSync(path.join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
        if (!file.endsWith('.ts')) continue;
        const text = readFileSync(path.join(root, 'src', file), 'utf8');
        const quoted = `'${mod}'`;
        for (const m of text.matchAll(new RegExp(`import \\* as (\\w+) from ${quoted}`, 'g'))) {
          for (const u of text.matchAll(new RegExp(`\\b${m[1]}\\.(\\w+)`, 'g'))) used.add(u[1]);
        }
        for (const m of text.matchAll(new RegExp(`import (?:type )?\\{([^}]*)\\} from ${quoted}`, 'g'))) {
          for (const n of m[1].split(',')) if (n.trim() && !n.trim().startsWith('type ')) used.add(n.trim().split(/\s+as\s+/)[0]);
        }
      }
      return [...used].filter((n) => n in req(mod)).sort();
    };
    const names = (mod) => (mod === 'vscode' ? vscodeNames() : namesUsed(mod));
    b.onResolve({ filter: /^(vscode|node:(fs|path|os))$/ }, (args) => (args.namespace === 'shared-external' ? { path: args.path, external: true } : { path: args.path, namespace: 'shared-external' }));
    b.onLoad({ filter: /.*/, namespace: 'shared-external' }, (args) => ({
      contents: `import * as m from ${JSON.stringify(args.path)};\nexport default m;\nexport const { ${names(args.path).join(', ')} } = m;\n`,
      loader: 'js',
    }));
  },
};

/**
 * Source maps name files and lines for stack traces; the sources themselves stay out of the
 * .vsix (sourcesContent: false), as .vscodeignore promises.
 */
export function nodeBuildOptions() {
  return {
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(nodeEntries).filter(([, f]) => existsSync(path.join(root, f)))),
    outdir: 'dist',
    // The extension reports how long loading its bundle and activating took (src/extension.ts).
    // (wall and CPU time: the CPU time of this thread does not grow while the machine is busy elsewhere).
    banner: { js: 'var __tunerLoadStart = typeof performance === "object" ? performance.now() : undefined, __tunerLoadCpu = process.cpuUsage();' },
    footer: { js: 'var __tunerLoadEnd = typeof performance === "object" ? performance.now() : undefined, __tunerLoadCpuEnd = process.cpuUsage(__tunerLoadCpu);' },
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
    plugins: [lazyModuleImports, sharedExternals],
    logLevel: 'warning',
    // A name a shared external does not re-export would be undefined at run time.
    logOverride: { 'import-is-undefined': 'error' },
  };
}
