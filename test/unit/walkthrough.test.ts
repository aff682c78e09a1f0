// The walkthrough (contributes.walkthroughs): every step's media file exists (an image is a real
// PNG, shipped by .vscodeignore), every command a step's description links to and every completion
// event names a command Tuner contributes, a view that exists, or one of the few built-in VS Code
// commands and views it names on purpose.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { COMMAND_IDS } from '../../src/vscode/command-ids';
import { readManifest } from './manifest-text';

const ROOT = path.join(__dirname, '..', '..', '..');
interface Step {
  id: string; title: string; description: string;
  media: { image?: string; altText?: string; markdown?: string; svg?: string };
  completionEvents?: string[];
}
interface Manifest {
  name: string; publisher: string;
  contributes: { walkthroughs: { id: string; title: string; steps: Step[] }[]; views: Record<string, { id: string }[]> };
}
const pkg = readManifest<Manifest>(ROOT);

/** Built-in VS Code commands and views the walkthrough uses (they exist in every workbench). */
const BUILTIN_COMMANDS = new Set(['workbench.action.files.openFile', 'workbench.actions.view.problems', 'workbench.action.chat.open']);
const BUILTIN_VIEWS = new Set(['workbench.panel.markers.view']);
const OUR_COMMANDS = new Set<string>(COMMAND_IDS);
const OUR_VIEWS = new Set(Object.values(pkg.contributes.views).flat().map((v) => v.id));

const isCommand = (id: string) => OUR_COMMANDS.has(id) || BUILTIN_COMMANDS.has(id);

describe('walkthrough', () => {
  const walkthroughs = pkg.contributes.walkthroughs;
  it('is contributed, with the steps of a first run in order', () => {
    assert.equal(walkthroughs.length, 1);
    assert.deepEqual(walkthroughs[0].steps.map((s) => s.id), ['openSamples', 'seeLint', 'askPlanner', 'startRun', 'watchDashboard', 'tryPlayground']);
  });

  for (const step of walkthroughs[0]?.steps ?? []) {
    it(`${step.id}: an image that exists and is a PNG of a real size, with alt text`, () => {
      assert.ok(step.media.image, `${step.id} shows an image`);
      const file = path.join(ROOT, step.media.image);
      assert.ok(fs.existsSync(file), `${step.media.image} exists`);
      const png = fs.readFileSync(file);
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', `${step.media.image} is a PNG`);
      const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
      assert.ok(width >= 800 && height >= 400, `${step.media.image} is ${width}x${height}`);
      assert.ok(step.media.altText && step.media.altText.length > 20, 'alt text describes the picture');
    });

    it(`${step.id}: completion events and linked commands are real`, () => {
      assert.ok(step.completionEvents && step.completionEvents.length > 0, `${step.id} has a completion event`);
      for (const ev of step.completionEvents) {
        const [kind, arg] = [ev.slice(0, ev.indexOf(':')), ev.slice(ev.indexOf(':') + 1)];
        if (kind === 'onCommand') assert.ok(isCommand(arg), `${ev}: no such command`);
        else if (kind === 'onView') assert.ok(OUR_VIEWS.has(arg) || BUILTIN_VIEWS.has(arg), `${ev}: no such view`);
        else if (kind === 'onContext') assert.match(arg, /^\w+ == \w+$/, `${ev}: a context key comparison`);
        else assert.fail(`${ev}: unexpected completion event kind`);
      }
      const links = [...step.description.matchAll(/\]\(command:([\w.]+)/g)].map((m) => m[1]);
      assert.ok(links.length > 0, `${step.id} has a button`);
      for (const id of links) assert.ok(isCommand(id), `${step.id} links to unknown command ${id}`);
      // A button runs the command whose execution completes the step (where the step has one).
      const onCommand = step.completionEvents.filter((e) => e.startsWith('onCommand:')).map((e) => e.slice('onCommand:'.length));
      if (onCommand.length > 0) assert.ok(links.some((l) => onCommand.includes(l)), `${step.id}: its button completes it`);
    });
  }

  it('walkthroughs/ and snippets/ ship in the .vsix', () => {
    const ignore = fs.readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim());
    assert.ok(ignore.includes('!walkthroughs/**'));
    assert.ok(ignore.includes('!snippets/**'));
    for (const step of walkthroughs[0].steps) assert.ok(step.media.image!.startsWith('walkthroughs/'), `${step.media.image} is under walkthroughs/`);
  });
});
