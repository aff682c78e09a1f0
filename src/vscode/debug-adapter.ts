// The `tuner` debug adapter: a training run seen through the Debug Adapter Protocol. One thread
// (the trainer); Continue runs, Pause pauses after the current step, Step Over / Into runs
// exactly one optimizer step, Stop saves a checkpoint and ends the trainer. Exception
// breakpoints "On NaN/Inf" and "On loss spike" and function breakpoints "step N" stop on the
// exact step (the session drives the trainer in lockstep). The Variables view shows the run's
// numbers; the debug console takes `save`, `status`, `pause`, `continue`.
// It does not import `vscode`: the extension hosts it inline, tests can drive it over streams.
// It is its own bundle (dist/debug-adapter.js), loaded when the first debug session starts.
import { DebugSession, InitializedEvent, OutputEvent, StoppedEvent, TerminatedEvent, Thread } from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import * as path from 'node:path';
import type { BreakpointHit, BreakpointSettings } from '../core/run/breakpoints';
import { formatDuration } from '../core/units';
import type { RunSession, StopReason } from '../core/run/run-session';
// This bundle has its own @vscode/l10n: the extension hands it the display language's bundle
// before the first session (debug-config.ts).
export { useL10nBundle } from '../core/l10n-bundle';
import * as l10n from '@vscode/l10n';

const THREAD_ID = 1;
const FRAME_ID = 1;
const SCOPE_RUN = 1;
const SCOPE_MODEL = 2;
const SCOPE_LAYERS = 3;

export interface TunerLaunchConfig extends DebugProtocol.LaunchRequestArguments {
  /** The ARGS.json to fine-tune with. */
  args?: string;
  /** Run this resolved plan.json as it is instead of ARGS.json (e.g. a plan copied from another run). */
  plan?: string;
  /** Continue this run id ("last": the newest) from its last checkpoint instead of starting anew. */
  resume?: string;
  stopOnEntry?: boolean;
  /** Break after these steps (also settable as function breakpoints "step N"). */
  breakAtSteps?: number[];
  /** Default threshold of the loss-spike breakpoint when its condition is empty. */
  lossSpikeFactor?: number;
}

/** `"request": "attach"`: debug a run that is already training (started without the debugger, or by a window that closed). */
export interface TunerAttachConfig extends DebugProtocol.AttachRequestArguments {
  /** The run id; absent: the newest live run. */
  run?: string;
  breakAtSteps?: number[];
  lossSpikeFactor?: number;
}

/** Starts the run the configuration asks for; the extension implements it with its RunController. */
export interface RunLauncher {
  launch(config: TunerLaunchConfig, options: { mode: 'free' | 'lockstep'; breakpoints: BreakpointSettings; stopOnEntry: boolean }): Promise<RunSession>;
  /** The live session of `runId` (or the newest live one), for `"request": "attach"`. */
  attach?(runId: string | undefined): Promise<RunSession>;
}

export const EXCEPTION_FILTERS: DebugProtocol.ExceptionBreakpointsFilter[] = [
  { filter: 'nonFinite', get label() { return l10n.t('On NaN/Inf'); }, get description() { return l10n.t('Stop when the loss or a gradient is NaN or infinite'); }, default: true },
  { filter: 'lossSpike', get label() { return l10n.t('On loss spike (× threshold)'); }, get description() { return l10n.t('Stop when the loss exceeds a multiple of its recent average'); }, default: false, supportsCondition: true, get conditionDescription() { return l10n.t('Threshold factor, e.g. 3 (default 3)'); } },
];

/** "step 100", "100", "at step 100" -> 100. */
export function parseStepBreakpoint(name: string): number | undefined {
  const m = /^\s*(?:at\s+)?(?:step\s*)?(\d+)\s*$/i.exec(name);
  return m ? Number(m[1]) : undefined;
}

export class TunerDebugSession extends DebugSession {
  private session: RunSession | undefined;
  private config: TunerLaunchConfig = {};
  private breakpoints: BreakpointSettings = { nonFinite: true, atSteps: [] };
  private configured!: () => void;
  private readonly configurationDone = new Promise<void>((r) => (this.configured = r));
  private lastHit: BreakpointHit | undefined;
  /** The trainer ended on a caught error: the session stays stopped until the user ends it. */
  private endedOnBreak = false;
  private terminated = false;
  /** Attached to a run that was training already: disconnecting leaves it training. */
  private attachedToLive = false;

