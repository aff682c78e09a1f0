// Every command the extension contributes. This module does not import `vscode`, so the manifest
// unit test can check it against package.json in plain node; commands.ts maps each id to its
// handler with a Record<CommandId, …>, so a missing handler is a compile error.

export const COMMAND_IDS = [
  'tuner.datasetStats',
  'tuner.chooseDatasetFormat',
  'tuner.convertDataset',
  'tuner.lintDataset',
  'tuner.showLog',
  'tuner.startRun',
  'tuner.pauseRun',
  'tuner.continueRun',
  'tuner.saveCheckpoint',
  'tuner.stopRun',
  'tuner.openDashboard',
  'tuner.resumeFromCheckpoint',
  'tuner.refreshRuns',
  'tuner.setPlannerApiKey',
  'tuner.clearPlannerApiKey',
  'tuner.prepareDataset',
  'tuner.openPlayground',
  'tuner.tryInPlayground',
  'tuner.mergeAdapter',
  'tuner.exportGguf',
  'tuner.exportOllama',
] as const;

export type CommandId = (typeof COMMAND_IDS)[number];
