// The one test entry both launchers use (run-host.mjs: code-server offline; run-electron.ts:
// @vscode/test-electron with a downloaded VS Code). The extension host calls run() and reads
// the outcome from the returned promise.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, grep: process.env.TUNER_TEST_GREP });
  // This suite, then the security suite's real-host part (out/test/security/host).
  for (const dir of [__dirname, path.join(__dirname, '..', '..', 'security', 'host')]) {
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).sort()) {
      if (file.endsWith('.test.js')) mocha.addFile(path.join(dir, file));
    }
  }
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => {
      const passed = runner.stats?.passes ?? 0;
      console.log(`${passed} passed, ${failures} failed`);
      if (failures > 0) reject(new Error(`${failures} of ${passed + failures} integration tests failed`));
      else if (passed === 0) reject(new Error('no integration test ran (check TUNER_TEST_GREP)'));
      else resolve();
    });
  });
}
