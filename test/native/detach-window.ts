// A stand-in for an editor window in trainer-detach.test.ts: starts a run through the
// RunManager as the extension does, prints the run id once the trainer has stepped, then waits
// to be killed (the test ends it with SIGKILL, as a crashed or closed window ends). Run with no
// arguments (node --test picks up every file here) it does nothing.
import { RunManager } from '../../src/core/run/run-manager';
import { RunStore } from '../../src/core/run/run-store';

function main(runsDir: string, planFile: string, binary: string): void {
  const manager = new RunManager(new RunStore(runsDir), '');
  const session = manager.startPlan(planFile, { mode: 'free', binary });
  let told = false;
  session.listen({
    onEvent: (e) => {
      if (told || e.type !== 'step' || e.step < 3) return;
      told = true;
      process.stdout.write(JSON.stringify({ id: session.record.id, pid: session.pid }) + '\n');
    },
    onExit: () => process.exit(1), // the trainer must outlive this process, not the other way round
  });
  setInterval(() => undefined, 1000);
}

const args = process.argv.slice(2);
if (args.length === 3) main(args[0], args[1], args[2]);
