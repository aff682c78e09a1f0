import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPlannerSettings, describePlannerSettings } from '../../../src/core/planner/planner-settings';

const keys = { backend: 'tuner.planner.backend', timeoutSeconds: 'tuner.planner.timeoutSeconds', openAiBaseUrl: 'tuner.planner.openai.baseUrl', openAiModel: 'tuner.planner.openai.model' };

test('planner settings: a typo in the backend and a non-number timeout are reported, not read as "auto" and NaN', () => {
  const bad = checkPlannerSettings({ backend: 'rule', timeoutSeconds: 'sixty', openAiBaseUrl: ' http://localhost:11434/v1 ', openAiModel: undefined }, keys);
  assert.deepEqual(bad.settings, { backend: 'auto', timeoutMs: 60_000, openAiBaseUrl: 'http://localhost:11434/v1', openAiModel: '' });
  assert.deepEqual(bad.problems, [
    'Setting tuner.planner.backend: "rule" is not one of "auto", "languageModel", "openai", "rules"; using "auto".',
    'Setting tuner.planner.timeoutSeconds: "sixty" is not a number of seconds of at least 5; using 60.',
  ]);
  assert.equal(checkPlannerSettings({ backend: 'rules', timeoutSeconds: 2, openAiBaseUrl: '', openAiModel: '' }, keys).problems.length, 1, 'below the minimum');
  const good = checkPlannerSettings({ backend: 'rules', timeoutSeconds: 90, openAiBaseUrl: undefined, openAiModel: undefined }, keys);
  assert.deepEqual(good, { settings: { backend: 'rules', timeoutMs: 90_000, openAiBaseUrl: '', openAiModel: '' }, problems: [] });
  assert.equal(describePlannerSettings(good.settings), 'planner: backend rules, timeout 90 s');
});
