// Benchmark (not a test: it runs only with TUNER_BENCH=1, via `npm run bench:host-lint`): how long
// the extension host's event loop stalls while a large dataset is linted, in the worker (the
// default above tuner.lint.workerThresholdBytes) against the same lint inline on the host's
// thread, measured in the same run on the same file. The target is a stall under 50 ms.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { closeAllEditors, tunerApi, waitFor, workspaceFile } from './helpers';

const SIZE_MB = Number(process.env.TUNER_BENCH_MB ?? 30);

async function measure(what: string, action: () => Promise<void>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const started = performance.now();
  await action();
  h.disable();
  const stallMs = h.max / 1e6;
  console.log(`  ${what}: ${(performance.now() - started).toFixed(0)} ms, longest event-loop stall ${stallMs.toFixed(1)} ms (p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms)`);
  return stallMs;
}

(process.env.TUNER_BENCH ? suite : suite.skip)('bench: extension host event loop while linting a large dataset', () => {
  teardown(closeAllEditors);

  test(`${SIZE_MB} MB dataset: worker vs inline`, async () => {
    const api = await tunerApi();
    const records = [
      JSON.stringify({ instruction: 'Summarise the paragraph about adapters.', input: 'LoRA freezes the base model and trains small matrices. '.repeat(8), output: 'It trains small adapters.' }),
      JSON.stringify({ messages: [{ role: 'user', content: 'What is QLoRA? '.repeat(5) }, { role: 'assistant', content: 'LoRA on a 4-bit base model. '.repeat(6) }] }),
      '{"instruction": "cut off',
    ];
    const lines: string[] = [];
    let bytes = 0;
    for (let i = 0; bytes < SIZE_MB * 1e6; i++) {
      const line = i % 997 === 5 ? records[2] : records[i % 2].replace('adapters', `adapters ${i}`);
      lines.push(line);
      bytes += line.length + 1;
    }
    const uri = workspaceFile('bench-large.jsonl');
    fs.writeFileSync(uri.fsPath, `${lines.join('\n')}\n`);
    const lint = vscode.workspace.getConfiguration('tuner.lint');

    const idle = await measure('idle host, 1 s', () => new Promise((r) => setTimeout(r, 1000)));
    // VS Code itself sends the whole text to the extension host when a file opens: the same
    // bytes as plain text, which Tuner does not lint, show that part of the stall.
    const txt = workspaceFile('bench-large.txt');
    fs.copyFileSync(uri.fsPath, txt.fsPath);
    const vscodeOpen = await measure('VS Code opening the same bytes as .txt (not linted)', async () => {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(txt));
    });
    await closeAllEditors();
    const open = await measure('opening the .jsonl', async () => {
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    });
    const worker = await measure('then until the worker lint is shown', async () => {
      const report = await waitFor('worker lint', () => api.lintReport(uri), 300_000);
      assert.strictEqual(report.engine, 'worker');
    });
    // Raising the threshold relints the open file at once, now on the host's own thread.
    let inline: number;
    try {
      inline = await measure('lint inline on the host thread (peer)', async () => {
        await lint.update('workerThresholdBytes', 1e12, vscode.ConfigurationTarget.Global); // a machine setting: not per workspace
        await waitFor('inline lint', () => api.lintReport(uri)?.engine === 'inline' || false, 300_000);
      });
    } finally {
      await lint.update('workerThresholdBytes', undefined, vscode.ConfigurationTarget.Global);
    }
    console.log(`  ${SIZE_MB} MB: longest stall while linting in the worker ${worker.toFixed(1)} ms vs inline ${inline.toFixed(1)} ms: ${(inline / Math.max(worker, 0.1)).toFixed(1)}x shorter; target < 50 ms: ${worker < 50 ? 'met' : 'NOT met'} (idle ${idle.toFixed(1)} ms; opening: .jsonl ${open.toFixed(1)} ms, .txt ${vscodeOpen.toFixed(1)} ms)`);
  });
});
