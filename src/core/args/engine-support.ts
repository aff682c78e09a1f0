// What the engine that will run a plan can run, asked of the engine's own acceptance rule instead
// of listed a second time: tuner-train takes a plan when argsToRunPlan (the TypeScript side of
// its plan check, which refuses what the trainer cannot do) turns the ARGS into a run plan. As
// the engine learns a method, an optimizer or a quantized base, the planner offers it with no
// change here. The attention memory of the engine that runs the plan is stated here too: the
// CPU trainer materialises each head's T×T scores; the CUDA backend (and PyTorch's SDPA on a
// hand-off machine) is flash-style and keeps none.
import { argsToRunPlan, UnsupportedArgsError } from './run-plan';
import type { ResolvedArgs } from './fields';

export type EngineDevice = 'cpu' | 'cuda';

export interface EngineSupport {
  /** Why the engine on `device` would refuse `args`, or undefined when it runs them. */
  refuses(args: ResolvedArgs, device: EngineDevice): string | undefined;
  /** How attention scores are held in training: a full T×T matrix per head, or flash-style tiles. */
  attention(device: EngineDevice): 'materialized' | 'flash';
}

const PROBE_PATHS = { modelDir: '/model', trainDataDir: '/data', outputDir: '/out' };

/** The engine of this build: its acceptance rule (argsToRunPlan) for every device. */
export const engineSupport: EngineSupport = {
  refuses(args) {
    try {
      argsToRunPlan(args, PROBE_PATHS);
      return undefined;
    } catch (e) {
      if (e instanceof UnsupportedArgsError) return e.message;
      throw e;
    }
  },
  attention: (device) => (device === 'cuda' ? 'flash' : 'materialized'),
};
