// The inference worker process (bundled as dist/infer-worker.js; out/src/core/infer/worker-main.js
// in tests). The extension forks it so that the native engine runs outside the extension host:
// a native fault or an out-of-memory ends this process only. It also runs by hand:
//   node dist/infer-worker.js   then type request lines (docs/inference-protocol.md).
// stdout carries protocol events only; anything else a library prints goes to stderr.
import * as readline from 'node:readline';

import { loadAddon } from '../engine/addon';
import type { InferAddon } from '../engine/infer-addon';
import { errorEvent } from './errors';
import type { EngineProbe } from './model-slot';
import { InferenceServer } from './server';
import { useL10nBundleFromEnv } from '../l10n-bundle';

function probeEngine(): EngineProbe {
  try {
    return { addon: loadAddon() as ReturnType<typeof loadAddon> & Partial<InferAddon> };
  } catch (e) {
    return { loadError: (e as Error).message };
  }
}

function main(): void {
  useL10nBundleFromEnv();
  // Keep stdout for events: a stray console.log would be a protocol error for the reader.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;

  const server = new InferenceServer((line) => process.stdout.write(line), probeEngine());
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    // Exit once the last events are flushed (stdout to a pipe is asynchronous off Linux).
    process.stdout.write('', () => process.exit(code));
  };
  const stop = (): void => {
    void server.shutdown().then(() => exit(0), () => exit(1));
  };
  // A closed stdin ends the requests, not the work: `cat requests.jsonl | node infer-worker.js` runs them all.
  const drain = (): void => {
    void server.drain().then(() => exit(0), () => exit(1));
  };

  process.stdout.on('error', () => process.exit(1)); // the reader is gone: nobody to serve
  const fatal = (e: unknown): void => {
    server.emit(errorEvent(e, null));
    exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop); // Ctrl-C in a terminal reaches the whole process group
  // Forked with an IPC channel: its closing means the parent is gone.
  process.on('disconnect', stop);

  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => server.onLine(line));
  lines.on('close', drain);
  server.sendReady();
}

main();
