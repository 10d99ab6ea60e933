// Book 12.9: the simulation's random numbers must replay exactly from a seed.
import { describe, expect, it } from "vitest";
import { Rng } from "./rng.js";

describe("Rng", () => {
  it("replays the same sequence from the same seed, and a different one from another", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.u32());
    expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xs);
  });

  it("stays in range and covers it", () => {
    const r = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = r.int(3, 9);
      expect(x).toBeGreaterThanOrEqual(3);
      expect(x).toBeLessThanOrEqual(9);
      seen.add(x);
      const f = r.next();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
    expect(seen.size).toBe(7);
  });

  it("chance, pick, weighted and shuffle behave", () => {
    const r = new Rng(1);
    let hits = 0;
    for (let i = 0; i < 10_000; i++) if (r.chance(0.3)) hits++;
    expect(hits).toBeGreaterThan(2700);
    expect(hits).toBeLessThan(3300);
    expect(r.chance(0)).toBe(false);
    expect(["a", "b"]).toContain(r.pick(["a", "b"]));
    expect(r.weighted([[0, "never"], [1, "always"]])).toBe("always");
    const xs = r.shuffle([1, 2, 3, 4, 5, 6]);
    expect([...xs].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("forks independent streams deterministically", () => {
    const a = new Rng(9).fork();
    const b = new Rng(9).fork();
    expect(a.u32()).toBe(b.u32());
  });
});
