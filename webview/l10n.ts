// The panel's text in VS Code's display language: the extension writes its bundle of translated
// messages into the page (dashboard-html.ts, a JSON data block the CSP lets no one run), and this
// module, imported before any other, hands it to @vscode/l10n, so every l10n.t of the panel and
// of the src/core code bundled into it (series names, sampling limits) translates.
import * as l10n from '@vscode/l10n';

declare const document: { getElementById(id: string): { textContent: string | null } | null };

const data = document.getElementById('tuner-l10n')?.textContent;
if (data) l10n.config({ contents: JSON.parse(data) as Record<string, string> });
