// Every command the extension contributes, with the title the user knows it by (package.json's
// "Tuner: <title>"). This module does not import `vscode`, so the manifest unit tests can check
// it against package.json in plain node; commands.ts maps each id to its handler with a
// Record<CommandId, …>, so a missing handler is a compile error, and messages about a command
// name it by its title, never by its id.

export const COMMAND_TITLES = {
  'tuner.datasetStats': 'Dataset Statistics',
  'tuner.chooseDatasetFormat': 'Choose Dataset Format…',
  'tuner.convertDataset': 'Convert Dataset to Another Format…',
  'tuner.importDataset': 'Import Dataset…',
  'tuner.cleanDataset': 'Clean Dataset…',
  'tuner.lintDataset': 'Lint Dataset Now',
  'tuner.showLog': 'Show Log',
  'tuner.startRun': 'Fine-tune: Start',
  'tuner.pauseRun': 'Fine-tune: Pause',
  'tuner.continueRun': 'Fine-tune: Resume',
  'tuner.saveCheckpoint': 'Fine-tune: Save Checkpoint',
  'tuner.stopRun': 'Fine-tune: Stop',
  'tuner.takeControl': 'Fine-tune: Take Control',
  'tuner.openDashboard': 'Fine-tune: Open Dashboard',
  'tuner.resumeFromCheckpoint': 'Fine-tune: Resume From Checkpoint',
  'tuner.openRunFolder': 'Fine-tune: Open Output Folder',
  'tuner.refreshRuns': 'Refresh Runs',
  'tuner.planFineTune': 'Plan a Fine-tune…',
  'tuner.setPlannerApiKey': 'Set API Key for the Planner Endpoint…',
  'tuner.clearPlannerApiKey': 'Remove the Planner Endpoint API Key',
  'tuner.prepareDataset': 'Prepare Dataset (tokenize to shards)',
  'tuner.openPlayground': 'Open Playground',
  'tuner.tryInPlayground': 'Try in Playground',
  'tuner.mergeAdapter': 'Merge Adapter into Model…',
  'tuner.exportGguf': 'Export as GGUF…',
  'tuner.exportOllama': 'Export for Ollama…',
  'tuner.exportForCluster': 'Export Run for a Cluster…',
  'tuner.importTrained': 'Import Trained Adapter or Model…',
} as const;

export type CommandId = keyof typeof COMMAND_TITLES;

export const COMMAND_IDS = Object.keys(COMMAND_TITLES) as CommandId[];
