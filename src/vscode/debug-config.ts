// Run and Debug for fine-tuning: the `tuner` debug type's initial configurations, F5 on an open
// ARGS.json without a launch.json, and the inline adapter factory that connects the adapter to
// the extension's RunController.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RunLauncher, TunerDebugSession, TunerLaunchConfig } from './debug-adapter';
import { l10nBundle } from '../core/l10n-bundle';
import type { RunController } from './run-controller';
import { DashboardPanel } from './dashboard-panel';

export const DEBUG_TYPE = 'tuner';

/** The adapter and @vscode/debugadapter, loaded when the first session starts (scripts/bundle.mjs). */
function debugAdapter(): typeof import('./debug-adapter') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./debug-adapter') as typeof import('./debug-adapter');
}

/** Live adapter instances, newest last (the integration tests read their Variables view). */
export const debugSessions: TunerDebugSession[] = [];

class TunerConfigurationProvider implements vscode.DebugConfigurationProvider {
  provideDebugConfigurations(): vscode.DebugConfiguration[] {
    return [{ type: DEBUG_TYPE, request: 'launch', name: vscode.l10n.t('Fine-tune ARGS.json'), args: '${workspaceFolder}/ARGS.json', stopOnEntry: false }];
  }

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    const active = vscode.window.activeTextEditor?.document;
    const activeArgs = active && path.basename(active.uri.fsPath) === 'ARGS.json' ? active.uri.fsPath : undefined;
    if (!config.type && !config.request && !config.name) {
      // F5 with no launch.json: fine-tune the open ARGS.json.
      if (!activeArgs) return config; // let VS Code offer the debugger list
      return { type: DEBUG_TYPE, request: 'launch', name: `Fine-tune ${vscode.workspace.asRelativePath(activeArgs)}`, args: activeArgs };
    }
    if (config.type === DEBUG_TYPE && !config.args && !config.resume && !config.plan && activeArgs) config.args = activeArgs;
    return config;
  }
}

export function registerDebugging(ctx: vscode.ExtensionContext, runs: RunController): void {
  const launcher: RunLauncher = {
    launch: async (config: TunerLaunchConfig, options) => {
      let session;
      if (config.plan) {
        session = await runs.startPlan(path.resolve(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', config.plan), options);
      } else if (config.resume) {
        const id = config.resume === 'last' ? runs.manager().store.list().runs[0]?.meta.id : config.resume;
        if (!id) throw new Error(vscode.l10n.t('"resume": "last" but there is no run under runs/ yet'));
        session = await runs.resume(id, options);
      } else {
        const argsFile = await runs.pickArgsFile(config.args);
        if (!argsFile) throw new Error(vscode.l10n.t('no ARGS.json chosen'));
        session = await runs.start(argsFile, options);
      }
      DashboardPanel.show(ctx, runs, session.record.id);
      return session;
    },
    attach: async (runId) => {
      runs.reattach(); // a run another window left training
      const session = runs.current(runId);
      DashboardPanel.show(ctx, runs, session.record.id);
      return session;
    },
  };
  ctx.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new TunerConfigurationProvider()),
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, { provideDebugConfigurations: () => new TunerConfigurationProvider().provideDebugConfigurations() }, vscode.DebugConfigurationProviderTriggerKind.Dynamic),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, {
      createDebugAdapterDescriptor: () => {
        const adapter = debugAdapter();
        adapter.useL10nBundle(l10nBundle());
        const s = new adapter.TunerDebugSession(launcher);
        debugSessions.push(s);
        if (debugSessions.length > 10) debugSessions.shift();
        return new vscode.DebugAdapterInlineImplementation(s);
      },
    }),
  );
}
