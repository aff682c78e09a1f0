// The playground in the display language: with the pseudo-localised bundle written into the page
// (test/unit/pseudo-l10n.ts), its title, buttons, side facts and hints come out translated while
// the facts keep the names tests and styles find them by. Screenshot:
// test/e2e/artifacts/playground-pseudo-l10n.png.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { HostToPlayground, ModelChoice } from '../../webview/protocol';
import { pseudo, pseudoBundle } from '../unit/pseudo-l10n';
import { ARTIFACTS, serveWebview, type WebviewServer } from './webview-page';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

let web: WebviewServer;
before(async () => {
  web = await serveWebview('playground', 'Tuner Playground', pseudoBundle());
});
after(async () => {
  await web?.close();
});

const MODEL: ModelChoice = { id: 'model:/w/tiny/model', kind: 'model', label: 'tiny/model', description: '18.1k params', group: 'Workspace models', path: '/w/tiny/model', adapter: false };

test('with a pseudo-localised bundle the playground shows its own text translated', async () => {
  const { page, problems } = await web.open(undefined, { width: 1280, height: 900 });
  const post = (m: HostToPlayground) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
  await post({ v: 1, type: 'init', models: [MODEL], exports: [], history: [], sides: [{ side: 0, phase: 'empty' }, { side: 1, phase: 'empty' }], workspace: true, trusted: true });
  await post({
    v: 1,
    type: 'side',
    status: { side: 0, phase: 'ready', modelId: MODEL.id, quant: 'q4_0', loaded: { modelId: MODEL.id, quant: 'q4_0', loadMs: 1254.7, residentBytes: 276_543_210, weightBytes: 41_234_567, kvCacheBytes: 16_777_216, contextLength: 4096, kernel: 'q4_0 avx2', architecture: 'LlamaForCausalLM', chatTemplate: 'model' } },
  });
  assert.equal((await page.textContent('h1'))?.trim(), pseudo('Playground'));
  assert.equal((await page.textContent('#send'))?.trim(), pseudo('Send'));
  assert.equal((await page.textContent('[data-fact="context"]'))?.trim(), pseudo('{0} tokens').replace('{0}', '4,096'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'playground-pseudo-l10n.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
