// The tools a language model plans with. Input schemas come from the ARGS.json field table, so
// set_args and estimate accept exactly what ARGS.json may hold. Tool results are JSON text; a bad
// call gets an error result naming the problem, which the model can correct.
import { argsJsonSchema } from '../args/schema';
import { looksLikeSecret } from '../args/secrets';
import type { HardwareProfile } from '../hardware/types';
import { resolveArgs, type Args } from '../args/fields';
import { checkPlan, type CheckEnvironment, type CheckedPlan } from './check';
import type { DatasetInfo, LocalModel } from './context';

export interface ToolDef {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface ToolCall {
  id: string;
  name: string;
  /** The raw arguments text the model produced (may be malformed JSON). */
  arguments: string;
}

export interface PlannerEnvironment extends CheckEnvironment {
  models(): LocalModel[];
  inspectDataset(ref: string): DatasetInfo;
}

/** The ARGS.json schema as a tool input schema: the same properties, required keys and closure. */
export function argsToolSchema(): Record<string, unknown> {
  const s = argsJsonSchema();
  const properties = { ...(s.properties as Record<string, unknown>) };
  delete properties.$schema;
  return { type: 'object', properties, required: s.required, additionalProperties: false };
}

export const TOOL_NAMES = ['probe_hardware', 'list_local_models', 'inspect_dataset', 'estimate', 'set_args'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

export function plannerTools(): ToolDef[] {
  return [
    { name: 'probe_hardware', description: 'The machine the run trains on: CPU, cores, RAM, GPUs (name, memory total/free, compute capability), free disk.', inputSchema: { type: 'object', properties: {}, additionalProperties: false } },
    { name: 'list_local_models', description: 'Models available on this machine (workspace folders and the Hugging Face cache) with architecture and parameter count. Use a "ref" as ARGS.json "model".', inputSchema: { type: 'object', properties: {}, additionalProperties: false } },
    { name: 'inspect_dataset', description: 'Format, record count, lint errors and token-length statistics (mean, p95, max) of a JSON lines file, relative to the workspace.', inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'e.g. "./train.jsonl"' } }, required: ['path'], additionalProperties: false } },
    { name: 'estimate', description: 'Peak memory, whether it fits, optimizer steps and time of a proposed ARGS.json, without saving it.', inputSchema: argsToolSchema() },
    { name: 'set_args', description: 'Propose the complete ARGS.json. It is validated against the schema and the memory estimate; an error result says what to change. Call it once the plan is ready, then reply with a short summary.', inputSchema: argsToolSchema() },
  ];
}

export interface ToolResult {
  content: string;
  ok: boolean;
  /** set_args that passed every check. */
  accepted?: CheckedPlan;
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(4)) : x));
}

const gb = (n: number | undefined) => (n === undefined ? undefined : Number((n / 1024 ** 3).toFixed(1)));

function hardwareSummary(h: HardwareProfile): unknown {
  return {
    cpu: h.cpuModel, cores: h.cores, threads: h.threads, cpu_features: h.cpuFeatures,
    ram_total_gb: gb(h.ramTotalBytes), ram_available_gb: gb(h.ramAvailableBytes),
    gpus: h.gpus.map((g) => ({ name: g.name, memory_total_gb: gb(g.memoryTotalBytes), memory_free_gb: gb(g.memoryFreeBytes), compute_capability: g.computeCapability, driver: g.driverVersion })),
    disk_free_gb: gb(h.diskFreeBytes),
  };
}

export function parseToolArguments(text: string): { value?: Record<string, unknown>; error?: string } {
  if (text.trim() === '') return { value: {} };
  try {
    const v = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return { error: 'tool arguments must be a JSON object' };
    return { value: v as Record<string, unknown> };
  } catch (e) {
    return { error: `tool arguments are not valid JSON (${(e as Error).message}); send one JSON object` };
  }
}

export async function runTool(call: ToolCall, env: PlannerEnvironment): Promise<ToolResult> {
  if (!(TOOL_NAMES as readonly string[]).includes(call.name)) return { ok: false, content: json({ error: `unknown tool "${call.name}"; the tools are ${TOOL_NAMES.join(', ')}` }) };
  const parsed = parseToolArguments(call.arguments);
  if (!parsed.value) return { ok: false, content: json({ error: parsed.error }) };
  const input = parsed.value;
  try {
    switch (call.name as ToolName) {
      case 'probe_hardware':
        return { ok: true, content: json(hardwareSummary(env.hardware)) };
      case 'list_local_models':
        return { ok: true, content: json(env.models().map((m) => ({ ref: m.ref, architecture: m.spec.architecture, parameters_billions: Number((m.params / 1e9).toFixed(2)), layers: m.spec.numLayers, hidden_size: m.spec.hiddenSize, max_positions: m.spec.maxPositions }))) };
      case 'inspect_dataset': {
        if (typeof input.path !== 'string') return { ok: false, content: json({ error: 'inspect_dataset needs {"path": "<file>.jsonl"}' }) };
        const d = env.inspectDataset(input.path);
        return { ok: true, content: json({ path: d.ref, format: d.format, records: d.records, lint_errors: d.errors, lint_warnings: d.warnings, tokens: d.tokens }) };
      }
      case 'estimate': {
        const c = checkPlan(input, { ...env, estimator: env.estimator });
        if (!c.args || !c.model) return { ok: false, content: json({ error: c.problems.join(' ') }) };
        const e = c.estimate ?? env.estimator(resolveArgs(c.args as Args), { model: c.model.spec, hardware: env.hardware, memoryLimitBytes: env.memoryLimitBytes, dataset: env.datasetShape?.(c.args.data) });
        return { ok: true, content: json({ device: e.device, peak_memory_gb: gb(e.memoryBytes), available_gb: gb(e.budgetBytes), fits: e.fits, optimizer_steps: e.optimizerSteps, hours: e.seconds === undefined ? undefined : e.seconds / 3600, notes: e.notes }) };
      }
      case 'set_args': {
        const secret = Object.entries(input).find(([, v]) => typeof v === 'string' && looksLikeSecret(v));
        if (secret) return { ok: false, content: json({ error: `"${secret[0]}" holds what looks like an API key or token; ARGS.json never holds secrets. Remove it.` }) };
        const c = checkPlan(input, env);
        if (!c.ok) return { ok: false, content: json({ error: 'ARGS.json rejected', problems: c.problems }) };
        return { ok: true, accepted: c, content: json({ accepted: true, peak_memory_gb: gb(c.estimate?.memoryBytes), available_gb: gb(c.estimate?.budgetBytes), optimizer_steps: c.estimate?.optimizerSteps }) };
      }
    }
  } catch (e) {
    return { ok: false, content: json({ error: (e as Error).message }) };
  }
}
