// The run dashboard panel: one webview per run, restored after a reload by its serializer. The
// panel sends the run's stored events once, then the new ones in batches while the run is live:
// a trainer on a tiny model makes 1,500 steps a second, and one message per event would queue
// up behind the page. A batch goes every FLUSH_MS, and at once when the run's state changes
// (paused, resumed, a checkpoint, the end), so a click on Pause shows as soon as the trainer
// confirms it. Every event reaches the charts. Controls from the page go to the run's session.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SampleEvent, TrainerEvent } from '../core/engine/protocol';
import { loadTokenizer, type ModelTokenizer } from '../core/model/tokenizer';
import type { RunRecord } from '../core/run/run-store';
import type { RunSnapshot } from '../core/run/run-state';
import { isLive } from '../core/run/run-state';
import { liveNotes, type LiveNotes } from '../core/run/live-notes';
import { parseDashboardMessage, WEBVIEW_PROTOCOL_VERSION, type DashboardState, type DashboardToHost, type HostToDashboard, type RunHeader, type SampleRow } from '../../webview/protocol';
import { l10nBundle } from '../core/l10n-bundle';
import { dashboardHtml } from './dashboard-html';
import { guard, log, reportError } from './output';
import type { RunController } from './run-controller';

export const DASHBOARD_VIEW_TYPE = 'tuner.dashboard';
const FLUSH_MS = 100;
/** Events that change what the header says beyond the numbers: sent without waiting. */
const STATE_EVENTS: ReadonlySet<TrainerEvent['type']> = new Set(['start', 'paused', 'resumed', 'checkpoint', 'done', 'error']);
const V = WEBVIEW_PROTOCOL_VERSION;

export function runHeader(record: RunRecord, s: RunSnapshot, live: boolean, notes?: LiveNotes): RunHeader {
  let model = s.start?.model.architecture ?? '';
  try {
    model = path.basename(record.plan().model_dir);
  } catch {
    // plan.json missing (preparation failed): keep the architecture name
  }
  return {
    id: record.id,
    model,
    method: s.start?.method ?? '',
    params: s.start?.params,
    trainableParams: s.start?.trainable_params,
    status: s.status,
    step: s.step,
    maxSteps: s.maxSteps,
    loss: s.loss,
    evalLoss: s.evalLoss,
    tokensPerS: s.tokensPerS,
    etaMs: s.etaMs,
    live: live && isLive(s.status),
    canResume: !(live && isLive(s.status)) && s.status !== 'done' && s.lastCheckpoint !== undefined,
    readOnly: live && isLive(s.status) && notes?.readOnly === true,
    notes: live && isLive(s.status) && notes?.notes.length ? notes.notes : undefined,
    error: s.error ? { message: s.error.message, hint: s.error.hint } : undefined,
  };
}

export class DashboardPanel implements vscode.Disposable {
  private static readonly open = new Map<string, DashboardPanel>();
  private pending: TrainerEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private ready = false;
  private unfollow: (() => void) | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** Messages posted to the page, newest last (read by the integration tests). */
  readonly posted: HostToDashboard[] = [];

