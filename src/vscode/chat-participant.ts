// The @tuner chat participant: translates a chat request into a planning turn (src/core/planner)
// and its outcome back into chat output (a table, buttons) and reviewable file edits. It decides
// nothing itself: which model plans comes from settings, everything else from core.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { resolveArgs, type Args, type ArgsFieldName } from '../core/args/fields';
import { applyTextEdits } from '../core/args/edits';
import { validateArgsText } from '../core/args/validate';
import type { TextEdit } from '../core/dataset/problem';
import { probeHardware } from '../core/hardware/probe';
import type { HardwareProfile } from '../core/hardware/types';
import { checkPlan } from '../core/planner/check';
import { workspaceEnvironment, type WorkspaceEnvironment } from '../core/planner/environment';
import { parseGoal } from '../core/planner/goal';
import type { ChatBackend } from '../core/planner/loop';
import { OpenAiBackend } from '../core/planner/openai-backend';
import { reasonFor, estimateLine } from '../core/planner/reasons';
import { renderTrainingReadme } from '../core/planner/readme';
import { renderExplanation, renderHardware, renderPlan } from '../core/planner/render';
import { planTurn, type PlanTurn } from '../core/planner/session';
import { argsText, ChatRecorder, findArgsFile, PREVIOUS_SCHEME, PreviousVersions, readArgs, RecordingStream, writeFileEdit } from './chat-files';
import { Config } from './config';
import { LanguageModelBackend } from './lm-backend';
import { LM_VENDOR, registerLanguageModelProvider, RULES_MODEL_ID } from './lm-provider';
import { errorMessage, log } from './output';
import type { PlannerSecrets } from './secrets';
import { trustedOrAsk } from './workspace-guard';
import { exportHandoff, handoffSummary } from './handoff-commands';
import { workspaceCpuSpeed } from './cpu-speed';

export const PARTICIPANT_ID = 'tuner.planner';
/** The run command the "Start fine-tune" button executes with the ARGS.json uri. */
export const START_COMMAND = 'tuner.startRun';
export const README_FILE = 'TRAINING.md';

interface Deps {
  secrets: PlannerSecrets;
  previous: PreviousVersions;
  recorder: ChatRecorder;
}

async function chooseBackend(request: vscode.ChatRequest, secrets: PlannerSecrets): Promise<{ backend?: ChatBackend; note?: string }> {
  const c = Config.planner();
  if (c.backend === 'rules') return {};
  if (c.backend === 'openai' || (c.backend === 'auto' && c.openAiBaseUrl)) {
    if (!c.openAiBaseUrl || !c.openAiModel) return { note: vscode.l10n.t('Set `tuner.planner.openai.baseUrl` and `tuner.planner.openai.model` to plan with an OpenAI-compatible endpoint; this plan comes from the built-in rules.') };
    // The key goes only to the endpoint it was entered for, unless the user agrees now.
    return { backend: new OpenAiBackend({ baseURL: c.openAiBaseUrl, model: c.openAiModel, apiKey: await secrets.keyFor(c.openAiBaseUrl), timeoutMs: c.timeoutMs }) };
  }
  // Tuner's own rules model (lm-provider.ts, offered while VS Code has no chat model) is the rules.
  if (request.model?.vendor === LM_VENDOR && request.model.id === RULES_MODEL_ID) return {};
  return request.model ? { backend: new LanguageModelBackend(request.model) } : {};
}

/** Earlier @tuner turns of this conversation, as prompt and reply text. */
function history(context: vscode.ChatContext): { user: string; reply: string }[] {
  const out: { user: string; reply: string }[] = [];
  for (const t of context.history) {
    if (t instanceof vscode.ChatRequestTurn && t.participant === PARTICIPANT_ID && (!t.command || t.command === 'plan' || t.command === 'fix')) out.push({ user: t.prompt, reply: '' });
    else if (t instanceof vscode.ChatResponseTurn && t.participant === PARTICIPANT_ID && out.length) {
      out[out.length - 1].reply = t.response.map((p) => (p instanceof vscode.ChatResponseMarkdownPart ? p.value.value : '')).join('');
    }
  }
  return out;
}

