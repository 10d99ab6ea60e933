// Book 11.2: tests for the client-side token bucket.
import { describe, expect, it } from "vitest";
import { TokenBucket } from "./flowcontrol.js";

describe("TokenBucket", () => {
  it("lets a burst through at once, then one token per 1/qps seconds", () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.tryAccept(), b.tryAccept(), b.tryAccept(), b.tryAccept()]).toEqual([true, true, true, false]);
    t += 100; // 0.1 s at 10 qps = one token
    expect(b.tryAccept()).toBe(true);
    expect(b.tryAccept()).toBe(false);
    t += 10_000; // refills only up to the burst
    expect([b.tryAccept(), b.tryAccept(), b.tryAccept(), b.tryAccept()]).toEqual([true, true, true, false]);
  });

  it("makes waiters wait their turn", async () => {
    const b = new TokenBucket(100, 1);
    const start = performance.now();
    await Promise.all([b.wait(), b.wait(), b.wait()]);
    expect(performance.now() - start).toBeGreaterThanOrEqual(15);
  });

  it("rejects nonsense settings", () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/qps must be positive/);
    expect(() => new TokenBucket(5, 0)).toThrow(/burst must be at least 1/);
  });
});
