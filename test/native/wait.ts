// Waiting in the native tests that watch a live trainer: poll a condition until it holds.
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every 20 ms until it returns something truthy; fails naming `what` after `ms`. */
export async function until<T>(what: string, f: () => T | undefined | false, ms = 20_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(20)) {
    const v = f();
    if (v) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}