async function showPlan(turn: PlanTurn, argsUri: vscode.Uri, stream: RecordingStream, deps: Deps, goal?: string): Promise<Record<string, unknown>> {
  stream.markdown(renderPlan(turn));
  if (turn.kind === 'question') stream.button({ title: vscode.l10n.t('Answer with quick picks…'), command: 'tuner.planFineTune', arguments: [{ goal }] });
  if (turn.kind !== 'plan' || !turn.args) return { kind: turn.kind, source: turn.source };
  const previous = await writeFileEdit(argsUri, argsText(turn.args), '@tuner plan');
  const rel = vscode.workspace.asRelativePath(argsUri);
  stream.markdown(vscode.l10n.t('\n\nWrote `{0}` (undo with Ctrl+Z in the editor).', rel));
  stream.button({ title: vscode.l10n.t('Start fine-tune'), command: START_COMMAND, arguments: [argsUri] });
  stream.button({ title: vscode.l10n.t('Open ARGS.json'), command: 'vscode.open', arguments: [argsUri] });
  if (previous !== undefined && previous !== argsText(turn.args)) {
    stream.button({ title: vscode.l10n.t('Show changes'), command: 'vscode.diff', arguments: [deps.previous.remember(argsUri, previous), argsUri, vscode.l10n.t('{0}: before ↔ @tuner', rel)] });
  }
  log.info(`@tuner: wrote ${argsUri.fsPath} (${turn.args.method}, planned by ${turn.source})`);
  return { kind: 'plan', source: turn.source, argsUri: argsUri.toString() };
}

function explain(env: WorkspaceEnvironment, args: Args): string {
  const a = resolveArgs(args);
  const model = env.findModel(args.model);
  const dataset = env.tryInspect(args.data, model?.dir);
  const estimate = model ? env.estimator(a, { model: model.spec, hardware: env.hardware, dataset: dataset && { records: dataset.records, meanTokens: dataset.tokens.mean } }) : undefined;
  const reasons: Partial<Record<ArgsFieldName, string>> = {};
  for (const k of Object.keys(args) as ArgsFieldName[]) reasons[k] = reasonFor(k, a, { hardware: env.hardware, model, dataset, estimate, stated: new Set() });
  return `${renderExplanation(args as unknown as Record<string, unknown>, reasons)}\n\n${estimateLine(estimate)}`;
}

function modelBytes(dir: string | undefined): number | undefined {
  if (!dir) return undefined;
  try {
    return fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0) || undefined;
  } catch {
    return undefined;
  }
}

let probed: { at: number; dir: string; hw: Promise<HardwareProfile> } | undefined;
/** One probe per half minute: nvidia-smi can take a second, and free memory changes slowly. */
function cachedProbe(dir: string): Promise<HardwareProfile> {
  if (!probed || probed.dir !== dir || Date.now() - probed.at > 30_000) probed = { at: Date.now(), dir, hw: probeHardware({ diskPath: dir }) };
  return probed.hw;
}

