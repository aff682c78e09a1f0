// The dashboard page: a strict Content Security Policy (nothing but the bundled script with this
// load's nonce, the bundled stylesheet and images from the webview's own origin). No `vscode`
// import, so the browser tests render exactly this page.
import { randomBytes } from 'node:crypto';
import * as l10n from '@vscode/l10n';

export interface DashboardPageOptions {
  /** webview.cspSource: the origin asWebviewUri resources come from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  nonce?: string;
  /** The page title (default "Tuner run"); the playground uses the same page shell. */
  title?: string;
  /** The display language's messages (l10n-bundle.ts), for webview/l10n.ts; none: English. */
  l10n?: Record<string, unknown>;
  /** The display language (vscode.env.language), for <html lang>. */
  lang?: string;
}

/** JSON that cannot end the <script> element it sits in, whatever its strings hold. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function dashboardHtml(o: DashboardPageOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    // The UI toolkit's components style themselves through constructable stylesheets; its one
    // probe <style> element takes the nonce from the csp-nonce meta tag below.
    `style-src ${o.cspSource} 'nonce-${nonce}'`,
    `font-src ${o.cspSource}`,
    `img-src ${o.cspSource} data:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="${o.lang ?? 'en'}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${o.styleUri}">
<title>${o.title ?? l10n.t('Tuner run')}</title>
</head>
<body>
<div id="root"></div>
${o.l10n ? `<script type="application/json" id="tuner-l10n">${scriptJson(o.l10n)}</script>\n` : ''}<script nonce="${nonce}" src="${o.scriptUri}"></script>
</body>
</html>
`;
}
