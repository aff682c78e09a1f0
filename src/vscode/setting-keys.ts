// Every setting the extension reads, by full key. Like command-ids.ts this stays free of
// `vscode` so the manifest unit test can check that package.json contributes exactly these;
// config.ts is the only reader.

export const SETTING_KEYS = {
  datasetFormat: 'tuner.dataset.format',
  lintInclude: 'tuner.lint.include',
  lintRules: 'tuner.lint.rules',
  lintNearDuplicates: 'tuner.lint.nearDuplicates',
  lintMaxRecordChars: 'tuner.lint.maxRecordChars',
  lintPlaceholders: 'tuner.lint.placeholders',
  lintPrivacy: 'tuner.lint.privacy',
  lintHtml: 'tuner.lint.html',
  lintDebounceMs: 'tuner.lint.debounceMs',
  lintWorkerThresholdBytes: 'tuner.lint.workerThresholdBytes',
  plannerBackend: 'tuner.planner.backend',
  plannerOpenAiBaseUrl: 'tuner.planner.openai.baseUrl',
  plannerOpenAiModel: 'tuner.planner.openai.model',
  plannerTimeoutSeconds: 'tuner.planner.timeoutSeconds',
  runsStopWhenWindowCloses: 'tuner.runs.stopWhenWindowCloses',
} as const;

export type SettingName = keyof typeof SETTING_KEYS;
export type SettingKey = (typeof SETTING_KEYS)[SettingName];
