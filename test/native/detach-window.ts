// A stand-in for an editor window (trainer-detach.test.ts, the host suite run-detach.test.ts):
// starts a run through the RunManager as the extension does and prints the run id once the
// trainer has stepped and (unless it detaches at once) this window is connected to its control
// channel (so it, not the window a test opens next, is the run's controller). Then it either waits to be killed (SIGKILL, as a
// crashed window ends), or, given `detach`, lets the run go as a closing window does
// (RunManager.detachAll) and exits, or, given `stop`, stops it as a closing window does with
// tuner.runs.stopWhenWindowCloses (RunManager.stopAll) and exits at once, as a closing extension
// host may, without waiting for the trainer to end.
// Run with no arguments (node --test picks up every file here) it does nothing.
import { RunManager } from '../../src/core/run/run-manager';
import { RunStore } from '../../src/core/run/run-store';

function main(runsDir: string, planFile: string, binary: string, close?: string): void {
  const manager = new RunManager(new RunStore(runsDir), '');
  const session = manager.startPlan(planFile, { mode: 'free', binary });
  let told = false;
  const tell = () => {
    // A window that stays (killed later) or stops its run must be the run's controller first; one
    // that detaches needs no channel, and its short run may finish before a channel would connect.
    if (told || session.snapshot.step < 3 || (close !== 'detach' && session.role === undefined)) return;
    told = true;
    process.stdout.write(JSON.stringify({ id: session.record.id, pid: session.pid }) + '\n');
    if (close === 'detach') void manager.detachAll().then(() => process.exit(0));
    if (close === 'stop') {
      void manager.stopAll();
      process.exit(0);
    }
  };
  session.listen({
    onEvent: tell,
    onRole: tell,
    onExit: () => process.exit(1), // the trainer must outlive this process, not the other way round
  });
  setInterval(() => undefined, 1000);
}

const args = process.argv.slice(2);
if (args.length >= 3) main(args[0], args[1], args[2], args[3]);
