// Two things a user reads while working, in the real host: lint messages say each thing once
// (the column is the diagnostic's range, not repeated in the text; no parentheses nested in
// parentheses), and the ETA of a long run comes from the wall time between its steps, so a
// 20,000-step run of a fast tiny model shows the time the rest of it really takes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { makeTinyProject } from '../../unit/run/tiny-run';
import { closeAllEditors, tunerApi, waitFor, workspaceFile } from './helpers';

suite('messages read once; the ETA of a long run from wall time', function () {
  this.timeout(120_000);
  teardown(closeAllEditors);

  test('lint messages name neither the column again nor nest parentheses', async () => {
    const file = workspaceFile('messages.jsonl');
    fs.writeFileSync(file.fsPath, [
      '{"input": "What is LoRA?", "output": "A low-rank adapter method.",}',
      '{"text": 5}',
      '{"messages": [{"role": "user", "content": 7}]}',
    ].join('\n') + '\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const diags = await waitFor('diagnostics on every line', () => {
      const d = vscode.languages.getDiagnostics(file).filter((x) => x.source === 'tuner');
      return new Set(d.map((x) => x.range.start.line)).size >= 3 && d;
    });
    const messages = diags.map((d) => d.message);
    assert.ok(messages.some((m) => /trailing comma/i.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /"text"/.test(m) && /string/i.test(m)), `the type of "text" is named: ${messages.join('\n')}`);
    for (const m of messages) {
      assert.doesNotMatch(m, /\bcolumn \d+|\(col(umn)?\b/i, `the range gives the column: ${m}`);
      assert.doesNotMatch(m, /\([^()]*\(/, `parentheses inside parentheses: ${m}`);
    }
  });

  test('the ETA of a 20,000-step run is the wall time its remaining steps take', async () => {
    const api = await tunerApi();
    const m = api.runs.runs.manager();
    const file = makeTinyProject(workspaceFile('eta-run').fsPath, { args: { max_steps: 20_000, save_interval: 0 } });
    const id = (await vscode.commands.executeCommand<string>('tuner.startRun', vscode.Uri.file(file)))!;
    const session = m.session(id)!;
    try {
      await waitFor('the run trains', () => session.snapshot.step > 50, 60_000);
      const t0 = performance.now();
      const s0 = session.snapshot.step;
      await new Promise((r) => setTimeout(r, 4000));
      const s1 = session.snapshot.step;
      const wallPerStep = (performance.now() - t0) / Math.max(1, s1 - s0);
      const expected = (20_000 - s1) * wallPerStep;
      const eta = session.snapshot.etaMs;
      console.log(`ETA ${eta} ms at step ${s1}; ${wallPerStep.toFixed(2)} ms a step measured here: ${Math.round(expected)} ms left`);
      assert.ok(eta !== undefined, 'a running run has an ETA');
      assert.ok(eta > expected / 4 && eta < expected * 4, `ETA ${eta} ms, the wall time left ${Math.round(expected)} ms`);
    } finally {
      session.stop();
      await session.exited;
    }
  });
});
