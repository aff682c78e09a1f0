// A throwaway workspace for planner tests: a model folder (config.json of a real model's shape)
// and a small chat dataset; and the fixture a test file shares: that workspace plus the scripted
// OpenAI-compatible server on loopback.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before } from 'node:test';
import { CONFIGS } from './models';
import { ScriptedServer } from './scripted-server';

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

/**
 * Starts the scripted server and writes a workspace with the qwen-0.5b model before the file's
 * tests; stops and removes both after them. baseURL and ws are set once before() has run.
 */
export function useServerAndWorkspace(): { server: ScriptedServer; baseURL: string; ws: string } {
  const fixture = { server: new ScriptedServer(), baseURL: '', ws: '' };
  before(async () => {
    fixture.baseURL = await fixture.server.start();
    fixture.ws = makeWorkspace(['qwen-0.5b']);
  });
  after(async () => {
    await fixture.server.stop();
    fs.rmSync(fixture.ws, { recursive: true, force: true });
  });
  return fixture;
}
