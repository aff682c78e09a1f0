import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dashboardHtml } from '../../../src/vscode/dashboard-html';
import { parseDashboardMessage, parseHostMessage, WebviewProtocolError } from '../../../webview/protocol';

test('dashboard messages are checked: version, type and fields', () => {
  assert.deepEqual(parseDashboardMessage({ v: 1, type: 'ready' }), { v: 1, type: 'ready' });
  assert.deepEqual(parseDashboardMessage({ v: 1, type: 'control', command: 'stop' }), { v: 1, type: 'control', command: 'stop' });
  assert.deepEqual(parseDashboardMessage({ v: 1, type: 'compare', runId: null }), { v: 1, type: 'compare', runId: null });
  assert.throws(() => parseDashboardMessage({ v: 2, type: 'ready' }), /version 2 is not 1/);
  assert.throws(() => parseDashboardMessage({ v: 1, type: 'control', command: 'rm -rf' }), WebviewProtocolError);
  assert.throws(() => parseDashboardMessage({ v: 1, type: 'explode' }), /unknown dashboard message type "explode"/);
  assert.throws(() => parseDashboardMessage(null), /not an object/);
  assert.throws(() => parseDashboardMessage({ v: 1, type: 'compare', runId: 3 }), /runId/);
});

test('host messages are checked on the webview side too', () => {
  assert.equal(parseHostMessage({ v: 1, type: 'events', run: {}, events: [] }).type, 'events');
  assert.throws(() => parseHostMessage({ v: 1, type: 'events', run: {} }), /needs run and events/);
  assert.throws(() => parseHostMessage({ v: 1, type: 'nope' }), /unknown host message type/);
});

test('the dashboard page allows only its own nonce-d script and origin', () => {
  const html = dashboardHtml({ cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://x.vscode-cdn.net/d.js', styleUri: 'https://x.vscode-cdn.net/d.css', nonce: 'abc123' });
  const csp = /content="(default-src[^"]+)"/.exec(html)![1];
  assert.match(csp, /^default-src 'none'; script-src 'nonce-abc123'; style-src https:\/\/x\.vscode-cdn\.net 'nonce-abc123'/);
  assert.doesNotMatch(csp, /unsafe/);
  assert.match(html, /<script nonce="abc123" src="https:\/\/x\.vscode-cdn\.net\/d\.js"><\/script>/);
  assert.doesNotMatch(html, /http:\/\//, 'no remote resources');
  const a = dashboardHtml({ cspSource: 's', scriptUri: 'j', styleUri: 'c' });
  const b = dashboardHtml({ cspSource: 's', scriptUri: 'j', styleUri: 'c' });
  assert.notEqual(/nonce-([^']+)/.exec(a)![1], /nonce-([^']+)/.exec(b)![1], 'a fresh nonce per page');
});
