// The set-up every webview browser test shares: the page the extension serves (same HTML
// builder, same CSP, same bundle from dist/webview) on a local server, Debian chromium driven by
// playwright-core (offline), and a page with a stand-in for the webview host API that records
// what the page sends, keeps its state, and the dark theme's variables VS Code sets on <html>.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

import { dashboardHtml } from '../../src/vscode/dashboard-html';
import { ensureDebianPackages } from '../ensure-debian-packages';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const DIST = path.join(ROOT, 'dist', 'webview');
export const ARTIFACTS = path.join(ROOT, 'test', 'e2e', 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Page-side code runs in the browser; these name its globals for the type checker only.
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The Dark+ theme's colours for the variables the panels use. */
const DARK_THEME: Record<string, string> = {
  '--vscode-foreground': '#cccccc', '--vscode-editor-background': '#1e1e1e', '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-orange': '#d18616', '--vscode-charts-purple': '#b180d7', '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-editorWidget-border': '#454545', '--vscode-badge-background': '#4d4d4d', '--vscode-badge-foreground': '#ffffff',
  '--vscode-font-family': 'sans-serif', '--vscode-font-size': '13px', '--vscode-editor-font-family': 'monospace',
  '--vscode-errorForeground': '#f48771', '--vscode-button-background': '#0e639c', '--vscode-button-foreground': '#ffffff',
  '--vscode-textBlockQuote-background': '#2a2d2e', '--vscode-diffEditor-insertedTextBackground': 'rgba(156, 204, 44, 0.25)',
  '--vscode-diffEditor-removedTextBackground': 'rgba(255, 0, 0, 0.25)', '--vscode-inputValidation-warningBackground': '#352a05',
  '--vscode-inputValidation-errorBackground': '#5a1d1d', '--vscode-editorWarning-foreground': '#cca700',
};

export interface WebviewServer {
  browser: Browser;
  /** Opens the panel with `state` as its saved webview state; `problems` collects console errors, CSP refusals and page errors. */
  open(state: unknown, viewport: { width: number; height: number }): Promise<{ page: Page; problems: string[] }>;
  close(): Promise<void>;
}

/** Serves the `bundle` panel (dist/webview/<bundle>.js + .css) and starts chromium. */
/** `l10n`: the display language's messages the extension writes into the page (none: English). */
export async function serveWebview(bundle: 'dashboard' | 'playground', title?: string, l10n?: Record<string, string>): Promise<WebviewServer> {
  assert.ok(fs.existsSync(path.join(DIST, `${bundle}.js`)), `dist/webview/${bundle}.js missing: run npm run build:ts`);
  if (!process.env.CHROMIUM_PATH) ensureDebianPackages(['chromium']);
  let base = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(dashboardHtml({ cspSource: base, scriptUri: `${base}/dist/${bundle}.js`, styleUri: `${base}/dist/${bundle}.css`, ...(title ? { title } : {}), ...(l10n ? { l10n, lang: 'qps-ploc' } : {}) }));
      return;
    }
    const file = path.join(DIST, path.basename(url.pathname));
    if (!url.pathname.startsWith('/dist/') || !fs.existsSync(file)) {
      res.statusCode = url.pathname === '/favicon.ico' ? 204 : 404;
      res.end();
      return;
    }
    res.setHeader('content-type', file.endsWith('.css') ? 'text/css' : 'text/javascript');
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    browser,
    async open(state, viewport) {
      const page = await browser.newPage({ viewport });
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || /Content.Security.Policy|Refused/i.test(m.text())) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.addInitScript(({ initial, theme }) => {
        const w = window as { sent: unknown[]; state: unknown; acquireVsCodeApi: () => unknown };
        w.sent = [];
        w.state = initial ?? undefined;
        // Set on <html> as VS Code does in every webview (CSSOM, allowed by the CSP).
        document.addEventListener('DOMContentLoaded', () => {
          for (const [k, v] of Object.entries(theme)) document.documentElement.style.setProperty(k, v);
        });
        w.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => w.sent.push(m), getState: () => w.state, setState: (s: unknown) => (w.state = s) });
      }, { initial: state ?? null, theme: DARK_THEME });
      await page.goto(base);
      await page.waitForFunction(() => (window as { sent: { type: string }[] }).sent.some((m) => m.type === 'ready'));
      return { page, problems };
    },
    async close() {
      await browser.close();
      server.close();
    },
  };
}