  constructor(private readonly launcher: RunLauncher) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      supportsConfigurationDoneRequest: true,
      supportsFunctionBreakpoints: true,
      supportsExceptionInfoRequest: true,
      supportsTerminateRequest: true,
      supportsExceptionFilterOptions: true,
      exceptionBreakpointFilters: EXCEPTION_FILTERS,
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override setExceptionBreakPointsRequest(response: DebugProtocol.SetExceptionBreakpointsResponse, args: DebugProtocol.SetExceptionBreakpointsArguments): void {
    const opts = args.filterOptions ?? args.filters.map((filterId) => ({ filterId, condition: undefined as string | undefined }));
    const spike = opts.find((o) => o.filterId === 'lossSpike');
    let factor: number | undefined;
    if (spike) {
      factor = spike.condition?.trim() ? Number(spike.condition) : (this.config.lossSpikeFactor ?? 3);
      if (!Number.isFinite(factor) || factor <= 1) {
        response.success = false;
        response.message = l10n.t('loss spike threshold "{0}" must be a number above 1, e.g. 3', String(spike.condition));
        factor = undefined;
      }
    }
    this.updateBreakpoints({ nonFinite: opts.some((o) => o.filterId === 'nonFinite'), lossSpikeFactor: factor });
    this.sendResponse(response);
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const steps: number[] = [];
    response.body = {
      breakpoints: args.breakpoints.map((b) => {
        const step = parseStepBreakpoint(b.name);
        if (step !== undefined) steps.push(step);
        return step !== undefined ? { verified: true, message: l10n.t('after step {0}', step) } : { verified: false, message: l10n.t('"{0}" is not a step: write "step 100"', b.name) };
      }),
    };
    this.updateBreakpoints({ atSteps: [...steps, ...(this.config.breakAtSteps ?? [])] });
    this.sendResponse(response);
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.configured();
    this.sendResponse(response);
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, args: TunerLaunchConfig & { noDebug?: boolean }): Promise<void> {
    this.config = args;
    this.updateBreakpoints({ atSteps: [...this.breakpoints.atSteps, ...(args.breakAtSteps ?? [])] });
    await this.configurationDone;
    try {
      const session = await this.launcher.launch(args, {
        mode: args.noDebug ? 'free' : 'lockstep',
        breakpoints: this.breakpoints,
        stopOnEntry: !!args.stopOnEntry,
      });
      this.attach(session);
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1001, format: l10n.t('Tuner: {0}', (e as Error).message), showUser: true });
      this.terminate();
    }
  }

  /**
   * Attaches to a live run: it goes on in lockstep from its next step, so breakpoints apply;
   * Disconnect lets it train on freely, Stop stops it.
   */
  protected override async attachRequest(response: DebugProtocol.AttachResponse, args: TunerAttachConfig): Promise<void> {
    this.config = args;
    this.updateBreakpoints({ atSteps: [...this.breakpoints.atSteps, ...(args.breakAtSteps ?? [])] });
    await this.configurationDone;
    try {
      if (!this.launcher.attach) throw new Error(l10n.t('attaching to a live run is not available here'));
      const session = await this.launcher.attach(args.run);
      this.attachedToLive = true;
      this.attach(session);
      session.enterLockstep(this.breakpoints);
      this.sendResponse(response);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1006, format: l10n.t('Tuner: {0}', (e as Error).message), showUser: true });
      this.terminate();
    }
  }

  private attach(session: RunSession): void {
    this.session = session;
    this.output(l10n.t('run {0} in {1}\n', session.record.id, session.record.dir), 'console');
    session.listen({
      onStderr: (text) => this.output(text, 'stdout'),
      onStopped: (why) => this.onStopped(why),
      onExit: (_exit, s) => {
        if (s.status === 'failed' || s.status === 'interrupted') this.output(`${s.error?.message ?? s.status}${s.error?.hint ? `\n${s.error.hint}` : ''}\n`, 'stderr');
        if (this.lastHit?.kind === 'nonFinite' && s.status === 'failed') {
          // Stay stopped on the failing step so its numbers can be read; Continue or Stop ends it.
          this.endedOnBreak = true;
          return;
        }
        this.terminate();
      },
    });
  }

  private onStopped(why: StopReason): void {
    if (why.reason === 'breakpoint') {
      this.lastHit = why.hit;
      const reason = why.hit.kind === 'atStep' ? 'breakpoint' : 'exception';
      const label = why.hit.kind === 'nonFinite' ? 'NaN/Inf' : why.hit.kind === 'lossSpike' ? l10n.t('loss spike') : `step ${why.hit.step}`;
      const ev = new StoppedEvent(reason, THREAD_ID, label) as DebugProtocol.StoppedEvent;
      ev.body.description = why.hit.description;
      this.sendEvent(ev);
      return;
    }
    this.lastHit = undefined;
    this.sendEvent(new StoppedEvent(why.reason, THREAD_ID));
  }

  private updateBreakpoints(b: Partial<BreakpointSettings>): void {
    this.breakpoints = { ...this.breakpoints, ...b };
    if (this.session) this.session.breakpoints = this.breakpoints;
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: [new Thread(THREAD_ID, this.session ? l10n.t('tuner-train (run {0})', this.session.record.id) : 'tuner-train')] };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse): void {
    const s = this.session?.snapshot;
    const name = s ? `step ${s.step} / ${s.maxSteps}${s.loss !== undefined ? ` · loss ${s.loss.toPrecision(5)}` : ''}` : 'starting';
    const argsFile = this.session?.record.meta.argsFile;
    response.body = {
      stackFrames: [{ id: FRAME_ID, name, line: 1, column: 1, source: argsFile ? { name: path.basename(argsFile), path: argsFile } : undefined, presentationHint: 'normal' }],
      totalFrames: 1,
    };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse): void {
    response.body = {
      scopes: [
        { name: l10n.t('Run'), variablesReference: SCOPE_RUN, expensive: false },
        { name: l10n.t('Layers (gradient / weight norm)'), variablesReference: SCOPE_LAYERS, expensive: false },
        { name: l10n.t('Model'), variablesReference: SCOPE_MODEL, expensive: false },
      ],
    };
    this.sendResponse(response);
  }

  /** The Variables view (exported shape: name -> value) for the tests. */
  variables(scope: number): { name: string; value: string }[] {
    const s = this.session?.snapshot;
    if (!s) return [];
    const v = (name: string, value: unknown) => ({ name, value: value === undefined ? '–' : String(value) });
    if (scope === SCOPE_RUN) {
      return [
        v('status', s.status),
        v('step', s.step),
        v('max_steps', s.maxSteps),
        v('loss', s.loss),
        v('eval_loss', s.evalLoss),
        v('lr', s.lr),
        v('grad_norm', s.gradNorm),
        v('tokens', s.tokens),
        v('tokens_per_s', s.tokensPerS),
        v('peak_memory_mib', s.peakMemoryBytes !== undefined ? (s.peakMemoryBytes / 1048576).toFixed(1) : undefined),
        ...(s.gpuPeakMemoryBytes !== undefined ? [v('gpu_peak_memory_mib', (s.gpuPeakMemoryBytes / 1048576).toFixed(1))] : []),
        v('eta', s.etaMs !== undefined ? formatDuration(s.etaMs / 1000) : undefined),
        v('last_checkpoint', s.lastCheckpoint ? `step ${s.lastCheckpoint.step}: ${s.lastCheckpoint.path}` : undefined),
        ...(s.error ? [v('error', `${s.error.code}: ${s.error.message}`)] : []),
      ];
    }
    if (scope === SCOPE_LAYERS) {
      return (s.layers ?? []).map((l) => v(l.name, l10n.t('grad {0} · weight {1}', l.grad_norm.toPrecision(4), l.weight_norm.toPrecision(4))));
    }
    const st = s.start;
    if (!st) return [];
    return [
      v('architecture', st.model.architecture),
      v('method', st.method),
      v('params', st.params),
      v('trainable_params', st.trainable_params),
      v('layers', st.model.num_layers),
      v('hidden_size', st.model.hidden_size),
      v('tokens_per_step', st.tokens_per_step),
      v('threads', st.threads),
      v('resumed_from', st.resumed_from ?? 'none'),
    ];
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    response.body = { variables: this.variables(args.variablesReference).map((x) => ({ ...x, variablesReference: 0 })) };
    this.sendResponse(response);
  }

  protected override exceptionInfoRequest(response: DebugProtocol.ExceptionInfoResponse): void {
    const hit = this.lastHit;
    response.body = {
      exceptionId: hit?.kind ?? 'none',
      description: hit?.description ?? l10n.t('not stopped on a training breakpoint'),
      breakMode: 'always',
    };
    this.sendResponse(response);
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse): void {
    if (this.endedOnBreak) {
      this.sendResponse(response);
      this.terminate();
      return;
    }
    this.session?.resume();
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
  }

  protected override nextRequest(response: DebugProtocol.NextResponse): void {
    this.stepOnce(response);
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse): void {
    this.stepOnce(response);
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse): void {
    this.stepOnce(response);
  }

  private stepOnce(response: DebugProtocol.Response): void {
    if (this.endedOnBreak) {
      this.sendErrorResponse(response, { id: 1002, format: l10n.t('the trainer has ended on this error; stop the session and resume from the last checkpoint'), showUser: true });
      return;
    }
    this.session?.step();
    this.sendResponse(response);
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.session?.pause();
    this.sendResponse(response);
  }

  protected override evaluateRequest(response: DebugProtocol.EvaluateResponse, args: DebugProtocol.EvaluateArguments): void {
    const cmd = args.expression.trim();
    const s = this.session;
    const reply = (result: string) => {
      response.body = { result, variablesReference: 0 };
      this.sendResponse(response);
    };
    if (!s) return this.sendErrorResponse(response, { id: 1003, format: l10n.t('the run has not started yet'), showUser: false });
    const known = this.variables(SCOPE_RUN).find((x) => x.name === cmd);
    if (known) return reply(known.value);
    switch (cmd) {
      case 'save':
        s.save();
        return reply(l10n.t('saving a checkpoint after the current step'));
      case 'pause':
        s.pause();
        return reply(l10n.t('pausing after the current step'));
      case 'continue':
        s.resume();
        return reply(l10n.t('continuing'));
      case 'status':
      case '':
        return reply(this.variables(SCOPE_RUN).map((x) => `${x.name} = ${x.value}`).join('\n'));
      case 'help':
        return reply(help());
      default:
        if (/^set\b/i.test(cmd)) {
          const m = /^set\s+(lr|lr_scale)\s+(\S+)$/i.exec(cmd);
          const value = m ? Number(m[2]) : NaN;
          if (!m || !Number.isFinite(value) || value <= 0) {
            return this.sendErrorResponse(response, { id: 1004, format: l10n.t('"{0}": write set lr <value> (a new peak learning rate, e.g. set lr 1e-4) or set lr_scale <factor> (e.g. set lr_scale 0.5), with a positive number', cmd), showUser: false });
          }
          const key = m[1].toLowerCase();
          s.setLearningRate(key === 'lr' ? { lr: value } : { lr_scale: value });
          return reply(key === 'lr' ? l10n.t('peak learning rate {0} from the next step (the schedule keeps its shape)', value) : l10n.t('learning rate × {0} from the next step', value));
        }
        return this.sendErrorResponse(response, { id: 1005, format: l10n.t('unknown command "{0}". {1}', cmd, help()), showUser: false });
    }
  }

  protected override disconnectRequest(response: DebugProtocol.DisconnectResponse, args?: DebugProtocol.DisconnectArguments): void {
    if (this.attachedToLive && args?.terminateDebuggee !== true) {
      // Detaching the debugger is not stopping the run it attached to.
      this.session?.leaveLockstep();
      this.sendResponse(response);
      return;
    }
    void this.stopRun().then(() => this.sendResponse(response));
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    void this.stopRun().then(() => {
      this.sendResponse(response);
      this.terminate();
    });
  }

  /** Stop = checkpoint and exit: the trainer saves before it ends. */
  private async stopRun(): Promise<void> {
    const s = this.session;
    if (!s) return;
    s.stop();
    await s.exited;
  }

  private terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    this.sendEvent(new TerminatedEvent());
  }

  private output(text: string, category: 'console' | 'stdout' | 'stderr'): void {
    this.sendEvent(new OutputEvent(text, category));
  }
}

const help = () => l10n.t('Commands: save (checkpoint now), pause, continue, status, set lr <value>, set lr_scale <factor>, or a variable name (loss, lr, step, tokens, grad_norm…).');
