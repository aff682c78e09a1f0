// The import side of the dataset workbench, as one module: the extension loads it on first use
// (its own bundle, scripts/bundle-options.mjs lazyModules), as it holds the Parquet, Arrow, PDF
// and Word readers.
export { candidateArrays, formatJsonPath, type JsonArrayCandidate, type JsonArrayPath } from './json';
export { defaultHfCacheRoots, listHfCache, type HfCacheEntry, type HfCacheRoots } from './hf-cache';
export { guessFormat, guessMapping, mapRecord, targetSlots, type FieldMapping, type MappingPlan, type TargetSlot } from './mapping';
export { parquetInfo } from './parquet';
export { defaultOutputPath, describeSummary, previewLines, proposePlan, readerFor, runImport, sampleSource, sourceKindOf, type ImportSource, type ImportSummary, type SourceKind, type SourceSample } from './pipeline';
export { ImportError } from './source';
export { importInWorker, jsonArraysInWorker, sampleInWorker } from './import-client';
export type { DocumentUnit } from './documents';
// This bundle has its own copy of @vscode/l10n: the extension hands it the display language's bundle on load.
export { useL10nBundle } from '../../l10n-bundle';