  static show(ctx: vscode.ExtensionContext, runs: RunController, runId: string): DashboardPanel {
    const existing = DashboardPanel.open.get(runId);
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, vscode.l10n.t('Run {0}', runId), { viewColumn: vscode.ViewColumn.Active, preserveFocus: true }, DashboardPanel.options(ctx));
    return new DashboardPanel(ctx, runs, panel, runId);
  }

  static get(runId: string): DashboardPanel | undefined {
    return DashboardPanel.open.get(runId);
  }

  static options(ctx: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'webview')] };
  }

  static register(ctx: vscode.ExtensionContext, runs: RunController): void {
    ctx.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel, state: DashboardState | undefined) => {
          if (!state?.runId || !runs.hasWorkspace()) {
            panel.dispose();
            return;
          }
          panel.webview.options = DashboardPanel.options(ctx);
          new DashboardPanel(ctx, runs, panel, state.runId);
        },
      }),
    );
  }

  private constructor(
    ctx: vscode.ExtensionContext,
    private readonly runs: RunController,
    readonly panel: vscode.WebviewPanel,
    readonly runId: string,
  ) {
    DashboardPanel.open.set(runId, this);
    const asUri = (f: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'webview', f)).toString();
    panel.webview.html = dashboardHtml({ cspSource: panel.webview.cspSource, scriptUri: asUri('dashboard.js'), styleUri: asUri('dashboard.css'), l10n: l10nBundle(), lang: vscode.env.language });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
      runs.onDidStart((s) => {
        if (s.record.id === this.runId) this.follow();
      }),
    );
    this.follow();
  }

  /** One message from the page (or a test), checked; a failure is reported, never thrown. */
  readonly receive = guard(vscode.l10n.t('dashboard message'), (m: unknown) => this.onMessage(parseDashboardMessage(m)));

  private tokenizer: ModelTokenizer | null | undefined;

  /** The answers in `events`' sample events as text (the model's tokenizer; ids when it cannot load). */
  private sampleRows(rec: RunRecord, events: TrainerEvent[]): SampleRow[] {
    const samples = events.filter((e): e is SampleEvent => e.type === 'sample');
    if (samples.length === 0) return [];
    if (this.tokenizer === undefined) {
      try {
        this.tokenizer = loadTokenizer(rec.plan().model_dir);
      } catch (e) {
        log.warn(`dashboard ${this.runId}: sample answers shown as token ids: ${(e as Error).message}`);
        this.tokenizer = null;
      }
    }
    const tok = this.tokenizer;
    return samples.map((s) => ({ step: s.step, answers: s.outputs.map((o) => ({ text: tok ? tok.decode(o.ids).trim() : o.ids.join(' '), stop: o.stop })) }));
  }

  private record(): RunRecord {
    return this.runs.manager().store.open(this.runId);
  }

  private follow(): void {
    const s = this.runs.manager().session(this.runId);
    if (!s) return;
    this.unfollow?.();
    this.unfollow = s.listen({
      onEvent: (e) => {
        this.pending.push(e);
        if (STATE_EVENTS.has(e.type)) this.flush();
        else this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
      },
      onExit: () => this.flush(),
      // Who controls the run and whether its trainer answers show in the header at once.
      onRole: () => this.flush(),
      onHealth: () => this.flush(),
    });
  }

  private snapshotNow(rec: RunRecord): { snapshot: RunSnapshot; live: boolean; notes?: LiveNotes } {
    const s = this.runs.manager().session(this.runId);
    return s ? { snapshot: s.snapshot, live: true, notes: liveNotes(s.role, s.health) } : { snapshot: rec.snapshot(), live: false };
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.ready) return; // the init message will carry everything
    const rec = this.record();
    const { snapshot, live, notes } = this.snapshotNow(rec);
    this.post({ v: V, type: 'events', run: runHeader(rec, snapshot, live, notes), events: this.pending, samples: this.sampleRows(rec, this.pending) });
    this.pending = [];
  }

  private post(m: HostToDashboard): void {
    this.posted.push(m);
    if (this.posted.length > 50) this.posted.splice(0, this.posted.length - 50);
    void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: DashboardToHost): Promise<void> {
    switch (m.type) {
      case 'ready': {
        const rec = this.record();
        const { snapshot, live, notes } = this.snapshotNow(rec);
        this.pending = [];
        this.ready = true;
        const runs = this.runs.manager().store.list().runs.map((r) => ({ id: r.meta.id, label: `${r.meta.id} (${r.snapshot.status}${r.snapshot.loss !== undefined ? `, loss ${r.snapshot.loss.toFixed(3)}` : ''})` }));
        // A live run's events up to what its session has delivered (the trainer writes the file
        // ahead of it): later ones arrive through follow(), so none is sent twice.
        const events = this.runs.manager().session(this.runId)?.events() ?? rec.events();
        let samplePrompts: string[] = [];
        try {
          samplePrompts = rec.plan().samples?.texts ?? [];
        } catch {
          // no plan.json (preparation failed): no samples either
        }
        this.post({ v: V, type: 'init', run: runHeader(rec, snapshot, live, notes), events, runs, samplePrompts, samples: this.sampleRows(rec, events) });
        return;
      }
      case 'control': {
        const s = this.runs.current(this.runId);
        if (m.command === 'pause') s.pause();
        else if (m.command === 'resume') s.resume();
        else if (m.command === 'save') s.save();
        else s.stop();
        return;
      }
      case 'compare': {
        if (m.runId === null) {
          this.post({ v: V, type: 'compare', runId: null, label: '', events: [] });
          return;
        }
        const other = this.runs.manager().store.open(m.runId);
        this.post({ v: V, type: 'compare', runId: m.runId, label: m.runId, events: other.events() });
        return;
      }
      case 'tryInPlayground':
        return this.tryInPlayground();
      case 'resumeFromCheckpoint':
        await vscode.commands.executeCommand('tuner.resumeFromCheckpoint', this.runId);
        return;
      case 'takeControl':
        if (!this.runs.current(this.runId).takeControl()) throw new Error(vscode.l10n.t('run {0}: not connected to its trainer yet; try again in a moment', this.runId));
        return;
      default: {
        const never: never = m;
        reportError('dashboard', new Error(vscode.l10n.t('unhandled message {0}', String(JSON.stringify(never)))));
      }
    }
  }

  /** Opens the run in the playground; a paused run first saves a checkpoint of where it is. */
  private async tryInPlayground(): Promise<void> {
    const s = this.runs.manager().session(this.runId);
    if (!s || s.snapshot.status !== 'paused') {
      await vscode.commands.executeCommand('tuner.tryInPlayground', this.runId);
      return;
    }
    const saved = new Promise<string>((resolve, reject) => {
      const stop = s.listen({
        onEvent: (e) => {
          if (e.type !== 'checkpoint') return;
          stop();
          const own = this.record().ownCheckpoint(e.path);
          if (own) resolve(own);
          else reject(new Error(vscode.l10n.t('the checkpoint {0} is not a folder of run {1}', e.path, this.runId)));
        },
        onExit: () => reject(new Error(vscode.l10n.t('run {0} ended before its checkpoint was written', this.runId))),
      });
    });
    s.save();
    await vscode.commands.executeCommand('tuner.tryInPlayground', await saved);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.unfollow?.();
    if (DashboardPanel.open.get(this.runId) === this) DashboardPanel.open.delete(this.runId);
    for (const d of this.disposables) d.dispose();
    this.panel.dispose();
  }
}
