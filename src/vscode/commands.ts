// The command table: every contributed command id (command-ids.ts, checked against
// package.json by test/unit/manifest.test.ts) maps to a factory taking the extension's services.
// Every handler runs inside guard(), so a failure is a message, never a crash.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { convertDocumentEdits } from '../core/dataset/convert';
import { FORMATS, isFormatId, type FormatId } from '../core/dataset/formats';
import { COMMAND_TITLES, type CommandId } from './command-ids';
import { Config } from './config';
import { showDatasetStats } from './dataset-stats';
import type { JsonlLinter } from './jsonl-diagnostics';
import { datasetDocumentFor } from './jsonl-documents';
import { CLEAN_COMMANDS } from './workbench-clean';
import { guard, log } from './output';
import { toWorkspaceEdit } from './problem-mapping';
import { RUN_COMMANDS, type RunServices } from './run-commands';
import { PLANNER_COMMANDS, type PlannerServices } from './planner-commands';
import { PREPARE_COMMANDS, type PrepareServices } from './prepare-command';
import { PLAYGROUND_COMMANDS, type PlaygroundServices } from './playground-commands';
import { IMPORT_COMMANDS } from './workbench-import';
import { HANDOFF_COMMANDS } from './handoff-commands';

export interface Services extends RunServices, PlannerServices, PrepareServices, PlaygroundServices {
  linter: JsonlLinter;
}

type Handler = (...args: unknown[]) => unknown;

async function pickFormat(placeHolder: string, current: string | undefined, withAuto: boolean): Promise<FormatId | 'auto' | undefined> {
  const items: (vscode.QuickPickItem & { id: FormatId | 'auto' })[] = [
    ...(withAuto ? [{ id: 'auto' as const, label: vscode.l10n.t('Detect automatically'), description: current === 'auto' ? vscode.l10n.t('(current)') : undefined }] : []),
    ...FORMATS.map((f) => ({ id: f.id, label: f.label, description: f.id === current ? vscode.l10n.t('{0} (current)', f.id) : f.id, detail: f.example })),
  ];
  return (await vscode.window.showQuickPick(items, { placeHolder }))?.id;
}

const COMMANDS: Record<CommandId, (s: Services) => Handler> = {
  'tuner.datasetStats': (s) => (uri) => showDatasetStats(s.linter, uri),

  /** Args (optional, for keybindings and tests): a dataset URI and a format id or 'auto'. */
  'tuner.chooseDatasetFormat': () => async (uri, format) => {
    const scope = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
    const chosen = typeof format === 'string' ? format : await pickFormat(vscode.l10n.t('Format of this dataset (tuner.dataset.format)'), Config.datasetFormat(scope), true);
    if (chosen === undefined) return undefined;
    if (chosen !== 'auto' && !isFormatId(chosen)) throw new Error(vscode.l10n.t('unknown dataset format "{0}": use auto or one of {1}', chosen, FORMATS.map((f) => f.id).join(', ')));
    await Config.setDatasetFormat(chosen, scope);
    return chosen;
  },

  /** Converts every record that converts losslessly; the rest stay as they are, with their diagnostics. */
  'tuner.convertDataset': () => async (uri, format) => {
    const doc = await datasetDocumentFor(uri);
    const to = typeof format === 'string' ? format : await pickFormat(vscode.l10n.t('Convert {0} to', path.basename(doc.uri.path)), undefined, false);
    if (to === undefined) return undefined;
    if (!isFormatId(to)) throw new Error(vscode.l10n.t('unknown dataset format "{0}": use one of {1}', to, FORMATS.map((f) => f.id).join(', ')));
    const edits = convertDocumentEdits(doc.getText(), to);
    if (edits.length > 0 && !(await vscode.workspace.applyEdit(toWorkspaceEdit(doc, edits)))) throw new Error(vscode.l10n.t('VS Code refused the edit to {0}', doc.uri.fsPath));
    const message =
      edits.length === 1
        ? vscode.l10n.t('Converted 1 record to {0}; records already in {0}, invalid, or not convertible without loss were left unchanged (undo with Ctrl+Z).', to)
        : vscode.l10n.t('Converted {0} records to {1}; records already in {1}, invalid, or not convertible without loss were left unchanged (undo with Ctrl+Z).', edits.length, to);
    log.info(`${doc.uri.fsPath}: ${message}`);
    void vscode.window.showInformationMessage(message);
    return edits.length;
  },

  'tuner.lintDataset': (s) => async (uri) => {
    const doc = await datasetDocumentFor(uri);
    const report = await s.linter.lint(doc, 'command');
    return report && { format: report.result.format, records: report.result.records, problems: report.result.problems.length, engine: report.engine };
  },

  'tuner.showLog': () => () => log.show(),

  ...CLEAN_COMMANDS,

  ...RUN_COMMANDS,
  ...PLANNER_COMMANDS,
  ...PREPARE_COMMANDS,
  ...PLAYGROUND_COMMANDS,
  ...IMPORT_COMMANDS,
  ...HANDOFF_COMMANDS,
};

export function registerCommands(ctx: vscode.ExtensionContext, services: Services): void {
  for (const [id, make] of Object.entries(COMMANDS) as [CommandId, (s: Services) => Handler][]) {
    ctx.subscriptions.push(vscode.commands.registerCommand(id, guard(COMMAND_TITLES[id], make(services))));
  }
}
