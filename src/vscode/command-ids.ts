// Every command the extension contributes, with the title the user knows it by (package.json's
// "Tuner: <title>"). This module does not import `vscode`, so the manifest unit tests can check
// it against package.json in plain node; commands.ts maps each id to its handler with a
// Record<CommandId, …>, so a missing handler is a compile error, and messages about a command
// name it by its title, never by its id. The titles go through @vscode/l10n (the display
// language's bundle, set at activation) as getters, read when a message is composed rather than
// when the module loads.
import * as l10n from '@vscode/l10n';

export const COMMAND_TITLES = {
  get 'tuner.datasetStats'() { return l10n.t('Dataset Statistics'); },
  get 'tuner.chooseDatasetFormat'() { return l10n.t('Choose Dataset Format…'); },
  get 'tuner.convertDataset'() { return l10n.t('Convert Dataset to Another Format…'); },
  get 'tuner.importDataset'() { return l10n.t('Import Dataset…'); },
  get 'tuner.cleanDataset'() { return l10n.t('Clean Dataset…'); },
  get 'tuner.lintDataset'() { return l10n.t('Lint Dataset Now'); },
  get 'tuner.showLog'() { return l10n.t('Show Log'); },
  get 'tuner.startRun'() { return l10n.t('Fine-tune: Start'); },
  get 'tuner.pauseRun'() { return l10n.t('Fine-tune: Pause'); },
  get 'tuner.continueRun'() { return l10n.t('Fine-tune: Resume'); },
  get 'tuner.saveCheckpoint'() { return l10n.t('Fine-tune: Save Checkpoint'); },
  get 'tuner.stopRun'() { return l10n.t('Fine-tune: Stop'); },
  get 'tuner.takeControl'() { return l10n.t('Fine-tune: Take Control'); },
  get 'tuner.openDashboard'() { return l10n.t('Fine-tune: Open Dashboard'); },
  get 'tuner.resumeFromCheckpoint'() { return l10n.t('Fine-tune: Resume From Checkpoint'); },
  get 'tuner.openRunFolder'() { return l10n.t('Fine-tune: Open Output Folder'); },
  get 'tuner.refreshRuns'() { return l10n.t('Refresh Runs'); },
  get 'tuner.planFineTune'() { return l10n.t('Plan a Fine-tune…'); },
  get 'tuner.setPlannerApiKey'() { return l10n.t('Set API Key for the Planner Endpoint…'); },
  get 'tuner.clearPlannerApiKey'() { return l10n.t('Remove the Planner Endpoint API Key'); },
  get 'tuner.prepareDataset'() { return l10n.t('Prepare Dataset (tokenize to shards)'); },
  get 'tuner.openPlayground'() { return l10n.t('Open Playground'); },
  get 'tuner.tryInPlayground'() { return l10n.t('Try in Playground'); },
  get 'tuner.mergeAdapter'() { return l10n.t('Merge Adapter into Model…'); },
  get 'tuner.exportGguf'() { return l10n.t('Export as GGUF…'); },
  get 'tuner.exportOllama'() { return l10n.t('Export for Ollama…'); },
  get 'tuner.exportForCluster'() { return l10n.t('Export Run for a Cluster…'); },
  get 'tuner.importTrained'() { return l10n.t('Import Trained Adapter or Model…'); },
} as const;

export type CommandId = keyof typeof COMMAND_TITLES;

export const COMMAND_IDS = Object.keys(COMMAND_TITLES) as CommandId[];