async function handle(request: vscode.ChatRequest, context: vscode.ChatContext, stream: RecordingStream, token: vscode.CancellationToken, deps: Deps): Promise<Record<string, unknown>> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    stream.markdown(vscode.l10n.t('Open the folder with your data (and model) first: @tuner writes `ARGS.json` into it.'));
    return { kind: 'no-folder' };
  }
  // /hardware and /explain only read; planning, /fix and /readme write files, and planning
  // sends the workspace's data description to a model: those wait for a trusted workspace.
  if (request.command !== 'hardware' && request.command !== 'explain' && !(await trustedOrAsk(vscode.l10n.t('@tuner planning')))) {
    stream.markdown(vscode.l10n.t('This folder is in Restricted Mode: @tuner writes `ARGS.json` and reads the data only in a trusted workspace. Trust the folder (Workspaces: Manage Workspace Trust), then ask again; `/hardware` and `/explain` work as they are.'));
    return { kind: 'untrusted' };
  }
  const argsUri = findArgsFile(folder);
  stream.progress(vscode.l10n.t('Probing this machine…'));
  const hardware = await cachedProbe(folder.uri.fsPath);
  const env = workspaceEnvironment({ workspaceDir: path.dirname(argsUri.fsPath), hardware, cpuSpeed: await workspaceCpuSpeed(path.dirname(argsUri.fsPath)) });
  const existing = await readArgs(argsUri);
  const badArgs = () => vscode.l10n.t('`{0}` has errors: {1}', vscode.workspace.asRelativePath(argsUri), String(existing.check?.problems.filter((p) => p.severity === 'error').map((p) => vscode.l10n.t('line {0}: {1}', p.range.line + 1, p.message)).join(' ')));

  switch (request.command) {
    case 'hardware':
      stream.markdown(renderHardware(hardware));
      return { kind: 'hardware' };
    case 'explain':
      if (!existing.check) stream.markdown(vscode.l10n.t('There is no `ARGS.json` yet: describe your goal to @tuner and it writes one.'));
      else if (!existing.check.args) stream.markdown(vscode.l10n.t('{0}\n\nRun `@tuner /fix`.', badArgs()));
      else stream.markdown(explain(env, existing.check.args));
      return { kind: 'explain' };
    case 'fix': {
      if (!existing.check || existing.text === undefined) {
        stream.markdown(vscode.l10n.t('There is no `ARGS.json` to fix.'));
        return { kind: 'fix' };
      }
      // Every preferred quick fix at once (the same edits the editor offers), then re-fit memory.
      const edits: TextEdit[] = [];
      for (const p of existing.check.problems) {
        const f = p.fixes?.find((x) => x.preferred);
        if (f && f.edits.length === 1) edits.push(f.edits[0]);
      }
      let text = existing.text;
      try {
        text = applyTextEdits(existing.text, edits);
      } catch {
        text = applyTextEdits(existing.text, edits.slice(0, 1));
      }
      const rel = vscode.workspace.asRelativePath(argsUri);
      if (text !== existing.text) {
        await writeFileEdit(argsUri, text, '@tuner fix');
        stream.markdown(edits.length === 1 ? vscode.l10n.t('Applied 1 quick fix to `{0}` (undo with Ctrl+Z).\n\n', rel) : vscode.l10n.t('Applied {0} quick fixes to `{1}` (undo with Ctrl+Z).\n\n', edits.length, rel));
      }
      const fixed = validateArgsText(text);
      if (!fixed.args) {
        stream.markdown(vscode.l10n.t('Still to fix by hand: {0}', fixed.problems.filter((p) => p.severity === 'error').map((p) => vscode.l10n.t('line {0}: {1}', p.range.line + 1, p.message)).join(' ')));
        stream.button({ title: vscode.l10n.t('Open ARGS.json'), command: 'vscode.open', arguments: [argsUri] });
        return { kind: 'fix', fixes: edits.length };
      }
      const check = checkPlan(fixed.args, env);
      if (check.ok) {
        stream.markdown(vscode.l10n.t('`{0}` is valid and fits. {1}', rel, estimateLine(check.estimate)));
        stream.button({ title: vscode.l10n.t('Start fine-tune'), command: START_COMMAND, arguments: [argsUri] });
        return { kind: 'fix', fixes: edits.length };
      }
      if (!check.estimate) {
        stream.markdown(check.problems.join(' '));
        return { kind: 'fix', fixes: edits.length };
      }
      const turn = await planTurn({ goal: request.prompt || 'make it fit', history: [], current: fixed.args, env });
      return { ...(await showPlan(turn, argsUri, stream, deps)), fixes: edits.length };
    }
    case 'readme': {
      let args = existing.check?.args;
      if (!args) {
        const turn = await planTurn({ goal: request.prompt, history: [], env });
        await showPlan(turn, argsUri, stream, deps);
        if (turn.kind !== 'plan' || !turn.args) return { kind: 'readme' };
        args = turn.args;
        stream.markdown('\n\n');
      }
      const target = parseGoal(request.prompt).targetHardware ?? hardware;
      // Planning for a described machine: its GPUs, not this one's device settings.
      if (target !== hardware) args = { ...args, device: target.gpus.length ? 'cuda' : 'cpu', gpus: Math.max(1, target.gpus.length), precision: target.gpus.length ? 'bf16' : 'fp32' };
      const model = env.findModel(args.model);
      const shape = env.datasetShape?.(args.data);
      const estimate = model ? env.estimator(resolveArgs(args), { model: model.spec, hardware: target, dataset: shape }) : undefined;
      const readmeUri = vscode.Uri.joinPath(argsUri, '..', README_FILE);
      await writeFileEdit(readmeUri, renderTrainingReadme({ args, argsFile: path.basename(argsUri.fsPath), model, estimate, hardware: target, modelBytes: modelBytes(model?.dir) }), '@tuner README');
      stream.markdown(vscode.l10n.t('Wrote `{0}`: hardware it needs, the data bundle to copy, the `tuner-train` command line and how to resume.', vscode.workspace.asRelativePath(readmeUri)));
      stream.button({ title: vscode.l10n.t('Open {0}', README_FILE), command: 'vscode.open', arguments: [readmeUri] });
      // Several GPUs: the hand-off folder runs the same training with torchrun, Axolotl or
      // LLaMA-Factory (docs/scale.md); otherwise the export command offers it.
      if (target.gpus.length > 1 && fs.existsSync(argsUri.fsPath)) {
        try {
          const h = exportHandoff(argsUri.fsPath, { nodes: 1, gpusPerNode: target.gpus.length, gpuMemoryBytes: target.gpus[0].memoryTotalBytes });
          stream.markdown('\n\n' + handoffSummary(h));
          stream.button({ title: vscode.l10n.t('Open {0}', `${path.basename(h.dir)}/README.md`), command: 'vscode.open', arguments: [vscode.Uri.file(path.join(h.dir, 'README.md'))] });
          return { kind: 'readme', readmeUri: readmeUri.toString(), handoffDir: h.dir };
        } catch (e) {
          stream.markdown('\n\n' + vscode.l10n.t('No folder for a cluster: {0}', errorMessage(e)));
        }
      } else stream.button({ title: vscode.l10n.t('Export Run for a Cluster…'), command: 'tuner.exportForCluster', arguments: [argsUri] });
      return { kind: 'readme', readmeUri: readmeUri.toString() };
    }
    default: {
      if (!request.prompt.trim()) {
        stream.markdown(vscode.l10n.t('Describe what the model should learn, e.g. *"answer our support tickets in a friendly tone from ./tickets.jsonl"*. I will pick the method, the memory settings and the hyper-parameters for this machine and write `ARGS.json`.'));
        return { kind: 'empty' };
      }
      const past = history(context);
      const current = past.length > 0 && existing.check?.args ? existing.check.args : undefined;
      const { backend, note } = await chooseBackend(request, deps.secrets);
      const ac = new AbortController();
      const sub = token.onCancellationRequested(() => ac.abort());
      stream.progress(backend ? vscode.l10n.t('Planning with {0}…', backend.label) : vscode.l10n.t('Planning…'));
      try {
        const turn = await planTurn({ goal: request.prompt, history: past, current, env, backend, workspaceName: folder.name, loop: { signal: ac.signal, timeoutMs: Config.planner().timeoutMs, onEvent: (e) => e.type === 'tool' && stream.progress(e.ok ? vscode.l10n.t('{0}…', e.name.replace(/_/g, ' ')) : vscode.l10n.t('{0} (rejected, retrying)…', e.name.replace(/_/g, ' '))) } });
        if (note) turn.notes.unshift(note);
        return await showPlan(turn, argsUri, stream, deps, request.prompt);
      } finally {
        sub.dispose();
      }
    }
  }
}

