// The live preview of "Tuner: Import Dataset…"'s mapping step: a read-only document beside the
// quick pick showing the first records exactly as they will be written (or why one is set
// aside), rewritten on every change of the mapping.
import * as vscode from 'vscode';
import type { MappingPlan } from '../core/workbench/import/mapping';

const SCHEME = 'tuner-import-preview';

export interface ImportPreview {
  update(sourceName: string, outputName: string, plan: MappingPlan, lines: string[]): void;
  close(): Promise<void>;
}

export async function showImportPreview(): Promise<ImportPreview> {
  const changed = new vscode.EventEmitter<vscode.Uri>();
  let text = '';
  const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${vscode.l10n.t('Import preview')}` });
  const registration = vscode.workspace.registerTextDocumentContentProvider(SCHEME, { onDidChange: changed.event, provideTextDocumentContent: () => text });
  // Beside the file being worked on; in the editor area itself when none is open.
  await vscode.window.showTextDocument(uri, { viewColumn: vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active, preview: true, preserveFocus: true });
  return {
    update(sourceName, outputName, plan, lines) {
      const mapping = Object.entries(plan.fields).filter(([, c]) => c !== undefined).map(([f, c]) => `${f} ← ${c}`).join(', ');
      text = [
        vscode.l10n.t('// {0} → {1} ({2}): the first {3} records as they will be written', sourceName, outputName, plan.format, lines.length),
        vscode.l10n.t('// Mapping: {0}', mapping || vscode.l10n.t('(no column mapped yet)')),
        '',
        ...lines,
        '',
      ].join('\n');
      changed.fire(uri);
    },
    async close() {
      for (const tab of vscode.window.tabGroups.all.flatMap((g) => g.tabs)) {
        if (tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri.toString()) await vscode.window.tabGroups.close(tab);
      }
      registration.dispose();
      changed.dispose();
    },
  };
}
