// Book 4.6: the arithmetic behind /stats/summary: busy CPU time from /proc/stat and a rate in
// billionths of a core from two cumulative samples.
import { describe, expect, it } from "vitest";
import { nanoCores, parseProcStatBusyNs } from "./stats.js";

describe("kubelet stats", () => {
  it("counts user, nice, system, irq, softirq and steal as busy, not idle or iowait", () => {
    expect(parseProcStatBusyNs("cpu  100 10 50 9000 40 5 5 30 0 0\ncpu0 1 2 3\n")).toBe((100 + 10 + 50 + 5 + 5 + 30) * 10_000_000);
  });

  it("turns two cumulative samples into nano-cores, and has no rate for the first", () => {
    expect(nanoCores(undefined, 5e9, 1000)).toBeUndefined();
    // Half a second of CPU over one second of wall time: half a core.
    expect(nanoCores({ ns: 1e9, at: 1000 }, 1.5e9, 2000)).toBe(500_000_000);
    expect(nanoCores({ ns: 2e9, at: 1000 }, 1e9, 2000)).toBeUndefined(); // a counter that went back (new cgroup)
  });
});
