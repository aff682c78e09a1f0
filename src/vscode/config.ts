// The one place that reads Tuner's settings. Getters are typed and scoped to a document (most
// settings may differ per folder). Which values are valid comes from core's catalogues (rules,
// formats); a bad value hand-written in settings.json is reported once, naming the setting and
// the fix, and replaced by its default, so the linter never sees it.
import * as vscode from 'vscode';
import { FORMAT_IDS, isFormatId, type FormatId } from '../core/dataset/formats';
import type { LintOptions } from '../core/dataset/lint';
import type { Severity } from '../core/dataset/problem';
import { RULES, ruleByCode } from '../core/dataset/rules';
import { checkPlannerSettings, describePlannerSettings, type PlannerSettings } from '../core/planner/planner-settings';
import { log } from './output';
import { SETTING_KEYS, type SettingName } from './setting-keys';

function read<T>(name: SettingName, scope: vscode.ConfigurationScope | undefined, fallback: T): T {
  const key = SETTING_KEYS[name];
  const dot = key.lastIndexOf('.');
  const value = vscode.workspace.getConfiguration(key.slice(0, dot), scope).get<T>(key.slice(dot + 1), fallback);
  // Objects and arrays come back as read-only proxies, which cannot be posted to the lint
  // worker (structured clone fails): hand out plain copies. Settings are JSON, so this is exact.
  return value !== null && typeof value === 'object' ? (JSON.parse(JSON.stringify(value)) as T) : value;
}

const SEVERITIES: readonly string[] = ['error', 'warning', 'info', 'hint', 'off'];
const warned = new Set<string>();

/** Says once per bad value what is wrong with a setting and how to fix it. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  log.warn(message);
  void vscode.window.showWarningMessage(message);
}

/** Keeps the well-formed entries of tuner.lint.rules; the linter uses defaults for the rest. */
function ruleSeverities(value: unknown): Record<string, Severity | 'off'> {
  const out: Record<string, Severity | 'off'> = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    warnOnce(vscode.l10n.t('Setting {0} must be an object such as {1}; using the default severities.', SETTING_KEYS.lintRules, '{"duplicate-record": "off"}'));
    return out;
  }
  for (const [rule, severity] of Object.entries(value)) {
    if (!ruleByCode(rule) && !RULES.some((r) => r.id === rule)) {
      warnOnce(vscode.l10n.t('Setting {0}: "{1}" is not a lint rule id or code (see docs/lint-rules.md); it is ignored.', SETTING_KEYS.lintRules, rule));
    } else if (typeof severity !== 'string' || !SEVERITIES.includes(severity)) {
      warnOnce(vscode.l10n.t('Setting {0}: "{1}": {2} is not one of {3}; using the rule\'s default.', SETTING_KEYS.lintRules, rule, String(JSON.stringify(severity)), SEVERITIES.join(', ')));
    } else {
      out[rule] = severity as Severity | 'off';
    }
  }
  return out;
}

function flag(name: SettingName, scope: vscode.ConfigurationScope | undefined, fallback: boolean): boolean {
  const value = read<unknown>(name, scope, fallback);
  if (typeof value === 'boolean') return value;
  warnOnce(vscode.l10n.t('Setting {0}: {1} is not true or false; using {2}.', SETTING_KEYS[name], String(JSON.stringify(value)), String(fallback)));
  return fallback;
}

/** A list of non-empty strings; other entries are reported and skipped. */
function strings(name: SettingName, scope: vscode.ConfigurationScope | undefined): string[] {
  const value = read<unknown>(name, scope, []);
  const list = Array.isArray(value) ? value : [];
  const good = list.filter((v): v is string => typeof v === 'string' && v.length > 0);
  if (!Array.isArray(value) || good.length !== list.length) {
    warnOnce(vscode.l10n.t('Setting {0} must be a list of non-empty strings; ignoring what is not one in {1}.', SETTING_KEYS[name], String(JSON.stringify(value))));
  }
  return good;
}

/** A whole number setting of at least `min`. */
function count(name: SettingName, scope: vscode.ConfigurationScope | undefined, fallback: number, min = 0): number {
  const value = read<unknown>(name, scope, fallback);
  if (typeof value === 'number' && Number.isFinite(value) && value >= min) return Math.floor(value);
  warnOnce(vscode.l10n.t('Setting {0}: {1} is not a number of at least {2}; using {3}.', SETTING_KEYS[name], String(JSON.stringify(value)), min, fallback));
  return fallback;
}

