// The playground panel: one webview (restored after a reload by its serializer) around the core
// PlaygroundController. This file only carries messages and supplies what needs the editor:
// workspace trust, the clipboard, the folder dialog, notifications, per-workspace storage. The
// inference processes live as long as the panel: closing it shuts them down.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import { findNativeTool } from '../core/playground/export-job';
import type { ExportPlan, ExportResult } from '../core/playground/export-job';
import { PlaygroundController, type PlaygroundHost } from '../core/playground/controller';
import { formatBytes } from '../core/playground/format';
import type { HistoryEntry } from '../core/playground/history';
import { parsePlaygroundMessage, WEBVIEW_PROTOCOL_VERSION, type HostToPlayground, type PlaygroundQuant, type PlaygroundToHost } from '../../webview/protocol';
import { l10nBundle } from '../core/l10n-bundle';
import { dashboardHtml } from './dashboard-html';
import { log, reportError } from './output';
import { ollamaOnPath, writeOllamaModelfile } from '../core/playground/ollama';

export const PLAYGROUND_VIEW_TYPE = 'tuner.playground';
const HISTORY_KEY = 'tuner.playground.history';
const MODEL_DIRS_KEY = 'tuner.playground.modelDirs';

export type PlaygroundPick = { modelId: string; quant: PlaygroundQuant } | null;

function workspaceDir(): string | undefined {
  const f = vscode.workspace.workspaceFolders?.find((w) => w.uri.scheme === 'file');
  return f?.uri.fsPath;
}

export class PlaygroundPanel implements vscode.Disposable {
  private static current: PlaygroundPanel | undefined;
  readonly controller: PlaygroundController;
  private readonly disposables: vscode.Disposable[] = [];
  /** Messages posted to the page, newest last (read by the integration tests). */
  readonly posted: HostToPlayground[] = [];
  private ready = false;
  private pendingSelect: PlaygroundPick[] | undefined;
  private disposed = false;

  static show(ctx: vscode.ExtensionContext, picks?: PlaygroundPick[]): PlaygroundPanel {
    let p = PlaygroundPanel.current;
    if (p) p.panel.reveal();
    else {
      const panel = vscode.window.createWebviewPanel(PLAYGROUND_VIEW_TYPE, vscode.l10n.t('Tuner Playground'), { viewColumn: vscode.ViewColumn.Active }, PlaygroundPanel.options(ctx));
      p = new PlaygroundPanel(ctx, panel);
    }
    if (picks) p.select(picks);
    return p;
  }

  static get(): PlaygroundPanel | undefined {
    return PlaygroundPanel.current;
  }

