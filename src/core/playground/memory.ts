// Memory a model needs once loaded in the inference worker, estimated from config.json before
// loading, so a model too big for this machine is a warning with numbers instead of a worker
// killed by the kernel half-way through a load. The layout is the engine's
// (docs/inference.md): the seven projections of every layer and the lm_head in the chosen
// format when their input width is a multiple of its block, everything else f32, plus the KV
// cache for the whole context and the worker process itself.
import type { QuantName } from '../engine/infer-addon';
import { layerLinears, type ModelSpec } from '../model/spec';
import { formatBytes } from './format';
import * as l10n from '@vscode/l10n';

/** Context the worker allocates when the load names none (src/core/infer/model-slot.ts). */
export const DEFAULT_CONTEXT = 4096;

/** Resident size of the worker before any model: Node, the bundle, the addon, a tokenizer. */
export const WORKER_BASE_BYTES = 96 * 1024 * 1024;

/** Bytes per weight and block width of each format (native/include/tuner/quant.h). */
const FORMAT: Record<QuantName, { bytes: number; block: number }> = {
  f32: { bytes: 4, block: 1 },
  f16: { bytes: 2, block: 1 },
  bf16: { bytes: 2, block: 1 },
  q8_0: { bytes: 34 / 32, block: 32 },
  q4_0: { bytes: 18 / 32, block: 32 },
  int8: { bytes: 1, block: 32 },
  // 4 bits + an 8-bit scale per 64 + the scales' own f32 scale per 256 blocks.
  nf4: { bytes: 0.5 + 1 / 64 + 4 / (64 * 256), block: 64 },
};

export interface LoadEstimate {
  weightBytes: number;
  kvCacheBytes: number;
  totalBytes: number;
  contextLength: number;
}

export function contextFor(spec: Pick<ModelSpec, 'maxPositions'>, requested?: number): number {
  return requested ?? Math.min(spec.maxPositions > 0 ? spec.maxPositions : DEFAULT_CONTEXT, DEFAULT_CONTEXT);
}

/** Bytes the worker holds with `spec` loaded in `quant` (LoRA adds `loraParams` f32 weights). */
export function estimateLoad(spec: ModelSpec, quant: QuantName, contextLength = contextFor(spec), loraParams = 0): LoadEstimate {
  const f = FORMAT[quant];
  const linear = (out: number, inp: number) => out * inp * (inp % f.block === 0 ? f.bytes : 4);
  let perLayer = 2 * spec.hiddenSize * 4;
  for (const [o, i] of Object.values(layerLinears(spec))) perLayer += linear(o, i);
  if (spec.attentionBias) perLayer += (spec.numHeads + 2 * spec.numKvHeads) * spec.headDim * 4;
  // The head runs quantized; a tied model holds its table once, in the head's format (lookups decode its rows).
  const head = linear(spec.vocabSize, spec.hiddenSize);
  const embedAndHead = spec.tieWordEmbeddings ? head : spec.vocabSize * spec.hiddenSize * 4 + head;
  const weightBytes = embedAndHead + spec.numLayers * perLayer + spec.hiddenSize * 4 + loraParams * 4;
  const kvCacheBytes = spec.numLayers * 2 * contextLength * spec.numKvHeads * spec.headDim * 4;
  return { weightBytes, kvCacheBytes, totalBytes: weightBytes + kvCacheBytes + WORKER_BASE_BYTES, contextLength };
}

/**
 * A warning when the estimate does not fit in `availableBytes` (free memory now plus what the
 * side's current model frees when replaced), with the way out: a smaller format or context.
 */
export function memoryWarning(estimate: LoadEstimate, availableBytes: number, quant: QuantName): string | undefined {
  if (estimate.totalBytes <= availableBytes * 0.9) return undefined;
  const smaller = quant === 'q4_0' || quant === 'nf4' ? l10n.t('a smaller model') : l10n.t('int4 (q4_0) or nf4');
  return (
    l10n.t('This model needs about {0} in {1} ({2} of weights, ', formatBytes(estimate.totalBytes), quant, formatBytes(estimate.weightBytes)) +
    l10n.t('{0} of KV cache for {1} tokens), ', formatBytes(estimate.kvCacheBytes), estimate.contextLength.toLocaleString('en-US')) +
    l10n.t('but only {0} of memory is available. Choose {1}, close other programs, or load anyway.', formatBytes(availableBytes), smaller)
  );
}
