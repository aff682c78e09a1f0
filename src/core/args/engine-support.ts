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

/** Architectures the device path trains (native/src/device/device_model.cpp device_model_unsupported). */
export const DEVICE_ARCHITECTURES = ['LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen3ForCausalLM', 'Gemma3ForCausalLM', 'GPT2LMHeadModel', 'BloomForCausalLM'] as const;

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
 * Why the local tuner-train would refuse `args` before it loads anything, or undefined: with
 * device "cuda", a plan its GPU path does not train (deviceTrainingRefuses, when the model's
 * config.json is at hand) is cuda_training_unavailable. Said at ARGS.json's device line before the
 * data is prepared, rather than by the trainer minutes later. Device "auto" never is: such a run
 * trains on the CPU, saying why in its start event. A machine without a GPU is the trainer's to
 * report (no_cuda_device, before it loads the model).
 */
export function localTrainerRefuses(args: ResolvedArgs, model: ModelSpec | undefined): string | undefined {
  if (args.device !== 'cuda' || !model) return undefined;
  const why = deviceTrainingRefuses(args, model);
  return why === undefined ? undefined : l10n.t('the GPU path cannot train this run: {0}. Set "device" to "auto" (the CPU trains it) or "cpu"', why);
}

/**
 * Why tuner-train's device path would not train `args` on `model` (native/src/train/train_device.cpp
 * cuda_can_train with device_model_unsupported), or undefined when it would. A GPU's compute
 * capability is checked where it is known (the training kernels need 8.0 or newer); a run the
 * device path refuses trains on the CPU under device "auto".
 */
export function deviceTrainingRefuses(args: ResolvedArgs, model: ModelSpec, computeCapability?: string): string | undefined {
  if (computeCapability !== undefined && Number(computeCapability) < 8) return l10n.t('the GPU\'s compute capability is {0} and the training kernels need 8.0 or newer', computeCapability);
  if (args.method === 'lomo') return l10n.t('method lomo trains on the CPU only; the GPU path trains full, lora and qlora');
  if (args.stage === 'dpo') return l10n.t('stage dpo trains on the CPU only so far; the GPU path trains stage sft');
  if (!(DEVICE_ARCHITECTURES as readonly string[]).includes(model.architecture)) return l10n.t('{0} does not train on a GPU yet (the GPU path covers {1})', model.architecture, DEVICE_ARCHITECTURES.join(', '));
  if (args.rope_scaling === 'xpos') return l10n.t('xPos positions (rope_scaling xpos) do not train on a GPU yet');
  if (model.headDim % 2 !== 0 || model.headDim > 256) return l10n.t('head_dim {0} does not train on a GPU (even, at most 256)', model.headDim);
  return undefined;
}

/**
 * Where tuner-train trains a run (choose_train_device): "cpu" when the plan says so or no GPU was
 * found, "cuda" when asked for or (auto) when a GPU is there and the device path takes the run.
 */
export function trainDevice(args: ResolvedArgs, model: ModelSpec, gpu: { count: number; computeCapability?: string }): EngineDevice {
  if (args.device === 'cpu') return 'cpu';
  if (args.device === 'cuda') return 'cuda';
  return gpu.count > 0 && deviceTrainingRefuses(args, model, gpu.computeCapability) === undefined ? 'cuda' : 'cpu';
}