  static options(ctx: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // Kept alive while hidden: a reply streaming into a background tab must not lose tokens.
    return { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'webview')] };
  }

  static register(ctx: vscode.ExtensionContext): void {
    ctx.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(PLAYGROUND_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel: vscode.WebviewPanel) => {
          // The page restores its own state (getState); the models it had loaded load again.
          panel.webview.options = PlaygroundPanel.options(ctx);
          PlaygroundPanel.current?.dispose();
          new PlaygroundPanel(ctx, panel);
        },
      }),
      { dispose: () => PlaygroundPanel.current?.dispose() },
    );
  }

  private constructor(
    private readonly ctx: vscode.ExtensionContext,
    readonly panel: vscode.WebviewPanel,
  ) {
    PlaygroundPanel.current = this;
    const asUri = (f: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'webview', f)).toString();
    panel.webview.html = dashboardHtml({ cspSource: panel.webview.cspSource, scriptUri: asUri('playground.js'), styleUri: asUri('playground.css'), title: vscode.l10n.t('Tuner Playground'), l10n: l10nBundle(), lang: vscode.env.language });
    const distWorker = vscode.Uri.joinPath(ctx.extensionUri, 'dist', 'infer-worker.js').fsPath;
    this.controller = new PlaygroundController(this.host(), {
      workerPath: distWorker,
      exportBinary: () => findNativeTool('tuner-export'),
      generateBinary: () => findNativeTool('tuner-generate'),
      writeModelfile: writeOllamaModelfile,
      availableMemory: () => os.freemem(),
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.receive({ v: WEBVIEW_PROTOCOL_VERSION, type: 'ready' })),
    );
  }

  /** One message from the page (or a test), checked and handled; a failure is shown in the panel. */
  async receive(m: unknown): Promise<void> {
    let msg: PlaygroundToHost;
    try {
      msg = parsePlaygroundMessage(m);
    } catch (e) {
      reportError(vscode.l10n.t('playground message'), e);
      return;
    }
    try {
      await this.controller.handle(msg);
      if (msg.type === 'ready') {
        this.ready = true;
        if (this.pendingSelect) this.select(this.pendingSelect);
      }
    } catch (e) {
      log.error(`playground: ${msg.type} failed`, e);
      this.post({ v: WEBVIEW_PROTOCOL_VERSION, type: 'error', message: `${msg.type}: ${(e as Error).message}`, hint: vscode.l10n.t('See the Tuner log (Tuner: Show Log).') });
    }
  }

  /** Picks (and loads) models on the sides: "Try in Playground". */
  select(picks: PlaygroundPick[]): void {
    if (!this.ready) {
      this.pendingSelect = picks;
      return;
    }
    this.pendingSelect = undefined;
    this.controller.refreshCatalog();
    this.post({ v: WEBVIEW_PROTOCOL_VERSION, type: 'models', ...this.controller.models() });
    this.post({ v: WEBVIEW_PROTOCOL_VERSION, type: 'select', picks });
  }

  private post(m: HostToPlayground): void {
    if (this.disposed) return;
    this.posted.push(m);
    if (this.posted.length > 2000) this.posted.splice(0, this.posted.length - 2000);
    void this.panel.webview.postMessage(m);
  }

  private host(): PlaygroundHost {
    const state = this.ctx.workspaceState;
    return {
      post: (m) => this.post(m),
      workspaceDir,
      trusted: () => vscode.workspace.isTrusted,
      readHistory: () => state.get<unknown>(HISTORY_KEY),
      writeHistory: (h: HistoryEntry[]) => void state.update(HISTORY_KEY, h),
      extraModelDirs: () => (state.get<unknown>(MODEL_DIRS_KEY) as string[] | undefined)?.filter((d) => typeof d === 'string') ?? [],
      addModelDir: (dir) => {
        const dirs = (state.get<string[]>(MODEL_DIRS_KEY) ?? []).filter((d) => d !== dir);
        void state.update(MODEL_DIRS_KEY, [dir, ...dirs].slice(0, 20));
      },
      log: (message) => log.info(message),
      copyToClipboard: async (text) => {
        await vscode.env.clipboard.writeText(text);
        void vscode.window.showInformationMessage(vscode.l10n.t('Tuner: copied the tuner-generate command line to the clipboard.'));
      },
      revealPath: (p) => revealPath(p),
      pickFolder: async () => {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: vscode.l10n.t('Use This Model Folder'), title: vscode.l10n.t('A Hugging Face model folder (config.json, *.safetensors, tokenizer.json)') });
        return picked?.[0]?.fsPath;
      },
      manageTrust: async () => {
        await vscode.commands.executeCommand('workbench.trust.manage');
      },
      exportFinished: (plan, result) => void offerResult(plan, result),
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (PlaygroundPanel.current === this) PlaygroundPanel.current = undefined;
    for (const d of this.disposables) d.dispose();
    void this.controller.dispose().catch((e: unknown) => log.error('playground: stopping the inference processes', e));
    this.panel.dispose();
  }
}

/** Shows a merge or export result in the OS file manager (desktop) or the Explorer (remote, web). */
export async function revealPath(p: string): Promise<void> {
  const uri = vscode.Uri.file(p);
  const local = vscode.env.remoteName === undefined && vscode.env.uiKind === vscode.UIKind.Desktop;
  await vscode.commands.executeCommand(local ? 'revealFileInOS' : 'revealInExplorer', uri);
}

/** The notification after a merge or export: what was written, Open Folder, and `ollama create` when Ollama is installed. */
export async function offerResult(plan: ExportPlan, result: ExportResult): Promise<void> {
  const rel = vscode.workspace.asRelativePath(result.out);
  const size = fs.existsSync(result.out) && fs.statSync(result.out).isFile() ? ` (${formatBytes(result.bytes)})` : '';
  const actions = [vscode.l10n.t('Open Folder')];
  if (plan.ollama && ollamaOnPath()) actions.push(vscode.l10n.t('Run ollama create'));
  const warn = result.warnings.length ? ` ${result.warnings.join(' ')}` : '';
  const choice = await vscode.window.showInformationMessage(vscode.l10n.t('Tuner: wrote {0}{1}.{2}', rel, size, warn), ...actions);
  if (choice === vscode.l10n.t('Open Folder')) await revealPath(result.out);
  if (choice === vscode.l10n.t('Run ollama create') && plan.ollama) {
    const term = vscode.window.createTerminal({ name: 'Ollama', cwd: plan.ollama.dir });
    term.show();
    term.sendText(`ollama create ${plan.ollama.name} -f Modelfile`);
  }
}