export interface ChatParticipantApi {
  recorder: ChatRecorder;
  /** The participant's request handler (integration tests call it with a real chat model). */
  handler: vscode.ChatRequestHandler;
}

export function registerChatParticipant(ctx: vscode.ExtensionContext, secrets: PlannerSecrets): ChatParticipantApi {
  const deps: Deps = { secrets, previous: new PreviousVersions(), recorder: new ChatRecorder() };
  const handler: vscode.ChatRequestHandler = async (request, context, response, token) => {
    const stream = new RecordingStream(response, request.prompt, request.command);
    try {
      const metadata = await handle(request, context, stream, token, deps);
      stream.turn.metadata = metadata;
      return { metadata };
    } catch (err) {
      log.error(`@tuner ${request.command ?? 'plan'} failed`, err);
      stream.markdown(vscode.l10n.t('\n\n**Tuner could not finish this:** {0}', errorMessage(err)));
      stream.turn.metadata = { kind: 'error' };
      return { errorDetails: { message: errorMessage(err) }, metadata: { kind: 'error' } };
    } finally {
      deps.recorder.add(stream.turn);
    }
  };
  const participant = vscode.chat.createChatParticipant(PARTICIPANT_ID, handler);
  registerLanguageModelProvider(ctx, secrets);
  participant.iconPath = new vscode.ThemeIcon('beaker');
  participant.followupProvider = {
    provideFollowups(result) {
      if (result.metadata?.kind !== 'plan') return [];
      return [
        { prompt: 'make it fit in 8 GB', label: vscode.l10n.t('Make it fit in 8 GB') },
        { prompt: 'use Lion', label: vscode.l10n.t('Use the Lion optimizer') },
        { prompt: '', command: 'readme', label: vscode.l10n.t('Write a README to train on another machine') },
      ];
    },
  };
  ctx.subscriptions.push(participant, vscode.workspace.registerTextDocumentContentProvider(PREVIOUS_SCHEME, deps.previous));
  return { recorder: deps.recorder, handler };
}
