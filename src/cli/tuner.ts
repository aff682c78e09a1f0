#!/usr/bin/env node
// `tuner` / `npm start`: Tuner from the command line. Runs the fine-tuning pipeline
// (src/core/pipeline) that the extension runs, printing progress, the loss of every step, the
// time of each stage and the answers before and after. Exit status: 0 done, 1 failed, 2 bad
// options; Ctrl-C stops the trainer (it saves a checkpoint) and exits 130.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { OutsideWorkspaceError, realPathOf } from '../core/dataset/prepare-paths';
import { findPackageRoot } from '../core/engine/addon';
import { hasOverrides, writeArgsWithOverrides } from '../core/pipeline/args-overrides';
import { PipelineError, runPipeline } from '../core/pipeline/pipeline';
import { parseCliOptions, USAGE, UsageError, type CliOptions } from './options';
import { consoleReporter, formatSummary } from './report';

const out = { write: (t: string) => void process.stdout.write(t), isTTY: process.stdout.isTTY };

/** `p` relative to the working folder when it lies inside it, else absolute. */
function shortPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

function packageRoot(): string {
  const root = findPackageRoot(__dirname);
  if (!root) throw new Error(`cannot find Tuner's package.json above ${__dirname}`);
  return root;
}

async function run(opts: CliOptions): Promise<number> {
  const root = packageRoot();
  const argsFile = path.resolve(opts.argsFile ?? path.join(root, 'samples', 'ARGS.json'));
  if (!fs.existsSync(argsFile)) throw new UsageError(`${argsFile} does not exist: give the path of an ARGS.json (\`tuner path/to/ARGS.json\`).`);
  const runsDir = path.resolve(opts.runsDir ?? path.join(path.dirname(argsFile), 'runs'));
  const effectiveArgs = hasOverrides(opts.overrides) ? writeArgsWithOverrides(argsFile, opts.overrides, path.join(runsDir, '.args')) : argsFile;
  // Compiled layout: out/src/cli/tuner.js beside out/src/core/{dataset,infer}/.
  const core = path.join(__dirname, '..', 'core');
  const controller = new AbortController();
  process.once('SIGINT', () => {
    out.write('\nStopping (the trainer saves a checkpoint)…\n');
    controller.abort();
  });
  out.write(`Tuner: fine-tuning with ${shortPath(argsFile)}${effectiveArgs !== argsFile ? ` + ${JSON.stringify(opts.overrides)}` : ''}\n\n`);
  const result = await runPipeline({
    argsFile: effectiveArgs,
    runsDir,
    prepareWorker: path.join(core, 'dataset', 'prepare-worker.js'),
    inferWorker: path.join(core, 'infer', 'worker-main.js'),
    prompts: opts.prompts,
    quant: opts.quant,
    gguf: opts.gguf,
    maxNewTokens: opts.maxNewTokens,
    threads: opts.overrides.threads,
    // Files named on the command line are the user's explicit choice, wherever they are.
    allowOutside: opts.overrides.data ? [realPathOf(path.resolve(opts.overrides.data))] : [],
    signal: controller.signal,
  }, consoleReporter(out));
  out.write(formatSummary(result, opts.quant, shortPath));
  if (opts.reportFile) fs.writeFileSync(opts.reportFile, JSON.stringify({ argsFile, ...result }, null, 2) + '\n');
  return 0;
}

async function main(argv: string[]): Promise<number> {
  let opts: CliOptions;
  try {
    opts = parseCliOptions(argv);
  } catch (e) {
    process.stderr.write(`tuner: ${(e as Error).message}\n`);
    return 2;
  }
  if (opts.command === 'help') {
    out.write(USAGE);
    return 0;
  }
  if (opts.command === 'version') {
    out.write(`${(JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version}\n`);
    return 0;
  }
  try {
    return await run(opts);
  } catch (e) {
    const err = e as Error;
    if (err.name === 'AbortError') return 130;
    if (err instanceof UsageError) {
      process.stderr.write(`tuner: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`\ntuner: ${err instanceof PipelineError ? `${err.stage} failed: ` : ''}${err.message}\n`);
    if (err instanceof PipelineError && err.cause instanceof OutsideWorkspaceError) {
      process.stderr.write(`The command line takes the folder above the runs folder (${err.cause.workspace}) as the workspace. A file given with --data is always allowed; or pass --runs DIR inside a folder that holds every file ARGS.json names.\n`);
    }
    return 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