export interface LintSettings {
  options: LintOptions;
  debounceMs: number;
  workerThresholdBytes: number;
}

export const Config = {
  datasetFormat(scope?: vscode.ConfigurationScope): FormatId | 'auto' {
    const format = read<unknown>('datasetFormat', scope, 'auto');
    if (format === 'auto' || isFormatId(format)) return format;
    warnOnce(vscode.l10n.t('Setting {0}: {1} is not a dataset format; use "auto" or one of {2}. Detecting the format instead.', SETTING_KEYS.datasetFormat, String(JSON.stringify(format)), FORMAT_IDS.join(', ')));
    return 'auto';
  },

  lintInclude(scope?: vscode.ConfigurationScope): string[] {
    return strings('lintInclude', scope);
  },

  lint(scope?: vscode.ConfigurationScope): LintSettings {
    return {
      options: {
        format: Config.datasetFormat(scope),
        severities: ruleSeverities(read<unknown>('lintRules', scope, {})),
        nearDuplicates: flag('lintNearDuplicates', scope, true),
        maxRecordChars: count('lintMaxRecordChars', scope, 32768, 1),
        placeholders: strings('lintPlaceholders', scope),
        privacy: flag('lintPrivacy', scope, true),
        html: flag('lintHtml', scope, true),
      },
      debounceMs: count('lintDebounceMs', scope, 300),
      workerThresholdBytes: count('lintWorkerThresholdBytes', scope, 1_000_000),
    };
  },

  /** Whether closing the window stops its live trainers (with a checkpoint) instead of leaving them training. */
  stopWhenWindowCloses(): boolean {
    return flag('runsStopWhenWindowCloses', undefined, false);
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

  /**
   * Which model plans in chat: auto (an OpenAI-compatible endpoint when set, else the chat's
   * model), or one of them, or the rules only. The backend, endpoint and model settings are
   * application-scoped (package.json), so a workspace's settings cannot send prompts or the
   * stored key elsewhere: VS Code reads them from the user's settings only.
   */
  planner(): PlannerSettings {
    const { settings, problems } = checkPlannerSettings(
      {
        backend: read<unknown>('plannerBackend', undefined, undefined),
        openAiBaseUrl: read<unknown>('plannerOpenAiBaseUrl', undefined, undefined),
        openAiModel: read<unknown>('plannerOpenAiModel', undefined, undefined),
        timeoutSeconds: read<unknown>('plannerTimeoutSeconds', undefined, undefined),
      },
      { backend: SETTING_KEYS.plannerBackend, timeoutSeconds: SETTING_KEYS.plannerTimeoutSeconds, openAiBaseUrl: SETTING_KEYS.plannerOpenAiBaseUrl, openAiModel: SETTING_KEYS.plannerOpenAiModel },
    );
    for (const p of problems) warnOnce(p);
    return settings;
  },

  affectsLint(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration('tuner.lint') || e.affectsConfiguration('tuner.dataset');
  },
};

/** The settings in use, for the log (lint settings of the first workspace folder). */
export function describeSettings(): string {
  const lint = Config.lint(vscode.workspace.workspaceFolders?.[0]?.uri);
  const o = lint.options;
  const rules = Object.entries(o.severities ?? {}).map(([r, s]) => `${r}=${s}`).join(' ');
  return [
    `dataset format ${o.format}; lint: debounce ${lint.debounceMs} ms, worker from ${lint.workerThresholdBytes} bytes, max record ${o.maxRecordChars} chars, near-duplicates ${o.nearDuplicates}, privacy ${o.privacy}, html ${o.html}${rules ? `, rules ${rules}` : ''}`,
    describePlannerSettings(Config.planner()),
    `runs: stop when the window closes ${Config.stopWhenWindowCloses()}`,
  ].join('; ');
}

/**
 * Logs the settings in use at start-up and again whenever a Tuner setting changes, checking the
 * new values at once (a bad one is reported when it is typed, not when it is first used). The
 * getters read the settings on every use, so a change applies from the next use on.
 */
export function registerSettingsLog(ctx: vscode.ExtensionContext): void {
  // Right after activation rather than during it: reading and checking every setting is a third
  // of activate()'s time, and nothing at start-up waits for the log.
  const startup = setTimeout(() => log.info(`settings: ${describeSettings()}`), 0);
  ctx.subscriptions.push({ dispose: () => clearTimeout(startup) });
  ctx.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tuner')) log.info(`settings changed: ${describeSettings()}`);
    }),
  );
}
