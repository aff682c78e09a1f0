// What the manifest tells VS Code about a workspace's power over Tuner: limited support for
// untrusted and virtual workspaces (the gated actions are checked in a real host by
// test/security/host), and settings a workspace must not set are scoped so that VS Code reads
// them from the user's settings only.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { SETTING_KEYS } from '../../../src/vscode/setting-keys';

const root = path.resolve(__dirname, '../../../..');
interface Manifest {
  capabilities?: { untrustedWorkspaces?: { supported: unknown; description?: string; restrictedConfigurations?: string[] }; virtualWorkspaces?: { supported: unknown; description?: string } };
  contributes: { configuration: { properties: Record<string, { scope?: string }> } };
}
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
/** Manifest strings are "%key%" references into package.nls.json (the English text). */
const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
const text = (s: string | undefined) => (s && /^%.+%$/.test(s) ? nls[s.slice(1, -1)] : s);

test('untrusted workspaces: limited support, saying what works in Restricted Mode', () => {
  const u = pkg.capabilities?.untrustedWorkspaces;
  assert.equal(u?.supported, 'limited');
  assert.match(text(u?.description) ?? '', /lints/);
  assert.match(text(u?.description) ?? '', /trusted workspace/);
});

test('virtual workspaces: limited support, declared', () => {
  assert.equal(pkg.capabilities?.virtualWorkspaces?.supported, 'limited');
  assert.ok(text(pkg.capabilities?.virtualWorkspaces?.description));
});

test('where the planner sends prompts and the key is the user\'s to set: application scope', () => {
  const props = pkg.contributes.configuration.properties;
  for (const key of [SETTING_KEYS.plannerBackend, SETTING_KEYS.plannerOpenAiBaseUrl, SETTING_KEYS.plannerOpenAiModel]) {
    assert.equal(props[key].scope, 'application', `${key} must not be settable by a workspace`);
  }
});

test('how large a file the editor\'s thread lints is the machine\'s to set, not a workspace\'s', () => {
  assert.equal(pkg.contributes.configuration.properties[SETTING_KEYS.lintWorkerThresholdBytes].scope, 'machine');
});
