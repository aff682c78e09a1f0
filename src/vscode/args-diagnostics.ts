// Diagnostics on ARGS.json: schema problems (with LMTuner and secret fixes) as the user types,
// and the pre-flight memory/time estimate, which reads the model's config.json and counts the
// dataset, after a pause in typing. The results are kept per document for the code actions and
// the hover.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cpuThroughputFor } from '../core/args/cpu-speed';
import { assumedCpuThroughput, type Throughput } from '../core/args/estimate';
import type { Args } from '../core/args/fields';
import { preflightProblems, type MachineInfo, type Preflight } from '../core/args/preflight';
import { assumedGpuThroughput } from '../core/planner/estimator';
import { validateArgsText, type ArgsCheck } from '../core/args/validate';
import { modelShapeKey } from '../core/args/throughput';
import { hasBf16Kernel, loadAddon } from '../core/engine/addon';
import type { Problem, Severity } from '../core/dataset/problem';
import type { ModelSpec } from '../core/model/spec';
import { cpuMeasurement, cpuMeasurementNow, setCpuSpeedStorage } from './cpu-speed';
import { log } from './output';
import { toRange } from './problem-mapping';

export const ARGS_DIAGNOSTIC_SOURCE = 'tuner-args';

export interface ArgsState {
  version: number;
  check: ArgsCheck;
  problems: Problem[];
  preflight?: Preflight;
}

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
  hint: vscode.DiagnosticSeverity.Hint,
};

export function isArgsDocument(doc: vscode.TextDocument): boolean {
  return path.basename(doc.uri.fsPath) === 'ARGS.json' && doc.uri.scheme === 'file';
}

const measured = new Map<string, { at: number; value: Throughput }>();

/**
 * The speed for a model shape: the workspace's newest finished run of it, else the engine's sgemm
 * measured here, else another run's, else a guess (re-read at most once a minute per shape).
 */
function workspaceThroughput(doc: vscode.TextDocument, spec: ModelSpec, cores: number, avx2: boolean): Throughput {
  const folder = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
  const key = JSON.stringify([folder, modelShapeKey(spec)]);
  const hit = measured.get(key);
  if (hit && Date.now() - hit.at < 60_000) return hit.value;
  const value = cpuThroughputFor(spec, { runsDir: path.join(folder, 'runs'), measurement: cpuMeasurementNow(), cores, avx2 });
  measured.set(key, { at: Date.now(), value });
  return value;
}

let devices: { avx2: boolean; bf16Kernel?: boolean; cudaGpus: number; gpuMemoryBytes?: number; gpuComputeCapability?: string; gpuThroughput?: Throughput } | undefined;

/** The CPU's kernel and the CUDA GPUs (the first one's memory, for the GPU estimate), probed once (NVML through the addon). */
function probeDevices(): NonNullable<typeof devices> {
  if (devices) return devices;
  devices = { avx2: true, cudaGpus: 0 };
  try {
    const addon = loadAddon();
    const hardware = addon.hardware();
    devices.avx2 = hardware.gemmKernel !== 'generic';
    devices.bf16Kernel = hasBf16Kernel(hardware.features);
    const gpus = addon.gpus?.();
    devices.cudaGpus = gpus?.available ? gpus.gpus.length : 0;
    const first = gpus?.available ? gpus.gpus[0] : undefined;
    devices.gpuMemoryBytes = first?.memoryFreeBytes ?? first?.memoryTotalBytes;
    devices.gpuComputeCapability = first?.computeCapability;
    if (first) devices.gpuThroughput = assumedGpuThroughput(first);
  } catch {
    // no addon in this build: assume a current x86-64 CPU and no GPU
  }
  return devices;
}

function machineInfo(doc: vscode.TextDocument): MachineInfo {
  const cores = os.cpus().length;
  const { avx2, bf16Kernel, cudaGpus, gpuMemoryBytes, gpuComputeCapability, gpuThroughput } = probeDevices();
  // Free memory as the kernel counts it available (page cache can be reclaimed).
  return { freeMemoryBytes: os.freemem(), totalMemoryBytes: os.totalmem(), cores, cudaGpus, gpuMemoryBytes, gpuComputeCapability, gpuThroughput, bf16Kernel, throughput: assumedCpuThroughput(cores, avx2), throughputFor: (spec) => workspaceThroughput(doc, spec, cores, avx2) };
}

