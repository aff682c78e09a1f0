// Shared set-up of the playground tests outside VS Code: a workspace with a trained tiny run
// (the product's RunManager: real preparation, real tuner-train, real adapter and checkpoints),
// a wide model that never emits EOS (for Stop), and a PlaygroundController whose host records
// every message it posts.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { HostToPlayground } from '../../webview/protocol';
import { PlaygroundController, type PlaygroundDeps, type PlaygroundHost } from '../../src/core/playground/controller';
import type { ExportPlan, ExportResult } from '../../src/core/playground/export-job';
import type { HistoryEntry } from '../../src/core/playground/history';
import { writeOllamaModelfile } from '../../src/core/playground/ollama';
import { RunManager } from '../../src/core/run/run-manager';
import { RunStore } from '../../src/core/run/run-store';
import { makeTinyProject, PREPARE_WORKER, TINY_VOCAB, writeTokenizer } from '../unit/run/tiny-run';
import { writeTinyModel } from './tiny-model';
import { REPO_ROOT } from './trainer-fixtures';

export const WORKER = path.join(REPO_ROOT, 'out', 'src', 'core', 'infer', 'worker-main.js');
export const NATIVE_DIR = process.env.TUNER_NATIVE_BUILD_DIR ?? path.join(REPO_ROOT, 'build', 'native');

/** The tiny project trained for `steps` steps in `ws` (LoRA unless `args` says otherwise); returns the run id. */
export async function trainTinyRun(ws: string, steps: number, args: Record<string, unknown> = {}): Promise<string> {
  const argsFile = makeTinyProject(path.join(ws, 'tiny'), { args: { max_steps: steps, save_interval: steps / 2, learning_rate: 0.02, eval_split: 0.2, eval_interval: steps / 2, ...args } });
  const manager = new RunManager(RunStore.forWorkspace(ws), PREPARE_WORKER);
  const { session } = await manager.start(argsFile, { mode: 'free' });
  await session.exited;
  if (session.snapshot.status !== 'done') throw new Error(`the tiny run ended ${session.snapshot.status}: ${JSON.stringify(session.snapshot.error)}`);
  return session.record.id;
}

/**
 * A model wide enough that decoding takes milliseconds per token, whose config and tokenizer name
 * no EOS: it generates until stopped or out of tokens.
 */
export function writeEndlessModel(dir: string): string {
  writeTinyModel(dir, { vocab: TINY_VOCAB, hidden: 256, intermediate: 512, layers: 4, heads: 4, kvHeads: 2, maxPos: 4096 });
  writeTokenizer(dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  delete cfg.eos_token_id;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<s>', unk_token: '<unk>' }));
  return dir;
}

export class RecordingHost implements PlaygroundHost {
  readonly posted: HostToPlayground[] = [];
  history: HistoryEntry[] = [];
  clipboard = '';
  isTrusted = true;
  finished: { plan: ExportPlan; result: ExportResult }[] = [];
  revealed: string[] = [];
  logLines: string[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly ws: string | undefined) {}

  post(m: HostToPlayground): void {
    this.posted.push(m);
    for (const w of this.waiters.splice(0)) w();
  }
  workspaceDir = () => this.ws;
  trusted = () => this.isTrusted;
  readHistory = () => this.history;
  writeHistory = (h: HistoryEntry[]) => void (this.history = h);
  extraModelDirs = () => [];
  addModelDir(): void {}
  log = (m: string) => void this.logLines.push(m);
  copyToClipboard = async (t: string) => void (this.clipboard = t);
  revealPath = async (p: string) => void this.revealed.push(p);
  pickFolder = async () => undefined;
  manageTrust = async () => undefined;
  exportFinished = (plan: ExportPlan, result: ExportResult) => void this.finished.push({ plan, result });

  of<T extends HostToPlayground['type']>(type: T, from = 0): Extract<HostToPlayground, { type: T }>[] {
    return this.posted.slice(from).filter((m): m is Extract<HostToPlayground, { type: T }> => m.type === type);
  }

  /** Resolves when `probe` finds something in what was posted (checked on every post). */
  async waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = probe();
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last messages: ${JSON.stringify(this.posted.slice(-5)).slice(0, 1500)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }
}

export function controllerFor(host: RecordingHost, over: Partial<PlaygroundDeps> = {}): PlaygroundController {
  return new PlaygroundController(host, {
    workerPath: WORKER,
    exportBinary: () => path.join(NATIVE_DIR, 'tuner-export'),
    generateBinary: () => path.join(NATIVE_DIR, 'tuner-generate'),
    writeModelfile: writeOllamaModelfile,
    cacheDir: path.join(host.ws ?? '/nonexistent', '.no-hf-cache'),
    ...over,
  });
}

export const GREEDY = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repetition_penalty: 1, no_repeat_ngram_size: 0, seed: 1, max_new_tokens: 12, stop: [] as string[] };
