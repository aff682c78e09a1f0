// "Tuner: Plan a Fine-tune…": planning with no chat at all. The goal comes from an input box,
// the questions the rules need (core/planner/questionnaire.ts: model folder, data file, method)
// from quick picks that say what each choice means, and the plan from the same rule planner as
// @tuner. ARGS.json is written as one undoable edit; the plan table with a reason per value
// opens in a Markdown preview beside it.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { probeHardware } from '../core/hardware/probe';
import { workspaceEnvironment } from '../core/planner/environment';
import { planFromAnswers, plannerQuestions, type Answers, type MethodChoice, type Question } from '../core/planner/questionnaire';
import { renderPlan } from '../core/planner/render';
import type { PlanTurn } from '../core/planner/session';
import { argsText, findArgsFile, writeFileEdit } from './chat-files';
import { log } from './output';
import { trustedOrAsk } from './workspace-guard';
import { workspaceCpuSpeed } from './cpu-speed';

export const PLAN_SCHEME = 'tuner-plan';

/** The explanations of the plans made in this session, shown read-only in the Markdown preview. */
export class PlanExplanations implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private seq = 0;

  add(text: string): vscode.Uri {
    const id = String(++this.seq);
    this.texts.set(id, text);
    return vscode.Uri.from({ scheme: PLAN_SCHEME, path: `/${vscode.l10n.t('Fine-tune plan {0}', id)}.md` });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(/(\d+)\.md$/.exec(uri.path)?.[1] ?? '') ?? '';
  }
}

/** Arguments a keybinding, a chat button or a test may pass; anything missing is asked. */
export interface PlanCommandArgs extends Answers {
  goal?: string;
}

export interface PlanCommandResult {
  kind: PlanTurn['kind'];
  argsUri?: string;
  /** The Markdown shown in the preview: the answers, the plan table, the estimate. */
  explanation: string;
}

const browse = () => vscode.l10n.t('$(folder-opened) Choose…');

/** "./x/y" for a path under the folder of ARGS.json, as ARGS.json writes it; absolute otherwise. */
function refOf(base: string, p: string): string {
  const rel = path.relative(base, p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : `./${rel.split(path.sep).join('/')}`;
}

/** One question as a quick pick; "Choose…" opens a file or folder dialog. Undefined when dismissed. */
async function ask(q: Question, base: string): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { value?: string };
  const items: Item[] = q.choices.map((c) => ({ label: c.label, detail: c.detail, value: c.value, description: c.value === q.stated ? vscode.l10n.t('(from your goal)') : undefined }));
  if (q.id !== 'method') items.push({ label: browse(), detail: q.id === 'model' ? vscode.l10n.t('a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)') : vscode.l10n.t('a JSON lines file, one record per line') });
  const picked = await vscode.window.showQuickPick(items, { title: q.title, placeHolder: q.why, ignoreFocusOut: true, matchOnDetail: true });
  if (!picked) return undefined;
  if (picked.value !== undefined) return picked.value;
  const chosen = await vscode.window.showOpenDialog({
    defaultUri: vscode.Uri.file(base),
    canSelectFolders: q.id === 'model',
    canSelectFiles: q.id === 'data',
    filters: q.id === 'data' ? { 'JSON lines': ['jsonl', 'json'] } : undefined,
    openLabel: q.id === 'model' ? vscode.l10n.t('Use this model') : vscode.l10n.t('Use this data'),
  });
  return chosen?.[0] ? refOf(base, chosen[0].fsPath) : undefined;
}

/** What was asked and answered, then the plan as @tuner shows it. */
function explanation(goal: string, questions: Question[], answers: Answers, turn: PlanTurn): string {
  const out = [vscode.l10n.t('# Fine-tune plan'), '', vscode.l10n.t('**Goal:** {0}', goal.replace(/\n/g, ' ')), ''];
  for (const q of questions) {
    const value = answers[q.id];
    const choice = q.choices.find((c) => c.value === value);
    if (value === undefined) continue;
    out.push(`- **${q.title}** \`${value}\`${choice ? ` — ${choice.detail}` : ''}. _${q.why}_`);
  }
  out.push('', renderPlan(turn));
  return out.join('\n');
}

export async function planFineTune(explanations: PlanExplanations, given: PlanCommandArgs = {}): Promise<PlanCommandResult | undefined> {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  if (!folder) throw new Error(vscode.l10n.t('open the folder with your data (and model) first: the plan is written to ARGS.json in it'));
  if (!(await trustedOrAsk(vscode.l10n.t('Planning a fine-tune')))) return undefined;
  const goal = given.goal ?? (await vscode.window.showInputBox({
    title: vscode.l10n.t('Plan a Fine-tune (1/4): the goal'),
    prompt: vscode.l10n.t('What should the model learn? Name a model folder, a data file, a method or a memory limit if you know them.'),
    placeHolder: vscode.l10n.t('e.g. answer our support tickets in a friendly tone'),
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : vscode.l10n.t('Describe the goal in a few words')),
  }));
  if (goal === undefined) return undefined;
  const argsUri = findArgsFile(folder);
  const base = path.dirname(argsUri.fsPath);
  const hardware = await probeHardware({ diskPath: base });
  const env = workspaceEnvironment({ workspaceDir: base, hardware, cpuSpeed: await workspaceCpuSpeed(base) });
  const { questions } = plannerQuestions(goal, env);
  const answers: Answers = { model: given.model, data: given.data, method: given.method };
  for (const q of questions) {
    if (answers[q.id] !== undefined) continue;
    const value = await ask(q, base);
    if (value === undefined) return undefined;
    if (q.id === 'method') answers.method = value as MethodChoice;
    else answers[q.id] = value;
  }
  const turn = await planFromAnswers(goal, answers, env);
  const text = explanation(goal, questions, answers, turn);
  await vscode.commands.executeCommand('markdown.showPreviewToSide', explanations.add(text));
  if (turn.kind !== 'plan' || !turn.args) {
    const why = [...turn.questions, ...turn.notes].join(' ') || vscode.l10n.t('the plan does not pass its checks');
    void vscode.window.showWarningMessage(vscode.l10n.t('Tuner: no plan written: {0}', why));
    return { kind: turn.kind, explanation: text };
  }
  await writeFileEdit(argsUri, argsText(turn.args), vscode.l10n.t('Tuner: Plan a Fine-tune'));
  const rel = vscode.workspace.asRelativePath(argsUri);
  log.info(`Plan a Fine-tune: wrote ${argsUri.fsPath} (${turn.args.method}, planned by ${turn.source})`);
  void vscode.window.showInformationMessage(vscode.l10n.t('Tuner: wrote {0} ({1}; undo with Ctrl+Z in the editor). The preview says why each value was chosen.', rel, turn.args.method ?? 'lora'), vscode.l10n.t('Start Fine-tune'), vscode.l10n.t('Open ARGS.json')).then((choice) => {
    if (choice === vscode.l10n.t('Start Fine-tune')) void vscode.commands.executeCommand('tuner.startRun', argsUri);
    if (choice === vscode.l10n.t('Open ARGS.json')) void vscode.commands.executeCommand('vscode.open', argsUri);
  });
  return { kind: 'plan', argsUri: argsUri.toString(), explanation: text };
}
