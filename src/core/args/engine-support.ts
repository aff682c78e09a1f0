// What the engine that will run a plan can run, asked of the engine's own acceptance rule instead
// of listed a second time: tuner-train takes a plan when argsToRunPlan (the TypeScript side of
// its plan check, which refuses what the trainer cannot do) turns the ARGS into a run plan. As
// the engine learns a method, an optimizer or a quantized base, the planner offers it with no
// change here. Activation checkpointing runs on every architecture the engine loads (the Llama
// family's recompute_layer, the others' arch_layer_forward). Attention memory: the CPU trainer keeps one log-sum-exp per score
// row and recomputes the probabilities in backward (attention_forward in ops_cpu.cpp), as the
// CUDA backend and PyTorch's SDPA on a hand-off machine do: no T×T scores are held.
import type { ModelSpec } from '../model/spec';
import { argsToRunPlan, UnsupportedArgsError } from './run-plan';
import type { ResolvedArgs } from './fields';
import * as l10n from '@vscode/l10n';

export type EngineDevice = 'cpu' | 'cuda';

export interface EngineSupport {
  /** Why the engine on `device` would refuse `args` (for `model`, when given), or undefined when it runs them. */
  refuses(args: ResolvedArgs, device: EngineDevice, model?: ModelSpec): string | undefined;
  /** How attention scores are held in training: a full T×T matrix per head, or flash-style tiles. */
  attention(device: EngineDevice): 'materialized' | 'flash';
}

const PROBE_PATHS = { modelDir: '/model', trainDataDir: '/data', outputDir: '/out' };

/** The engine of this build: its acceptance rule (argsToRunPlan) for every device. */
export const engineSupport: EngineSupport = {
  refuses(args, _device) {
    try {
      argsToRunPlan(args, PROBE_PATHS);
    } catch (e) {
      if (e instanceof UnsupportedArgsError) return e.message;
      throw e;
    }
    return undefined;
  },
  attention: () => 'flash',
};

/**
 * Why this build's tuner-train cannot train on `device` here, or undefined when it can. The plan
 * rules above answer for a CUDA trainer in general (the hand-off scripts, the planner's GPU
 * estimates); this answers for the local trainer, whose CUDA training path is not written yet
 * (docs/cuda.md): it refuses device "cuda" (cuda_training_unavailable, or no_cuda_device without
 * a GPU) and trains device "auto" on the CPU, saying so in its start event.
 */
export function localTrainerRefuses(device: EngineDevice): string | undefined {
  if (device === 'cuda') return l10n.t('this build of tuner-train trains on the CPU only so far (the CUDA training path is not written yet): set "device" to "auto" or "cpu"');
  return undefined;
}
