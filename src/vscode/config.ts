// The one place that reads Tuner's settings. Getters are typed and scoped to a document (most
// settings may differ per folder); what the values mean and which are valid is decided by core
// (the linter checks its own options), this file only fetches them.
import * as vscode from 'vscode';
import type { FormatId } from '../core/dataset/formats';
import type { LintOptions } from '../core/dataset/lint';
import type { Severity } from '../core/dataset/problem';
import { SETTING_KEYS, type SettingName } from './setting-keys';

function read<T>(name: SettingName, scope: vscode.ConfigurationScope | undefined, fallback: T): T {
  const key = SETTING_KEYS[name];
  const dot = key.lastIndexOf('.');
  const value = vscode.workspace.getConfiguration(key.slice(0, dot), scope).get<T>(key.slice(dot + 1), fallback);
  // Objects and arrays come back as read-only proxies, which cannot be posted to the lint
  // worker (structured clone fails): hand out plain copies. Settings are JSON, so this is exact.
  return value !== null && typeof value === 'object' ? (JSON.parse(JSON.stringify(value)) as T) : value;
}

export interface LintSettings {
  options: LintOptions;
  debounceMs: number;
  workerThresholdBytes: number;
}

export const Config = {
  datasetFormat(scope?: vscode.ConfigurationScope): FormatId | 'auto' {
    return read<FormatId | 'auto'>('datasetFormat', scope, 'auto');
  },

  lintInclude(scope?: vscode.ConfigurationScope): string[] {
    const globs = read<unknown>('lintInclude', scope, []);
    return Array.isArray(globs) ? globs.filter((g): g is string => typeof g === 'string' && g.length > 0) : [];
  },

  lint(scope?: vscode.ConfigurationScope): LintSettings {
    return {
      options: {
        format: Config.datasetFormat(scope),
        severities: read<Record<string, Severity | 'off'>>('lintRules', scope, {}),
        nearDuplicates: read<boolean>('lintNearDuplicates', scope, false),
        maxRecordChars: read<number>('lintMaxRecordChars', scope, 32768),
        placeholders: read<string[]>('lintPlaceholders', scope, []),
        privacy: read<boolean>('lintPrivacy', scope, true),
        html: read<boolean>('lintHtml', scope, true),
      },
      debounceMs: Math.max(0, read<number>('lintDebounceMs', scope, 300)),
      workerThresholdBytes: Math.max(0, read<number>('lintWorkerThresholdBytes', scope, 1_000_000)),
    };
  },

  /** Writes the forced dataset format where the user will find it: the document's folder, else the workspace, else user settings. */
  async setDatasetFormat(format: FormatId | 'auto', scope?: vscode.Uri): Promise<void> {
    const folder = scope ? vscode.workspace.getWorkspaceFolder(scope) : undefined;
    const target = folder
      ? vscode.ConfigurationTarget.WorkspaceFolder
      : vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    const section = vscode.workspace.getConfiguration('tuner.dataset', folder?.uri ?? scope);
    await section.update('format', format === 'auto' ? undefined : format, target);
    // Removing the value may expose a format forced at a wider scope; then say 'auto' explicitly.
    if (format === 'auto' && Config.datasetFormat(folder?.uri ?? scope) !== 'auto') await section.update('format', 'auto', target);
  },

  affectsLint(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration('tuner.lint') || e.affectsConfiguration('tuner.dataset');
  },
};
