// Book 12.9: virtual time runs events in (time, insertion) order and lets async code settle
// between events, so a replay is exact.
import { describe, expect, it } from "vitest";
import { SimClock } from "./clock.js";

describe("SimClock", () => {
  it("runs timers in time order, ties in insertion order", async () => {
    const c = new SimClock();
    const got: string[] = [];
    c.setTimeout(() => got.push("b@10"), 10);
    c.setTimeout(() => got.push("a@5"), 5);
    c.setTimeout(() => got.push("c@10"), 10);
    const cancel = c.setTimeout(() => got.push("never"), 7);
    cancel();
    await c.runFor(20);
    expect(got).toEqual(["a@5", "b@10", "c@10"]);
    expect(c.now()).toBe(20);
    expect(c.pending()).toBe(0);
  });

  it("repeats intervals until cancelled", async () => {
    const c = new SimClock();
    let n = 0;
    const stop = c.setInterval(() => n++, 100);
    await c.runFor(1000);
    expect(n).toBe(10);
    stop();
    await c.runFor(1000);
    expect(n).toBe(10);
  });

  it("settles promise chains between events", async () => {
    const c = new SimClock();
    const log: string[] = [];
    const sleep = (ms: number) => new Promise<void>((r) => c.setTimeout(r, ms));
    void (async () => {
      await sleep(10);
      await Promise.resolve();
      await Promise.resolve();
      log.push(`a at ${c.now()}`);
      await sleep(10);
      log.push(`b at ${c.now()}`);
    })();
    c.setTimeout(() => log.push(`timer at ${c.now()}`), 10);
    await c.runFor(100);
    expect(log).toEqual(["a at 10", "timer at 10", "b at 20"]);
  });

  it("stops at a condition, and reports when it never holds", async () => {
    const c = new SimClock();
    let x = 0;
    c.setInterval(() => x++, 10);
    expect(await c.runUntil(() => x >= 3, 1000)).toBe(true);
    expect(c.now()).toBe(30);
    expect(await c.runUntil(() => false, 50)).toBe(false);
    expect(c.now()).toBe(80);
  });

  it("a scope's timers die with it", async () => {
    const c = new SimClock();
    const s = c.scope();
    let fired = 0;
    s.setTimeout(() => fired++, 10);
    s.setInterval(() => fired++, 5);
    s.kill();
    s.setTimeout(() => fired++, 1);
    await c.runFor(100);
    expect(fired).toBe(0);
  });

  it("rethrows an exception from an event", async () => {
    const c = new SimClock();
    c.setTimeout(() => {
      throw new Error("boom");
    }, 1);
    await expect(c.runFor(10)).rejects.toThrow("boom");
  });
});
