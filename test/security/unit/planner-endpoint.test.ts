// The planner's API key is bound to the endpoint it was entered for: a workspace (or anything
// else) that changes the endpoint gets the key only when the user agrees (the editor asks on
// an "ask" decision). The editor side runs in test/security/host.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeStoredKey, keyDecision, normalizeEndpoint, parseStoredKey } from '../../../src/core/planner/endpoint-key';

test('endpoints compare by scheme, host, port and path; credentials, case of the host and a trailing slash do not matter', () => {
  assert.equal(normalizeEndpoint('https://API.example.com/v1/'), 'https://api.example.com/v1');
  assert.equal(normalizeEndpoint(' https://user:pw@api.example.com:443/v1 '), 'https://api.example.com/v1');
  assert.notEqual(normalizeEndpoint('https://api.example.com/v1'), normalizeEndpoint('http://api.example.com/v1'));
  assert.notEqual(normalizeEndpoint('https://api.example.com/v1'), normalizeEndpoint('https://api.example.com.evil.test/v1'));
  assert.notEqual(normalizeEndpoint('http://127.0.0.1:11434/v1'), normalizeEndpoint('http://127.0.0.1:11435/v1'));
});

test('the key is sent to its own endpoint, and asked about for any other', () => {
  const stored = parseStoredKey(encodeStoredKey({ key: 'sk-1', endpoint: normalizeEndpoint('https://api.example.com/v1') }));
  assert.deepEqual(keyDecision(stored, 'https://api.example.com/v1/'), { kind: 'send', key: 'sk-1' });
  for (const other of ['https://collector.evil.test/v1', 'http://api.example.com/v1', 'https://api.example.com/v2', 'https://api.example.com:8443/v1']) {
    const d = keyDecision(stored, other);
    assert.equal(d.kind, 'ask', other);
    assert.equal(d.kind === 'ask' && d.boundTo, 'https://api.example.com/v1');
  }
  assert.deepEqual(keyDecision(stored, 'not a url'), { kind: 'none' });
  assert.deepEqual(keyDecision(undefined, 'https://api.example.com/v1'), { kind: 'none' });
});

test('a key stored before keys were bound is asked about before it is sent anywhere', () => {
  const legacy = parseStoredKey('sk-legacy');
  assert.deepEqual(legacy, { key: 'sk-legacy' });
  const d = keyDecision(legacy, 'https://api.example.com/v1');
  assert.equal(d.kind, 'ask');
  assert.equal(d.kind === 'ask' && d.boundTo, undefined);
});
