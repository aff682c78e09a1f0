// Importing a merged Hugging Face folder (what a full fine-tune or merge_and_unload saves): it must
// have the base model's shape; it becomes a run with model/ that the run store lists.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { importTrained, trainedKind } from '../../../src/core/handoff/import';
import { HandoffError } from '../../../src/core/handoff/settings';
import { RunStore } from '../../../src/core/run/run-store';
import { STARTER, tempWorkspace, workspaceWithArgs } from './handoff-fixtures';

function mergedCopy(edit?: (cfg: Record<string, unknown>) => void): string {
  const dir = path.join(tempWorkspace('merged'), 'model');
  fs.cpSync(STARTER, dir, { recursive: true });
  if (edit) {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    edit(cfg);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  }
  return dir;
}

describe('hand-off import of a merged model', () => {
  it('a folder of the base model\'s shape becomes a listed run holding model/', () => {
    const ws = workspaceWithArgs({ method: 'full' });
    const r = importTrained({ argsFile: ws.argsFile, from: mergedCopy(), workspaceDir: ws.dir });
    assert.equal(r.kind, 'merged');
    assert.ok(fs.existsSync(path.join(r.run.dir, 'model', 'model.safetensors')));
    const { runs } = RunStore.forWorkspace(ws.dir).list();
    assert.deepEqual(runs.map((x) => [x.meta.id, x.meta.method, x.snapshot.status]), [[r.run.id, 'full', 'done']]);
  });

  it('another shape is refused with the field that differs, and nothing is written', () => {
    const ws = workspaceWithArgs({});
    assert.throws(() => importTrained({ argsFile: ws.argsFile, from: mergedCopy((c) => { c.num_hidden_layers = 4; }), workspaceDir: ws.dir }), (e: unknown) => e instanceof HandoffError && /numLayers is 4, the base model's is 6/.test(e.message));
    assert.equal(fs.existsSync(path.join(ws.dir, 'runs')), false);
  });

  it('a folder that is neither says what to pick; .bin weights say how to convert', () => {
    const empty = tempWorkspace('empty');
    assert.throws(() => trainedKind(empty), /neither a PEFT adapter/);
    fs.writeFileSync(path.join(empty, 'adapter_model.bin'), '');
    assert.throws(() => trainedKind(empty), /safe_serialization=True/);
  });
});
