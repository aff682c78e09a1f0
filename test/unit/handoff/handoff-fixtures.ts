// A workspace with ARGS.json next to the repository's starter model and sample data, for the
// hand-off tests; js-yaml, another YAML reader than the writer's, reads the YAML back as the tools' loaders would.
import * as fs from 'node:fs';
import * as jsYaml from 'js-yaml';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '../../../..');
export const STARTER = path.join(REPO, 'models', 'starter');


/** YAML → value with YAML 1.2's core schema (what PyYAML-based loaders agree with for these files). */
export function parseYaml(text: string): unknown {
  return jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
}

export function tempWorkspace(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tuner-handoff-${prefix}-`));
}

/** A workspace folder with ARGS.json (the given fields over the sample's) and the sample data. */
export function workspaceWithArgs(fields: Record<string, unknown>, dataFiles: Record<string, string> = {}): { dir: string; argsFile: string } {
  const dir = tempWorkspace('ws');
  fs.copyFileSync(path.join(REPO, 'samples', 'identity.jsonl'), path.join(dir, 'identity.jsonl'));
  fs.copyFileSync(path.join(REPO, 'samples', 'messages.jsonl'), path.join(dir, 'messages.jsonl'));
  for (const [name, text] of Object.entries(dataFiles)) fs.writeFileSync(path.join(dir, name), text);
  const args = { model: STARTER, model_name: 'Pip', data: './identity.jsonl', method: 'lora', lora_rank: 8, lora_alpha: 16, max_steps: 60, batch_size: 8, max_length: 64, ...fields };
  const argsFile = path.join(dir, 'ARGS.json');
  fs.writeFileSync(argsFile, JSON.stringify(args, null, 2));
  return { dir, argsFile };
}
