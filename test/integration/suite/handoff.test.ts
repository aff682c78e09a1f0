// The cluster hand-off in a real VS Code extension host: "Export Run for a Cluster…" writes the
// folder for an ARGS.json (train.py, the Axolotl and LLaMA-Factory configs, DeepSpeed, README),
// and "Import Trained Adapter or Model…" brings a PEFT adapter back as a run the runs view lists
// and the playground's catalog offers; a PEFT adapter of the wrong rank is refused with its shapes.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isImportedRun } from '../../../src/core/handoff/import';
import { layerModules, readModelSpec } from '../../../src/core/model/spec';
import { buildCatalog } from '../../../src/core/playground/catalog';
import { RunStore } from '../../../src/core/run/run-store';
import { writeSafetensorsF32 } from '../../native/safetensors-f32';
import { runDescription } from '../../../src/vscode/run-tree';
import { tunerApi, workspaceFile } from './helpers';
import { workbench, workbenchDriverAvailable } from './workbench-driver';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const STARTER = path.join(REPO, 'models', 'starter');

/** A PEFT adapter for the starter model as PEFT saves it (zero B: the base's own answers). */
function writeAdapter(dir: string, rank: number, shapeRank = rank): void {
  const spec = readModelSpec(STARTER);
  const targets = ['q_proj', 'v_proj'];
  const tensors: [string, { shape: number[]; data: Float32Array }][] = [];
  for (let l = 0; l < spec.numLayers; l++) {
    for (const m of layerModules(spec).filter((x) => targets.includes(x.module))) {
      const base = `base_model.model.model.layers.${l}.${m.path}`;
      tensors.push([`${base}.lora_A.weight`, { shape: [shapeRank, m.in], data: new Float32Array(shapeRank * m.in).fill(0.01) }]);
      tensors.push([`${base}.lora_B.weight`, { shape: [m.out, shapeRank], data: new Float32Array(m.out * shapeRank) }]);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensorsF32(path.join(dir, 'adapter_model.safetensors'), tensors);
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: rank, lora_alpha: 2 * rank, lora_dropout: 0, target_modules: targets, base_model_name_or_path: 'model', bias: 'none', task_type: 'CAUSAL_LM' }));
}

suite('cluster hand-off', function () {
  this.timeout(120_000);
  const root = () => workspaceFile('handoff').fsPath;
  const argsFile = () => path.join(root(), 'ARGS.json');

  suiteSetup(() => {
    fs.rmSync(root(), { recursive: true, force: true });
    fs.mkdirSync(root(), { recursive: true });
    fs.copyFileSync(path.join(REPO, 'samples', 'identity.jsonl'), path.join(root(), 'identity.jsonl'));
    fs.writeFileSync(argsFile(), JSON.stringify({ model: STARTER, model_name: 'Pip', data: './identity.jsonl', method: 'lora', lora_rank: 8, lora_alpha: 16, max_steps: 60, batch_size: 8, max_length: 64, precision: 'bf16' }, null, 2));
  });

  test('Export Run for a Cluster… writes the folder with the commands for 2 nodes × 4 GPUs', async () => {
    const dir = await vscode.commands.executeCommand<string>('tuner.exportForCluster', vscode.Uri.file(argsFile()), { nodes: 2, gpusPerNode: 4, gpuMemoryGiB: 24 });
    assert.equal(dir, path.join(root(), 'cluster-handoff'));
    for (const f of ['train.py', 'train_config.json', 'requirements.txt', 'axolotl.yaml', 'llamafactory.yaml', 'data/dataset_info.json', 'data/train.jsonl', 'README.md', 'handoff.json']) {
      assert.ok(fs.existsSync(path.join(dir, f)), f);
    }
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    assert.match(readme, /torchrun --nnodes 2 --nproc_per_node 4 --node_rank \$NODE_RANK/);
    assert.match(readme, /NNODES=2 NODE_RANK=\$NODE_RANK/);
    assert.match(fs.readFileSync(path.join(dir, 'axolotl.yaml'), 'utf8'), /^bf16: true$/m);
  });

  test('Import Trained Adapter or Model… lists the adapter as a run the playground offers', async () => {
    const adapter = path.join(root(), 'from-cluster', 'adapter');
    writeAdapter(adapter, 4);
    const runId = await vscode.commands.executeCommand<string>('tuner.importTrained', vscode.Uri.file(adapter), vscode.Uri.file(argsFile()));
    assert.ok(runId);
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const run = RunStore.forWorkspace(ws).list().runs.find((r) => r.meta.id === runId);
    assert.ok(run, `run ${runId} listed`);
    assert.ok(isImportedRun(run.dir));
    assert.equal(run.snapshot.status, 'done');
    assert.match(runDescription(run), /^done · imported · /);
    const entry = buildCatalog({ workspaceDir: ws }).entries.find((e) => e.runId === runId);
    assert.ok(entry);
    assert.equal(entry.kind, 'adapter');
    assert.equal(entry.problem, undefined);
    if (workbenchDriverAvailable) {
      // The runs view with the imported run, for the picture.
      const foldersHeader = '.pane-header[aria-label*="workspace" i]';
      const folders = await workbench({ do: 'click', selector: foldersHeader }).then(() => true, () => false); // collapse the folders
      await vscode.commands.executeCommand('tuner.refreshRuns');
      await vscode.commands.executeCommand('tuner.runs.focus');
      await new Promise((r) => setTimeout(r, 2000)); // the pane renders its rows
      await workbench({ do: 'screenshot', path: path.join(REPO, 'test/e2e/artifacts/handoff-imported-run.png') });
      if (folders) await workbench({ do: 'click', selector: foldersHeader });
    }
  });

  test('an adapter whose tensors do not match its rank is refused with the shapes', async () => {
    const bad = path.join(root(), 'from-cluster', 'bad');
    writeAdapter(bad, 4, 2);
    // Commands report failures as error messages (guard), so the message is what the user reads.
    assert.equal(await vscode.commands.executeCommand('tuner.importTrained', vscode.Uri.file(bad), vscode.Uri.file(argsFile())), undefined);
    const shown = (await tunerApi()).errorsShown();
    assert.match(shown.at(-1) ?? '', /Import Trained Adapter or Model… failed: .*needs \[4, 192\] at rank 4/);
  });
});
