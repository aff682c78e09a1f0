// Acting on the real workbench from inside the extension host: run-host.mjs drives the browser
// the workbench runs in, and answers requests this suite logs (see WORKBENCH_REQUEST there):
// typing into and clicking in a webview as a user would, and screenshots of the whole window.
// Under another launcher (run-electron) nothing answers: `available` is false.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { waitFor } from './helpers';

export type WorkbenchRequest =
  | { do: 'fill'; selector: string; text: string }
  | { do: 'click'; selector: string }
  | { do: 'press'; key: string }
  | { do: 'screenshot'; path: string };

export const workbenchDriverAvailable = process.env.TUNER_WORKBENCH_DRIVER === '1';

let seq = 0;

/** Has run-host.mjs carry out `req` on the workbench page; resolves when it is done. */
export async function workbench(req: WorkbenchRequest, timeoutMs = 30_000): Promise<void> {
  if (!workbenchDriverAvailable) throw new Error('no workbench driver: run the suite with test/integration/run-host.mjs');
  const done = path.join(os.tmpdir(), `tuner-workbench-${process.pid}-${++seq}.json`);
  console.log(`tuner-workbench ${JSON.stringify({ ...req, done })}`);
  const answer = await waitFor(`the workbench driver to ${req.do}`, () => fs.existsSync(done) && (JSON.parse(fs.readFileSync(done, 'utf8')) as { ok?: true; error?: string }), timeoutMs);
  fs.rmSync(done, { force: true });
  if (answer.error) throw new Error(`workbench ${req.do} ${JSON.stringify(req)}: ${answer.error}`);
}

/** The text box of the quick input while it shows `title`. */
export const quickInput = (title: string) => `.quick-input-widget:has-text(${JSON.stringify(title)}) .quick-input-box input`;

/** Answers the quick input showing `title` as a user would: types `text`, then Enter. */
export async function answerQuickInput(title: string, text: string): Promise<void> {
  await workbench({ do: 'fill', selector: quickInput(title), text });
  await workbench({ do: 'press', key: 'Enter' });
}
