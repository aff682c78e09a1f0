// The one test entry both launchers use (run-host.mjs: code-server offline; run-electron.ts:
// @vscode/test-electron with a downloaded VS Code). The extension host calls run() and reads
// the outcome from the returned promise. A test may restart the extension host
// (host-restart.ts): this entry then runs again in the new host, runs only the tests the request
// names, and reports the results of both hosts together.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { restartIfRequested, resumeAfterRestart, type HostResults } from './host-restart';

export function run(): Promise<void> {
  const resumed = resumeAfterRestart();
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, grep: resumed?.grep ?? process.env.TUNER_TEST_GREP });
  // This suite, then the security suite's real-host part (out/test/security/host); suites that
  // restart the host (*.restart.test.js) last, so the rest runs before any restart.
  const files: string[] = [];
  for (const dir of [__dirname, path.join(__dirname, '..', '..', 'security', 'host')]) {
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).sort()) {
      if (file.endsWith('.test.js')) files.push(path.join(dir, file));
    }
  }
  const restarting = (f: string) => f.endsWith('.restart.test.js');
  for (const f of [...files.filter((f) => !restarting(f)), ...files.filter(restarting)]) mocha.addFile(f);
  return new Promise((resolve, reject) => {
    // The reporter's list of failures can be cut off when a test restarts the host right after
    // it: each failure is kept with the results and printed again by the last host.
    const failed: string[] = [];
    const runner = mocha.run((failures) => {
      const passed = runner.stats?.passes ?? 0;
      void (async () => {
        if (await restartIfRequested({ passes: passed, failures, failed })) return; // this host ends here
        const all: HostResults[] = [...(resumed?.earlier ?? []), { passes: passed, failures, failed }];
        const total = all.reduce((t, r) => ({ passes: t.passes + r.passes, failures: t.failures + r.failures }), { passes: 0, failures: 0 });
        const hosts = all.length > 1 ? ` in ${all.length} extension hosts` : '';
        for (const f of all.flatMap((r) => r.failed ?? [])) console.log(`failed: ${f}`);
        console.log(`${total.passes} passed, ${total.failures} failed${hosts}`);
        if (total.failures > 0) reject(new Error(`${total.failures} of ${total.passes + total.failures} integration tests failed${hosts}`));
        else if (total.passes === 0) reject(new Error('no integration test ran (check TUNER_TEST_GREP)'));
        else resolve();
      })().catch(reject);
    });
    runner.on('fail', (test, err: Error) => failed.push(`${test.fullTitle()}: ${err.stack ?? err.message}`));
  });
}
