// Planning without any language model: the few questions the rule planner needs answered
// (which model folder, which data file, which method), each with its choices and why each
// choice matters, then the same rule planning @tuner does (session.ts planTurn without a
// backend). The "Tuner: Plan a Fine-tune…" command asks these through quick picks; the chat
// asks them in words. Pure: no VS Code.
import type { GoalIntent } from './goal';
import { parseGoal } from './goal';
import type { WorkspaceEnvironment } from './environment';
import { planTurn, type PlanTurn } from './session';
import * as l10n from '@vscode/l10n';

/** The methods the trainer runs today ("auto" lets the rules choose and re-fit). */
export type MethodChoice = 'auto' | 'lora' | 'full';

export interface Choice<T extends string> {
  value: T;
  label: string;
  /** One line: what this choice means for this machine and this run. */
  detail: string;
}

export interface Question<T extends string = string> {
  id: 'model' | 'data' | 'method';
  /** The question as asked. */
  title: string;
  /** Why the planner needs it, shown above the choices. */
  why: string;
  choices: Choice<T>[];
  /** The value the goal already named (asked anyway when it names nothing). */
  stated?: T;
}

export interface Answers {
  model?: string;
  data?: string;
  method?: MethodChoice;
}

const billions = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${Math.round(n / 1e6)}M` : `${Math.round(n / 1e3)}K`);

export const METHOD_CHOICES: Choice<MethodChoice>[] = [
  { value: 'auto', get label() { return l10n.t('Let Tuner choose'); }, get detail() { return l10n.t('LoRA unless the goal says otherwise; batch, length and checkpointing are fitted to this machine\'s memory'); } },
  { value: 'lora', get label() { return l10n.t('LoRA adapters'); }, get detail() { return l10n.t('trains small adapter matrices on a frozen model: least memory, a few MB to keep, the usual choice'); } },
  { value: 'full', get label() { return l10n.t('Full fine-tune'); }, get detail() { return l10n.t('updates every weight: most capacity, but about 4x the model size in memory and a full copy to keep'); } },
];

/**
 * The questions `goal` leaves open in this workspace: model and data unless the goal names
 * them (the only candidate is still offered, so the user sees what will be used), and the method.
 */
export function plannerQuestions(goal: string, env: WorkspaceEnvironment): { intent: GoalIntent; questions: Question[] } {
  const intent = parseGoal(goal);
  const questions: Question[] = [];
  if (!intent.model) {
    questions.push({
      id: 'model',
      title: l10n.t('Which model should be fine-tuned?'),
      why: l10n.t('The model folder (config.json, *.safetensors, tokenizer.json) sets the memory needed and the chat template; these are the ones in this workspace and the Hugging Face cache.'),
      choices: env.models().map((m) => ({ value: m.ref, label: m.ref, detail: l10n.t('{0}, {1} parameters, {2} layers', m.spec.architecture, billions(m.params), m.spec.numLayers) })),
    });
  }
  if (!intent.data) {
    questions.push({
      id: 'data',
      title: l10n.t('Which JSON lines file holds the training data?'),
      why: l10n.t('Its size sets the epochs and the LoRA rank, its longest records the maximum length; one record per line.'),
      choices: env.datasets().map((d) => {
        const info = env.tryInspect(d);
        return { value: d, label: d, detail: info ? l10n.t('{0} records, {1} format, ~{2} tokens each{3}', info.records, info.format, info.tokens.mean, info.errors ? l10n.t(', {0} with errors', info.errors) : '') : l10n.t('not readable as JSON lines') };
      }),
    });
  }
  questions.push({
    id: 'method',
    title: l10n.t('How should the model be trained?'),
    why: l10n.t('The method decides what is trained and so how much memory and disk the run needs.'),
    choices: METHOD_CHOICES,
    stated: intent.method === 'lora' || intent.method === 'full' ? intent.method : undefined,
  });
  return { intent, questions };
}

/** Plans `goal` with the rules, the answers taking the place of what the goal did not say. */
export function planFromAnswers(goal: string, answers: Answers, env: WorkspaceEnvironment): Promise<PlanTurn> {
  const override: GoalIntent = {};
  if (answers.model) override.model = answers.model;
  if (answers.data) override.data = answers.data;
  if (answers.method && answers.method !== 'auto') override.method = answers.method;
  return planTurn({ goal, history: [], env, answers: override });
}
