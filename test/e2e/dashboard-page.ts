// What the dashboard's browser tests share: recorded trainer events from fixtures/, posting a
// host message to the page, the charts' data as the page holds it, and whether a section is hidden.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before } from 'node:test';
import type { Page } from 'playwright-core';
import { parseTrainerEvent, type TrainerEvent } from '../../src/core/engine/protocol';
import type { HostToDashboard } from '../../webview/protocol';
import { ROOT, serveWebview, type WebviewServer } from './webview-page';

/* eslint-disable @typescript-eslint/no-explicit-any */
declare const window: any;
declare const document: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The events of test/e2e/fixtures/<name> (JSON lines), each checked by the protocol's parser. */
export const readEvents = (name: string): TrainerEvent[] =>
  fs.readFileSync(path.join(ROOT, 'test', 'e2e', 'fixtures', name), 'utf8').split('\n').filter((l) => l.trim()).map(parseTrainerEvent);
export const post = (page: Page, m: HostToDashboard) => page.evaluate((msg) => window.postMessage(msg, '*'), m);
export type ChartData = Record<string, { label: string; points: { x: number; y: number }[] }[]>;
export const chartData = (page: Page) => page.evaluate(() => window.tunerDashboard.chartData()) as Promise<ChartData>;
export const hidden = (page: Page, id: string) => page.evaluate((i) => document.getElementById(i).hidden, id) as Promise<boolean>;

/** The dashboard bundle served for a test file's tests: started before them, closed after. */
export function dashboardServer(): () => WebviewServer {
  let web: WebviewServer | undefined;
  before(async () => {
    web = await serveWebview('dashboard');
  });
  after(async () => {
    await web?.close();
  });
  return () => web!;
}
