// Talks to the preview worker: one worker for the session, requests matched to answers by id.
import { Worker } from 'node:worker_threads';
import type { ResolvedArgs } from '../args/fields';
import type { PreviewRequest, PreviewResponse } from './preview-worker';
import * as l10n from '@vscode/l10n';
import { l10nBundle } from '../l10n-bundle';

export class PreviewClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (r: PreviewResponse) => void>();

  constructor(private readonly workerPath: string) {}

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.workerPath, { workerData: { l10n: l10nBundle() } });
    w.on('message', (r: PreviewResponse) => {
      this.pending.get(r.id)?.(r);
      this.pending.delete(r.id);
    });
    const fail = (message: string) => {
      for (const [id, resolve] of this.pending) resolve({ id, error: message });
      this.pending.clear();
      this.worker = undefined;
    };
    w.on('error', (e) => fail(l10n.t('the preview worker failed: {0}', e.message)));
    w.on('exit', (code) => fail(l10n.t('the preview worker stopped (exit code {0})', code)));
    w.unref();
    this.worker = w;
    return w;
  }

  preview(argsFile: string, args: ResolvedArgs, line: string, workspace?: string): Promise<PreviewResponse> {
    const id = this.nextId++;
    const req: PreviewRequest = { id, argsFile, args, line, workspace };
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.start().postMessage(req);
    });
  }

  dispose(): void {
    void this.worker?.terminate();
    this.worker = undefined;
  }
}
