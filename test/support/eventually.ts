// Test support (Book 11.2): polling until the cluster reaches a state; the last error, if any, goes
// into the timeout message, so a failing test says what it was waiting for and why it never came.
import { setTimeout as sleep } from "node:timers/promises";

/** Polls `fn` until it returns something other than undefined/false. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(50);
  }
}
