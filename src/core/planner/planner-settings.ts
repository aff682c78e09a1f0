// The planner's settings, checked: which backend plans (a typo is reported, not read as "auto")
// and how long one planning turn may take (a string or a negative number is reported, not turned
// into NaN). Pure: config.ts reads the raw values from VS Code and shows the problems.

import * as l10n from '@vscode/l10n';
export const PLANNER_BACKENDS = ['auto', 'languageModel', 'openai', 'rules'] as const;
export type PlannerBackend = (typeof PLANNER_BACKENDS)[number];

export const DEFAULT_PLANNER_TIMEOUT_SECONDS = 60;
export const MIN_PLANNER_TIMEOUT_SECONDS = 5;

export interface PlannerSettings {
  backend: PlannerBackend;
  openAiBaseUrl: string;
  openAiModel: string;
  timeoutMs: number;
}

export interface RawPlannerSettings {
  backend: unknown;
  openAiBaseUrl: unknown;
  openAiModel: unknown;
  timeoutSeconds: unknown;
}

/** Settings with defaults in place of bad values; `problems` names each setting, what is wrong and the fix. */
export function checkPlannerSettings(raw: RawPlannerSettings, keys: { backend: string; timeoutSeconds: string; openAiBaseUrl: string; openAiModel: string }): { settings: PlannerSettings; problems: string[] } {
  const problems: string[] = [];
  let backend: PlannerBackend = 'auto';
  if (raw.backend !== undefined && raw.backend !== null) {
    if ((PLANNER_BACKENDS as readonly unknown[]).includes(raw.backend)) backend = raw.backend as PlannerBackend;
    else problems.push(l10n.t('Setting {0}: {1} is not one of {2}; using "auto".', keys.backend, String(JSON.stringify(raw.backend)), PLANNER_BACKENDS.map((b) => `"${b}"`).join(', ')));
  }
  let seconds = DEFAULT_PLANNER_TIMEOUT_SECONDS;
  if (raw.timeoutSeconds !== undefined && raw.timeoutSeconds !== null) {
    if (typeof raw.timeoutSeconds === 'number' && Number.isFinite(raw.timeoutSeconds) && raw.timeoutSeconds >= MIN_PLANNER_TIMEOUT_SECONDS) seconds = raw.timeoutSeconds;
    else problems.push(l10n.t('Setting {0}: {1} is not a number of seconds of at least {2}; using {3}.', keys.timeoutSeconds, String(JSON.stringify(raw.timeoutSeconds)), MIN_PLANNER_TIMEOUT_SECONDS, DEFAULT_PLANNER_TIMEOUT_SECONDS));
  }
  const text = (v: unknown, key: string): string => {
    if (v === undefined || v === null) return '';
    if (typeof v === 'string') return v.trim();
    problems.push(l10n.t('Setting {0}: {1} is not text; ignoring it.', key, String(JSON.stringify(v))));
    return '';
  };
  return {
    settings: { backend, openAiBaseUrl: text(raw.openAiBaseUrl, keys.openAiBaseUrl), openAiModel: text(raw.openAiModel, keys.openAiModel), timeoutMs: seconds * 1000 },
    problems,
  };
}

/** One line for the log: the settings in use. */
export function describePlannerSettings(s: PlannerSettings): string {
  return `planner: backend ${s.backend}, timeout ${s.timeoutMs / 1000} s${s.openAiBaseUrl ? `, endpoint ${s.openAiBaseUrl}${s.openAiModel ? ` (model ${s.openAiModel})` : ''}` : ''}`;
}
