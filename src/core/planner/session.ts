// One chat turn of planning, independent of VS Code: read the goal (and what earlier turns
// settled), plan with the language model's tool loop when there is one and with the rules when
// there is not (or when the model fails), and check the result. Only a plan that passed the
// schema and the estimate comes back as kind "plan".
import type { Args, ArgsFieldName } from '../args/fields';
import { resolveArgs } from '../args/fields';
import type { HardwareProfile } from '../hardware/types';
import { checkPlan } from './check';
import type { LocalModel } from './context';
import type { WorkspaceEnvironment } from './environment';
import { planExplanation } from './explain';
import type { PlanEstimate } from './estimator';
import { mergeIntents, parseGoal, type GoalIntent } from './goal';
import { truncationWarning } from './lengths';
import { runPlannerLoop, type ChatBackend, type ChatMessage, type LoopOptions } from './loop';
import { impracticalWarning } from './practical';
import { systemPrompt } from './prompts/system';
import { reasonFor } from './reasons';
import { planWithRules } from './rules';
import { plannerTools } from './tools';
import * as l10n from '@vscode/l10n';

export interface PlanTurnInput {
  goal: string;
  /** Earlier user prompts and replies of this conversation, oldest first. */
  history: { user: string; reply: string }[];
  /** The ARGS.json of this conversation so far; a follow-up modifies it. */
  current?: Args;
  env: WorkspaceEnvironment;
  backend?: ChatBackend;
  loop?: LoopOptions;
  workspaceName?: string;
  /** Answers to the planner's questions (questionnaire.ts), taking precedence over the goal's words. */
  answers?: GoalIntent;
}

export interface PlanTurn {
  kind: 'plan' | 'question' | 'rejected';
  args?: Args;
  estimate?: PlanEstimate;
  model?: LocalModel;
  hardware: HardwareProfile;
  reasons: Partial<Record<ArgsFieldName, string>>;
  /** The language model's summary or question. */
  text: string;
  /** Fallbacks and warnings, shown under the plan. */
  notes: string[];
  /** Why these modules, what the lengths imply, how long here, what is given up for speed. */
  explanation?: string[];
  questions: string[];
  /** Who planned: "rules" or the backend's label. */
  source: string;
}

/** What earlier turns settled that later turns keep: a memory limit, the target machine, the device. */
function conversationIntent(input: PlanTurnInput): GoalIntent {
  const now = mergeIntents(parseGoal(input.goal), input.answers ?? {});
  const before = mergeIntents(...input.history.map((h) => parseGoal(h.user)));
  if (!input.current) return mergeIntents(before, now);
  return mergeIntents({ memoryLimitBytes: before.memoryLimitBytes, targetHardware: before.targetHardware, device: before.device }, now);
}

function chooseModel(intent: GoalIntent, input: PlanTurnInput): LocalModel | undefined {
  const env = input.env;
  const named = intent.model ?? input.current?.model;
  if (named) return env.findModel(named);
  const models = env.models();
  if (models.length === 1) return models[0];
  if (intent.modelParams && models.length > 0) return [...models].sort((a, b) => Math.abs(Math.log(a.params / intent.modelParams!)) - Math.abs(Math.log(b.params / intent.modelParams!)))[0];
  return undefined;
}

function rulePlan(input: PlanTurnInput, intent: GoalIntent, hardware: HardwareProfile, source = 'rules'): PlanTurn {
  const env = input.env;
  const model = chooseModel(intent, input);
  const datasets = env.datasets();
  const dataRef = intent.data ?? input.current?.data ?? (datasets.length === 1 ? datasets[0] : undefined);
  const dataset = dataRef ? env.tryInspect(dataRef, model?.dir) : undefined;
  const r = planWithRules({ intent, hardware, model, models: env.models(), dataset, dataRef, current: input.current, estimator: env.estimator, workspaceDir: env.workspaceDir });
  if (!dataRef && datasets.length > 1) r.questions = r.questions.map((q) => (q.startsWith('Which JSON lines') ? l10n.t('Which file holds the training data: {0}?', datasets.join(', ')) : q));
  if (!r.args) return { kind: 'question', hardware, reasons: {}, text: '', notes: r.warnings, questions: r.questions, source };
  const checked = checkPlan(r.args, { ...env, hardware, memoryLimitBytes: intent.memoryLimitBytes });
  if (!checked.ok) return { kind: 'rejected', args: r.args, estimate: r.estimate, model, hardware, reasons: r.reasons, text: '', notes: [...r.warnings, ...checked.problems], questions: [], source, explanation: r.explanation };
  return { kind: 'plan', args: r.args, estimate: checked.estimate, model, hardware, reasons: r.reasons, text: '', notes: r.warnings, questions: [], source, explanation: r.explanation };
}

