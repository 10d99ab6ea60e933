// Book 12.2: the leader's lease clock: promotion refreshes, keep-alives, expiry order and retries.
import { describe, expect, it } from "vitest";
import { EXPIRED_RETRY_MS, LeaseClock } from "./expiry.js";
import { Lessor } from "./lessor.js";

describe("LeaseClock", () => {
  it("followers track nothing; promotion gives every lease a full TTL from now", () => {
    const c = new LeaseClock();
    expect(c.isPrimary).toBe(false);
    c.grant("1", 10, 0);
    expect(c.remaining("1", 0)).toBe(-1);
    expect(c.renew("1", 0)).toBe(0);
    c.promote(5_000, [{ ID: "1", TTL: 10 }, { ID: "2", TTL: 3 }]);
    expect(c.isPrimary).toBe(true);
    expect(c.remaining("1", 5_000)).toBe(10);
    expect(c.remaining("2", 6_500)).toBe(2); // 1.5 s left rounds up
    expect(c.expired(7_999)).toEqual([]);
    expect(c.expired(8_000)).toEqual(["2"]);
    c.demote();
    expect(c.isPrimary).toBe(false);
    expect(c.expired(100_000)).toEqual([]);
    expect(c.remaining("1", 5_000)).toBe(-1);
  });

  it("renew restarts the TTL; an expired or unknown lease cannot be renewed", () => {
    const c = new LeaseClock();
    c.promote(0, []);
    c.grant("7", 5, 0);
    expect(c.renew("7", 4_000)).toBe(5);
    expect(c.remaining("7", 4_000)).toBe(5);
    expect(c.expired(8_999)).toEqual([]);
    expect(c.renew("7", 9_000)).toBe(0);
    expect(c.remaining("7", 9_000)).toBe(-1);
    expect(c.renew("nope", 0)).toBe(0);
    expect(c.remaining("nope", 0)).toBe(-1);
  });

  it("reports expired leases oldest first, at most max, and again after a retry interval", () => {
    const c = new LeaseClock();
    c.promote(0, [{ ID: "3", TTL: 3 }, { ID: "1", TTL: 1 }, { ID: "2", TTL: 2 }, { ID: "10", TTL: 1 }]);
    expect(c.expired(5_000, 3)).toEqual(["1", "10", "2"]);
    expect(c.expired(5_000)).toEqual(["3"]);
    expect(c.expired(5_001)).toEqual([]);
    c.revoke("1");
    expect(c.expired(5_000 + EXPIRED_RETRY_MS)).toEqual(["10", "2", "3"]);
    expect(c.expired(10_000, 0)).toEqual([]);
  });
});

describe("Lessor", () => {
  it("grants with a floor on TTL, refuses duplicates and id 0, sorts ids numerically", () => {
    const l = new Lessor(5);
    expect(l.grant("100", 1)).toMatchObject({ TTL: 5 });
    expect(l.grant("100", 1)).toMatchObject({ message: "etcdserver: lease already exists" });
    expect(l.grant("0", 10)).toMatchObject({ message: "etcdserver: requested lease not found" });
    l.grant("9", 10);
    l.attach("9", "b");
    l.attach("9", "a");
    expect(l.ids()).toEqual(["9", "100"]);
    expect(l.remove("9")).toEqual(["a", "b"]);
    expect(l.remove("9")).toBeUndefined();
    expect(() => l.attach("9", "x")).toThrow();
  });
});