/** Checks the chat template of the run's model (in a worker): the EOS warning, if any. */
export type TemplateCheck = (argsFile: string, args: Args) => Promise<string | undefined>;

export const TEMPLATE_EOS_CODE = 'ARG306';

export class ArgsDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection(ARGS_DIAGNOSTIC_SOURCE);
  private readonly states = new Map<string, ArgsState>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Fires after a document's diagnostics were updated (tests and the hover wait on it). */
  readonly onDidUpdate = this.changed.event;

  constructor(private readonly templateCheck?: TemplateCheck) {}

  state(uri: vscode.Uri): ArgsState | undefined {
    return this.states.get(uri.toString());
  }

  /** Schema check now; estimate after `delayMs` (0: at once). */
  update(doc: vscode.TextDocument, delayMs: number): void {
    if (!isArgsDocument(doc)) return;
    const key = doc.uri.toString();
    const check = validateArgsText(doc.getText());
    this.publish(doc, { version: doc.version, check, problems: check.problems });
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => this.estimate(doc, check), delayMs));
  }

  private estimate(doc: vscode.TextDocument, check: ArgsCheck): void {
    if (doc.isClosed || this.states.get(doc.uri.toString())?.version !== doc.version) return;
    try {
      const { problems, preflight } = preflightProblems(check, doc.uri.fsPath, machineInfo(doc));
      const st: ArgsState = { version: doc.version, check, problems: [...check.problems, ...problems], preflight };
      this.publish(doc, st);
      if (check.args && preflight && this.templateCheck) void this.checkTemplate(doc, st, check.args);
    } catch (e) {
      log.error(`estimate for ${doc.uri.fsPath}`, e);
    }
  }

  /** Adds the template's EOS warning once the worker has loaded the tokenizer. */
  private async checkTemplate(doc: vscode.TextDocument, st: ArgsState, args: Args): Promise<void> {
    let warning: string | undefined;
    try {
      warning = await this.templateCheck!(doc.uri.fsPath, args);
    } catch (e) {
      log.error(`chat template check for ${doc.uri.fsPath}`, e);
      return;
    }
    if (!warning || doc.isClosed || this.states.get(doc.uri.toString()) !== st) return;
    const where = st.check.locations.get('chat_template') ?? st.check.locations.get('model');
    if (!where) return;
    this.publish(doc, { ...st, problems: [...st.problems, { range: where.key, severity: 'warning', code: TEMPLATE_EOS_CODE, message: warning }] });
  }

  private publish(doc: vscode.TextDocument, st: ArgsState): void {
    this.states.set(doc.uri.toString(), st);
    this.collection.set(doc.uri, st.problems.map((p) => {
      const d = new vscode.Diagnostic(toRange(p.range), p.message, SEVERITY[p.severity]);
      d.source = ARGS_DIAGNOSTIC_SOURCE;
      d.code = p.code;
      return d;
    }));
    this.changed.fire(doc.uri);
  }

  /** A run ended (its speed is now this machine's measured one) or the sgemm was timed: estimate open ARGS.json files again. */
  speedMeasured(): void {
    measured.clear();
    for (const doc of vscode.workspace.textDocuments) if (this.states.has(doc.uri.toString())) this.update(doc, 0);
  }

  forget(uri: vscode.Uri): void {
    this.collection.delete(uri);
    this.states.delete(uri.toString());
    clearTimeout(this.timers.get(uri.toString()));
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.collection.dispose();
    this.changed.dispose();
  }
}

export function registerArgsDiagnostics(ctx: vscode.ExtensionContext, templateCheck?: TemplateCheck): ArgsDiagnostics {
  const diags = new ArgsDiagnostics(templateCheck);
  setCpuSpeedStorage(ctx.globalStorageUri.fsPath);
  void cpuMeasurement().then((m) => m && diags.speedMeasured());
  ctx.subscriptions.push(
    diags,
    vscode.workspace.onDidOpenTextDocument((d) => diags.update(d, 0)),
    vscode.workspace.onDidChangeTextDocument((e) => diags.update(e.document, 600)),
    vscode.workspace.onDidSaveTextDocument((d) => diags.update(d, 0)),
    vscode.workspace.onDidCloseTextDocument((d) => diags.forget(d.uri)),
  );
  for (const d of vscode.workspace.textDocuments) diags.update(d, 0);
  return diags;
}
