// The rule catalogue: unique codes and ids, severities by id or code, and documentation for
// every rule in docs/lint-rules.md.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { lintText } from '../../../src/core/dataset/lint';
import { RULES, resolveSeverities } from '../../../src/core/dataset/rules';

test('rule codes and ids are unique and well-formed', () => {
  assert.equal(new Set(RULES.map((r) => r.code)).size, RULES.length);
  assert.equal(new Set(RULES.map((r) => r.id)).size, RULES.length);
  for (const r of RULES) {
    assert.match(r.code, /^TUN\d{3}$/);
    assert.match(r.id, /^[a-z0-9-]+$/);
    assert.ok(r.title && r.description.length > 20, r.id);
  }
});

test('every rule is documented with its code, id, severity, an example and a fix', () => {
  const doc = readFileSync(path.resolve(__dirname, '../../../../docs/lint-rules.md'), 'utf8');
  for (const r of RULES) {
    const at = doc.indexOf(`## ${r.code} ${r.id}`);
    assert.ok(at >= 0, `docs/lint-rules.md has no "## ${r.code} ${r.id}" section`);
    const next = doc.indexOf('\n## ', at + 1);
    const section = doc.slice(at, next < 0 ? undefined : next);
    assert.ok(section.includes(`Default severity: ${r.defaultSeverity}`), `${r.code}: default severity`);
    assert.ok(/Example/.test(section), `${r.code}: example`);
    assert.ok(/Fix/.test(section), `${r.code}: fix`);
  }
});

test('severities can be set by rule id or by code, and off disables a rule', () => {
  const sev = resolveSeverities({ 'invalid-json': 'warning', TUN401: 'off', nonsense: 'error' });
  assert.equal(sev.get('invalid-json'), 'warning');
  assert.equal(sev.get('duplicate-record'), 'off');
  const text = '{"text": "a"}\n{"text": "a"}\n{"text": \n';
  const r = lintText(text, { severities: { 'invalid-json': 'hint', TUN401: 'off' } });
  assert.deepEqual(r.problems.map((p) => [p.code, p.severity]), [['TUN101', 'hint']]);
});
