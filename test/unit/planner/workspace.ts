// A throwaway workspace for planner tests: a model folder (config.json of a real model's shape)
// and a small chat dataset.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CONFIGS } from './models';

export function makeWorkspace(models: string[] = ['qwen-0.5b'], records = 300): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuner-planner-'));
  for (const m of models) {
    fs.mkdirSync(path.join(dir, 'models', m), { recursive: true });
    fs.writeFileSync(path.join(dir, 'models', m, 'config.json'), JSON.stringify(CONFIGS[m]));
  }
  const lines: string[] = [];
  for (let i = 0; i < records; i++) {
    lines.push(JSON.stringify({ messages: [{ role: 'user', content: `How do I reset router model ${i}?` }, { role: 'assistant', content: `Hold the reset button of router ${i} for ten seconds, then wait for the light to turn green.` }] }));
  }
  fs.writeFileSync(path.join(dir, 'train.jsonl'), lines.join('\n') + '\n');
  return dir;
}
