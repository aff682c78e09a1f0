// Second launcher for the same suite, for machines with internet access: @vscode/test-electron
// downloads a VS Code build and runs the suite in its (desktop) extension host. The offline
// launcher, used by `npm test` and CI, is run-host.mjs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const root = path.resolve(__dirname, '../../..');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-electron-'));
  const workspace = path.join(tmp, 'workspace');
  fs.cpSync(path.join(root, 'test/integration/workspace'), workspace, { recursive: true });
  // Same extensions as the offline launcher: a fresh folder holding only the test helpers
  // (instead of --disable-extensions, which would disable those too).
  const extensions = path.join(tmp, 'extensions');
  fs.mkdirSync(extensions, { recursive: true });
  const chatVendor = path.join(root, 'test/integration/chat-model-vendor');
  if (fs.existsSync(chatVendor)) fs.cpSync(chatVendor, path.join(extensions, 'tuner-tests.tuner-test-chat-model-0.0.1'), { recursive: true });
  try {
    await runTests({
      extensionDevelopmentPath: root,
      extensionTestsPath: path.join(root, 'out/test/integration/suite/index'),
      launchArgs: [workspace, '--extensions-dir', extensions, '--disable-workspace-trust', '--skip-welcome', '--user-data-dir', path.join(tmp, 'user-data')],
    });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