export async function planTurn(input: PlanTurnInput): Promise<PlanTurn> {
  const intent = conversationIntent(input);
  const described = intent.targetHardware && !(intent.targetIsOwn && input.env.hardware.gpus.length > 0) ? intent.targetHardware : undefined;
  const hardware = described ?? input.env.hardware;
  if (!input.backend) return rulePlan(input, intent, hardware);
  const env: WorkspaceEnvironment = { ...input.env, hardware, memoryLimitBytes: intent.memoryLimitBytes };
  const messages: ChatMessage[] = [{ role: 'system', content: systemPrompt({ current: input.current, datasets: env.datasets(), workspaceName: input.workspaceName ?? 'workspace' }) }];
  for (const h of input.history) messages.push({ role: 'user', content: h.user }, { role: 'assistant', content: h.reply });
  messages.push({ role: 'user', content: input.goal });
  const out = await runPlannerLoop(input.backend, messages, plannerTools(), env, input.loop);
  if (out.kind === 'plan' && out.plan.args) {
    const stated = new Set(Object.keys(parseGoalStated(intent)));
    const resolved = resolveArgs(out.plan.args);
    const dataset = env.tryInspect(out.plan.args.data, out.plan.model?.dir);
    const reasons: PlanTurn['reasons'] = {};
    for (const k of Object.keys(out.plan.args) as ArgsFieldName[]) reasons[k] = reasonFor(k, resolved, { hardware, model: out.plan.model, dataset, estimate: out.plan.estimate, stated });
    const explanation = planExplanation(resolved, { hardware, model: out.plan.model, dataset, estimate: out.plan.estimate });
    // The same warnings as a rule plan's: records cut short, and a run too long for this machine.
    const notes: string[] = [];
    const cut = dataset && truncationWarning(dataset, resolved.max_length);
    if (cut) notes.push(cut);
    const { model, estimate } = out.plan;
    const slow = model && estimate && impracticalWarning({ args: resolved, estimate, model, models: env.models(), hardware, estimator: env.estimator, ctx: { model: model.spec, hardware, memoryLimitBytes: intent.memoryLimitBytes, dataset: dataset && { records: dataset.records, meanTokens: dataset.tokens.mean } } });
    if (slow) notes.push(slow);
    return { kind: 'plan', args: out.plan.args, estimate, model, hardware, reasons, text: out.text, notes, questions: [], source: input.backend.label, explanation };
  }
  if (out.kind === 'answer') return { kind: 'question', hardware, reasons: {}, text: out.text, notes: [], questions: [], source: input.backend.label };
  if (out.kind !== 'failed') throw new Error(l10n.t('unreachable: an accepted plan always has args'));
  if (out.reason === 'cancelled') return { kind: 'question', hardware, reasons: {}, text: '', notes: ['Cancelled.'], questions: [], source: input.backend.label };
  const fallback = rulePlan(input, intent, hardware, l10n.t('rules (after {0})', input.backend.label));
  fallback.notes.unshift(l10n.t('The language model could not plan this ({0}: {1}); this plan comes from Tuner\'s built-in rules.', out.reason, out.message));
  return fallback;
}

/** Which ARGS fields the user's words set, for "you asked for it" in the reasons. */
function parseGoalStated(g: GoalIntent): Partial<Record<ArgsFieldName, true>> {
  const map: [keyof GoalIntent, ArgsFieldName][] = [['model', 'model'], ['data', 'data'], ['method', 'method'], ['quantization', 'quantization'], ['optimizer', 'optimizer'], ['maxLength', 'max_length'], ['epochs', 'epochs'], ['maxSteps', 'max_steps'], ['learningRate', 'learning_rate'], ['loraRank', 'lora_rank'], ['batchSize', 'batch_size'], ['modelName', 'model_name']];
  const out: Partial<Record<ArgsFieldName, true>> = {};
  for (const [from, to] of map) if (g[from] !== undefined) out[to] = true;
  return out;
}
